"""Tests for the approximate adjoints (unrolling._adjoints, chapter 7): FixedPointAdjoint,
ConjugateGradientAdjoint.

References, each independent of the solvers under test: truncated reverse / forward mode
at the fixed point (the Neumann identity, a theorem of chapter 7), implicit_jacobian (one
LU solve), a dense NumPy solve of the adjoint system, and the other mode.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import (ConjugateGradientAdjoint, FixedPointAdjoint, forward_mode,
                       implicit_jacobian, reverse_mode)
from unrolling import bilevel as bl
from unrolling import data, problems
from unrolling.methods import gradient_descent


class _Problem:
    """An update map at its fixed point: update, x*, u, a cotangent w, a tangent v, and
    B, C (dense, by jax.jacfwd) with the contraction factor rho = ||B||_2 (B symmetric)."""
    def __init__(self, update, x_star, u, key):
        self.update, self.x_star, self.u = update, jnp.asarray(x_star), jnp.asarray(u)
        self.w = jax.random.normal(key, self.x_star.shape)
        self.v = jnp.asarray(0.7)
        B, C = jax.jit(jax.jacfwd(update, (0, 1)))(self.x_star, self.u)
        self.B, self.C = np.asarray(B), np.asarray(C).reshape(-1, 1)
        self.rho = float(np.max(np.abs(np.linalg.eigvalsh(self.B))))
        self.n = self.x_star.size
        self.y_star = np.linalg.solve((np.eye(self.n) - self.B).T, np.asarray(self.w))


@pytest.fixture(scope="module")
def ridge():
    """Gradient descent on ridge (chapter 5's task; u = log weight), n = 4."""
    task = bl.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(3), num_train=8,
                                                    num_val=6, num_features=4, noise=1.0,
                                                    condition=10.0))
    u = 0.3
    return _Problem(task.update, task.x_star(u), u, jax.random.PRNGKey(1))


@pytest.fixture(scope="module")
def logistic():
    """Gradient descent (step 1/L) on L2-regularized logistic regression, n = 4."""
    X, y = data.two_gaussians(jax.random.PRNGKey(2), 40, 3)
    problem, u = problems.logistic_regression(X, y), 0.0
    update = gradient_descent(problem.f, 1.0 / float(problem.smoothness(u)))
    return _Problem(update, jax.jit(problem.x_star)(u), u, jax.random.PRNGKey(4))


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


# ------------------------------------------------------------------ the Neumann identity
@pytest.mark.parametrize("name", ["ridge", "logistic"])
@pytest.mark.parametrize("k", [1, 7, 30])
def test_fixed_point_adjoint_is_truncated_reverse_mode_at_the_fixed_point(request, name, k):
    """Chapter 7: at x*, sum_{j<k} C^T (B^T)^j w = reverse mode through the last k steps."""
    p = request.getfixturevalue(name)
    est = FixedPointAdjoint(k).vjp(p.update, p.x_star, p.u, k, p.w)
    assert _rel(est, reverse_mode(p.update, p.x_star, p.u, k, w=p.w)[-1]) <= 1e-12


@pytest.mark.parametrize("name", ["ridge", "logistic"])
@pytest.mark.parametrize("k", [1, 7, 30])
def test_fixed_point_tangent_is_forward_mode_at_the_fixed_point(request, name, k):
    p = request.getfixturevalue(name)
    est = FixedPointAdjoint(k).jvp(p.update, p.x_star, p.u, k, p.v)
    assert _rel(est, forward_mode(p.update, p.x_star, p.u, k, v=p.v)[-1]) <= 1e-12


def test_neumann_series_by_hand(ridge):
    """From y0 = 0, k iterations give C^T sum_{j<k} (B^T)^j w (dense powers)."""
    p, k = ridge, 5
    y = sum(np.linalg.matrix_power(p.B.T, j) @ np.asarray(p.w) for j in range(k))
    u_bar, y_k = FixedPointAdjoint(k).adjoint(p.update, p.x_star, p.u, p.w)
    assert _rel(y_k, y) <= 1e-13 and _rel(u_bar, p.C.T @ y) <= 1e-13


# ------------------------------------------------------------------ convergence
@pytest.mark.parametrize("name", ["ridge", "logistic"])
def test_fixed_point_adjoint_converges_geometrically_to_implicit(request, name):
    """||C^T (y_k - y*)|| = ||C^T (B^T)^k y*|| <= ||C|| rho^k ||y*||, and the observed rate
    is rho (w has a component along the slowest eigenvector)."""
    p = request.getfixturevalue(name)
    exact = implicit_jacobian(p.update, p.x_star, p.u, w=p.w)
    ks = [5, 10, 20, 40, 80]
    errs = np.array([float(np.linalg.norm(FixedPointAdjoint(k).vjp(p.update, p.x_star, p.u, 0,
                                                                   p.w) - exact)) for k in ks])
    bound = np.linalg.norm(p.C) * np.linalg.norm(p.y_star) * p.rho ** np.array(ks)
    assert np.all(errs <= bound * (1 + 1e-9) + 1e-14)
    rates = (errs[2:] / errs[1:-1]) ** (1.0 / np.diff(ks)[1:])
    assert np.all(np.abs(rates - p.rho) <= 0.05 * p.rho)
    assert _rel(FixedPointAdjoint(2000).vjp(p.update, p.x_star, p.u, 0, p.w), exact) <= 1e-10


