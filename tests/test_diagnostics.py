"""Tests of unrolling.derivatives.diagnose (the practitioner's guide): each check fires on
the failure it names and stays silent on a healthy run, and its numbers match independent
computations (closed-form fixed points, dense eigenvalues, a solved adjoint)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import bilevel as bl
from unrolling import data, iterate, methods
from unrolling.derivatives import diagnose


@pytest.fixture(scope="module")
def ridge():
    """Chapter 5's ridge task (step 1/L, contraction factor about 0.99)."""
    return bl.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(1)))


def _run(task, K, u=0.0):
    return iterate(task.update, jnp.zeros(10), jnp.asarray(u), K)[-1]


def test_a_converged_contraction_has_no_findings(ridge):
    d = diagnose(ridge.update, _run(ridge, 4000), jnp.asarray(0.0))
    assert d.findings == []
    assert d.residual < 1e-12 and d.frozen == (False,) and np.isnan(d.adjoint_residual)
    assert d.norm < 1 and d.spectral_radius < 1


def test_residual_and_distance_match_the_closed_form(ridge):
    """For an affine map the linearized distance is the exact distance to the fixed point."""
    u = jnp.asarray(0.0)
    x = _run(ridge, 200)
    d = diagnose(ridge.update, x, u)
    x_star = ridge.x_star(u)
    scale = float(jnp.linalg.norm(x))
    np.testing.assert_allclose(d.distance, float(jnp.linalg.norm(x - x_star)) / scale,
                               rtol=1e-8)
    np.testing.assert_allclose(d.residual,
                               float(jnp.linalg.norm(ridge.update(x, u) - x)) / scale,
                               rtol=1e-12)
    assert d.findings[0].startswith("not converged: relative residual 7.5e-04")


def test_spectral_radius_and_norm_match_dense_linear_algebra(ridge):
    u = jnp.asarray(0.0)
    x = _run(ridge, 50)
    B = jax.jacfwd(ridge.update)(x, u)
    d = diagnose(ridge.update, x, u)
    np.testing.assert_allclose(d.spectral_radius, float(jnp.max(jnp.abs(jnp.linalg.eigvals(B)))),
                               rtol=1e-12)
    np.testing.assert_allclose(d.norm, float(jnp.linalg.norm(B, 2)), rtol=1e-12)


def test_a_parameter_outside_the_fixed_point_condition_is_frozen(ridge):
    """The start (the map ignores it) and a step size (its column of C is -grad f) are
    frozen; the ridge weight, which moves the fixed point, is not, once x is within half
    its norm of x*. Farther out the test cannot tell, and says so with "not converged"."""
    u0 = jnp.asarray(0.0)
    x = _run(ridge, 100)

    def ignores_theta(x_, theta):
        return ridge.update(x_, u0)
    assert diagnose(ignores_theta, x, jnp.ones(3)).frozen == (True, True, True)

    A, b, _, _ = data.synthetic_regression(jax.random.PRNGKey(1))

    def step(x_, eta):
        return x_ - eta * (A.T @ (A @ x_ - b) + x_)
    eta = jnp.asarray(1.0 / (float(jnp.linalg.norm(A, 2)) ** 2 + 1))
    for K in (20, 300, 3000):
        x_K = iterate(step, jnp.zeros(10), eta, K)[-1]
        assert diagnose(step, x_K, eta).frozen == (True,), K
    for K in (100, 300, 3000):
        d = diagnose(ridge.update, _run(ridge, K), u0)
        assert d.distance < 0.5 and d.frozen == (False,), K
    far = diagnose(ridge.update, _run(ridge, 20), u0)
    assert far.distance > 0.5 and far.findings[0].startswith("not converged")


def test_mixed_parameters_are_judged_one_by_one(ridge):
    """u = (ridge weight, step size): only the step size is frozen."""
    A, b, _, _ = data.synthetic_regression(jax.random.PRNGKey(1))

    def update(x, u):
        return x - u[1] * (A.T @ (A @ x - b) + jnp.exp(u[0]) * x)
    u = jnp.array([0.0, 1.0 / (float(jnp.linalg.norm(A, 2)) ** 2 + 1)])
    x = iterate(update, jnp.zeros(10), u, 500)[-1]
    assert diagnose(update, x, u).frozen == (False, True)


def test_momentum_is_flagged_as_not_a_norm_contraction(ridge):
    A, b, _, _ = data.synthetic_regression(jax.random.PRNGKey(1))

    def f(x, u):
        return 0.5 * jnp.sum((A @ x - b) ** 2) + 0.5 * jnp.exp(u) * x @ x
    heavy = methods.heavy_ball(f, 0.004, 0.6)
    z = (jnp.ones(10), jnp.zeros(10))
    d = diagnose(heavy, z, jnp.asarray(0.0))
    assert d.spectral_radius < 1 <= d.norm
    assert any(s.startswith("not a norm contraction") for s in d.findings)


def test_an_expanding_map_is_flagged_as_not_a_contraction():
    def update(x, u):
        return 1.5 * x + u
    d = diagnose(update, jnp.ones(2), jnp.zeros(2))
    assert d.spectral_radius == pytest.approx(1.5)
    assert any(s.startswith("not a contraction") for s in d.findings)
    assert not any(s.startswith("not a norm contraction") for s in d.findings)


def test_adjoint_residual_is_one_for_the_zero_guess_and_small_for_a_solution(ridge):
    u = jnp.asarray(0.0)
    x = _run(ridge, 4000)
    w = jax.grad(ridge.outer_loss)(x, u)
    B = jax.jacfwd(ridge.update)(x, u)
    y = jnp.linalg.solve((jnp.eye(10) - B).T, w)
    assert diagnose(ridge.update, x, u, w=w, y=jnp.zeros(10)).adjoint_residual == 1.0
    d = diagnose(ridge.update, x, u, w=w, y=y)
    assert d.adjoint_residual < 1e-12 and d.findings == []
    bad = diagnose(ridge.update, x, u, w=w, y=0.5 * y)
    assert bad.adjoint_residual == pytest.approx(0.5)
    assert bad.findings[-1].startswith("adjoint not solved")


def test_pytree_states_are_flattened(ridge):
    d = diagnose(lambda z, u: (ridge.update(z[0], u), z[0]),
                 (_run(ridge, 4000), _run(ridge, 3999)), jnp.asarray(0.0))
    assert d.spectral_radius < 1 and d.frozen == (False,)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(w=jnp.ones(10)), ValueError, "both w"),
    (dict(y=jnp.ones(10)), ValueError, "both w"),
    (dict(w=jnp.ones(3), y=jnp.ones(3)), ValueError, "w"),
    (dict(tol=0.0), ValueError, "tol"),
    (dict(tol="small"), TypeError, "tol"),
])
def test_bad_arguments_are_named(ridge, kwargs, error, match):
    with pytest.raises(error, match=match):
        diagnose(ridge.update, jnp.zeros(10), jnp.asarray(0.0), **kwargs)


def test_an_update_that_changes_the_shape_is_refused():
    with pytest.raises(ValueError, match="update"):
        diagnose(lambda x, u: jnp.concatenate([x, x]), jnp.ones(2), jnp.asarray(0.0))
