"""The smooth-Huber robust regression problem (problems.huber_regression, chapter 3).

The solution is checked by its optimality condition, the Jacobian against central
finite differences of the solution map and against the implicit function theorem
applied to a gradient step (a different route), the loss against its two regimes,
and the curvature bounds against Hessian eigenvalues at random points.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unrolling import gradient_descent, implicit_jacobian, problems
from unrolling import data

PROPERTY = settings(max_examples=5, deadline=None, database=None, derandomize=True)
seeds = st.integers(0, 2**31 - 1)


def _instance(seed, M=30, N=4):
    return data.huber_instance(jax.random.PRNGKey(seed), M, N)


@given(seeds, st.sampled_from([0.1, 0.5, 2.0]), st.floats(0.05, 5.0))
@PROPERTY
def test_solution_is_stationary(seed, delta, u):
    A, b = _instance(seed)
    problem = problems.huber_regression(A, b, delta)
    x = problem.x_star(u)
    grad = jax.grad(problem.f)(x, u)
    assert float(jnp.linalg.norm(grad)) <= 1e-9 * (1 + float(jnp.linalg.norm(A.T @ b)))


@pytest.mark.parametrize("seed, delta", [(0, 0.1), (1, 1.0)])
def test_jacobian_matches_finite_differences_and_implicit_function_theorem(seed, delta):
    A, b = _instance(seed)
    problem, u, eps = problems.huber_regression(A, b, delta), 0.7, 1e-5
    jac = problem.jacobian(u)
    # central differences of the solution map (Newton solves to machine precision)
    fd = (problem.x_star(u + eps) - problem.x_star(u - eps)) / (2 * eps)
    np.testing.assert_allclose(jac[:, 0], fd, rtol=1e-5, atol=1e-8)
    # implicit function theorem on a gradient step: (I - B)^{-1} C at x*
    update = gradient_descent(problem.f, 1.0 / float(problem.smoothness(u)))
    np.testing.assert_allclose(jac, implicit_jacobian(update, problem.x_star(u), u), rtol=1e-8)


def test_large_delta_recovers_ridge():
    A, b = _instance(1)
    huber, ridge = problems.huber_regression(A, b, 1e4), problems.ridge(A, b)
    np.testing.assert_allclose(huber.x_star(0.5), ridge.x_star(0.5), rtol=1e-6)
    np.testing.assert_allclose(huber.jacobian(0.5), ridge.jacobian(0.5), rtol=1e-5)


def test_loss_is_quadratic_for_small_and_linear_for_large_residuals():
    delta = 0.5
    problem = problems.huber_regression(jnp.ones((1, 1)), jnp.zeros(1), delta)
    small, large = 1e-3, 1e3
    assert float(problem.f(jnp.array([small]), 0.0)) == pytest.approx(small**2 / 2, rel=1e-5)
    assert float(problem.f(jnp.array([large]), 0.0)) == pytest.approx(delta * large - delta**2,
                                                                       rel=1e-6)


@given(seeds)
@PROPERTY
def test_curvature_bounds_hold_at_random_points(seed):
    A, b = _instance(seed)
    problem, u = problems.huber_regression(A, b, 0.3), 0.2
    x = 3 * jax.random.normal(jax.random.PRNGKey(seed + 1), (4,))
    eig = jnp.linalg.eigvalsh(jax.hessian(problem.f)(x, u))
    assert float(eig[0]) >= float(problem.strong_convexity(u)) * (1 - 1e-12)
    assert float(eig[-1]) <= float(problem.smoothness(u)) * (1 + 1e-12)


def test_instance_is_deterministic_and_has_outliers():
    A1, b1 = data.huber_instance(jax.random.PRNGKey(3), 200, 5)
    A2, b2 = data.huber_instance(jax.random.PRNGKey(3), 200, 5)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(b1, b2)
    assert A1.shape == (200, 5) and float(A1.min()) >= 0.0 and float(A1.max()) <= 1.0
    residual = np.asarray(b1 - A1 @ jnp.ones(5))
    assert np.sum(np.abs(residual) > 1.0) >= 10          # about 20% gross outliers


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="A must be"):
        problems.huber_regression(jnp.ones((3, 2)), jnp.ones(4))
    with pytest.raises(ValueError, match="delta"):
        problems.huber_regression(jnp.ones((3, 2)), jnp.ones(3), delta=0.0)
    with pytest.raises(ValueError, match="N"):
        data.huber_instance(jax.random.PRNGKey(0), 10, -1)
