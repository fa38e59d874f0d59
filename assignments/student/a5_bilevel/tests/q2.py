from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(adjoint_hypergradient):
    import jax.numpy as jnp
    d = adjoint_hypergradient(jnp.zeros(10), 0.0)
    assert isinstance(d, float)

