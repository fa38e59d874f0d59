from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(neumann_adjoint):
    import jax.numpy as jnp
    import numpy as np
    update = lambda x, u: 0.5 * x + u * jnp.array([1.0, 2.0])
    w = jnp.array([1.0, 1.0])
    assert np.allclose(np.ravel(neumann_adjoint(update, jnp.zeros(2), 0.3, w, 3)), 5.25)
    assert np.allclose(np.ravel(neumann_adjoint(update, jnp.zeros(2), 0.3, w, 0)), 0.0)

