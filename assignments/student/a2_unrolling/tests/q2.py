from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(piggyback):
    import jax.numpy as jnp
    import numpy as np
    out = piggyback(lambda x, u: 0.5 * x + u, jnp.zeros(3), 1.0, 4)
    assert np.shape(out) == (5, 3, 1)