@pytest.mark.parametrize("name", ["ridge", "logistic"])
def test_conjugate_gradient_is_exact_after_n_steps(request, name):
    p = request.getfixturevalue(name)
    exact = implicit_jacobian(p.update, p.x_star, p.u, w=p.w)
    assert _rel(ConjugateGradientAdjoint(p.n).vjp(p.update, p.x_star, p.u, 0, p.w),
                exact) <= 1e-10
    exact_v = implicit_jacobian(p.update, p.x_star, p.u, v=p.v)
    assert _rel(ConjugateGradientAdjoint(p.n).jvp(p.update, p.x_star, p.u, 0, p.v),
                exact_v) <= 1e-10
    # fewer steps are not exact, and extra steps stay exact (the guarded step sizes)
    assert _rel(ConjugateGradientAdjoint(1).vjp(p.update, p.x_star, p.u, 0, p.w), exact) > 1e-6
    assert _rel(ConjugateGradientAdjoint(3 * p.n).vjp(p.update, p.x_star, p.u, 0, p.w),
                exact) <= 1e-10


def test_estimates_at_an_iterate_use_the_last_iterate(ridge):
    """vjp(update, x0, u, K, w) is the adjoint at x^(K), not at x*."""
    p, K = ridge, 6
    x0 = jnp.ones(p.n)
    x_K = jax.lax.fori_loop(0, K, lambda _, x: p.update(x, p.u), x0)
    for est in (FixedPointAdjoint(50), ConjugateGradientAdjoint(4)):
        at_K = est.adjoint(p.update, x_K, p.u, p.w)[0]
        np.testing.assert_allclose(est.vjp(p.update, x0, p.u, K, p.w), at_K, rtol=1e-14)


# ------------------------------------------------------------------ the two modes
@pytest.mark.parametrize("name", ["ridge", "logistic"])
@pytest.mark.parametrize("est", [FixedPointAdjoint(1), FixedPointAdjoint(9),
                                 ConjugateGradientAdjoint(4), ConjugateGradientAdjoint(6)])
def test_jvp_and_vjp_are_adjoint(request, name, est):
    """w^T (jvp v) = (vjp w)^T v. For CG only at convergence (k >= n): fewer CG steps are
    not a linear function of the right-hand side."""
    p = request.getfixturevalue(name)
    x0 = p.x_star + 0.1
    lhs = float(p.w @ est.jvp(p.update, x0, p.u, 3, p.v))
    rhs = float(est.vjp(p.update, x0, p.u, 3, p.w) @ jnp.atleast_1d(p.v))
    assert np.isclose(lhs, rhs, rtol=1e-10)


# ------------------------------------------------------------------ warm start
@pytest.mark.parametrize("est", [FixedPointAdjoint(1), FixedPointAdjoint(10),
                                 ConjugateGradientAdjoint(1), ConjugateGradientAdjoint(3)])
def test_warm_start_from_the_exact_adjoint_stays_exact(ridge, est):
    p = ridge
    u_bar, y = est.adjoint(p.update, p.x_star, p.u, p.w, jnp.asarray(p.y_star))
    assert _rel(y, p.y_star) <= 1e-12
    assert _rel(u_bar, implicit_jacobian(p.update, p.x_star, p.u, w=p.w)) <= 1e-12
    # cold, one step is far off
    assert _rel(type(est)(1).adjoint(p.update, p.x_star, p.u, p.w)[1], p.y_star) > 1e-3


def test_adjoint_under_jit_and_with_pytrees(ridge):
    p, est = ridge, FixedPointAdjoint(12)
    eager = est.adjoint(p.update, p.x_star, p.u, p.w)
    jitted = jax.jit(lambda u, y0: est.adjoint(p.update, p.x_star, u, p.w, y0))(
        p.u, jnp.zeros(p.n))
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    tree = est.vjp(lambda x, u: {"x": p.update(x["x"], u["log_weight"])}, {"x": p.x_star},
                   {"log_weight": p.u}, 2, {"x": p.w})
    np.testing.assert_allclose(tree, est.vjp(p.update, p.x_star, p.u, 2, p.w), rtol=1e-14)


# ------------------------------------------------------------------ invalid input
def test_invalid_arguments_raise_clear_errors(ridge):
    p = ridge
    for cls in (FixedPointAdjoint, ConjugateGradientAdjoint):
        with pytest.raises(ValueError, match=f"{cls.__name__}.steps"):
            cls(0)
        with pytest.raises(TypeError, match=f"{cls.__name__}.steps"):
            cls(2.0)
    with pytest.raises(ValueError, match="y0"):
        FixedPointAdjoint(2).adjoint(p.update, p.x_star, p.u, p.w, jnp.zeros(p.n + 1))
    with pytest.raises(ValueError, match="w"):
        FixedPointAdjoint(2).vjp(p.update, p.x_star, p.u, 1, jnp.zeros(p.n + 1))
    with pytest.raises(ValueError, match="v"):
        FixedPointAdjoint(2).jvp(p.update, p.x_star, p.u, 1, jnp.zeros(2))
    assert FixedPointAdjoint(3).name == "adjoint, fixed point"
    assert ConjugateGradientAdjoint(3).name == "adjoint, CG"
    assert FixedPointAdjoint(3).stored_iterates(100) == 1
