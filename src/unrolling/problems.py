r"""Test problems ``f(x, u)`` with their solutions and solution Jacobians.

Each constructor returns a :class:`Problem`: the objective ``f(x, u)``, the
solution map ``x_star(u)``, the Jacobian ``jacobian(u)`` of :math:`u \mapsto x^*(u)`
(closed form where one exists, otherwise by the implicit function theorem at a
Newton solution), and the curvature bounds ``smoothness(u)`` = L and
``strong_convexity(u)`` = m of :math:`\nabla_x^2 f`. Random instances take explicit
PRNG keys. Chapters 1-5.
"""
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from . import _jax, _validate
from .derivatives import implicit_from_gradient
from .methods import newton, newton_line_search

__all__ = ["Problem", "quadratic", "target_scale_quadratic", "ridge", "least_squares", "logistic_regression",
           "spectral_quadratic", "huber_regression", "weighted_logistic_regression", "weighted_ridge"]


class Problem(NamedTuple):
    """An inner problem min_x f(x, u) with its solution map and constants."""
    f: Callable
    x_star: Callable          # u -> x*(u)
    jacobian: Callable        # u -> D x*(u), shape (n, p) over flattened u
    smoothness: Callable      # u -> L, largest Hessian eigenvalue
    strong_convexity: Callable  # u -> m, smallest Hessian eigenvalue


def _eig_bounds(H):
    lam = jnp.linalg.eigvalsh(H)
    return lam[-1], lam[0]


def quadratic(H0, c):
    r"""Ridge-type quadratic :math:`f(x, u) = \tfrac12 x^\top (H_0 + uI) x - c^\top x`, u scalar.

    :math:`x^*(u) = (H_0 + uI)^{-1} c` and
    :math:`Dx^*(u) = -(H_0 + uI)^{-1} x^*(u)` (differentiate :math:`(H_0+uI)x^* = c`).
    """
    H0, c = jnp.asarray(H0), jnp.asarray(c)
    if H0.ndim != 2 or H0.shape[0] != H0.shape[1] or c.shape != H0.shape[:1]:
        raise ValueError(f"H0 must be (n, n) and c (n,), got {H0.shape} and {c.shape}")
    eye = jnp.eye(c.size, dtype=H0.dtype)

    def f(x, u):
        return 0.5 * x @ (H0 @ x) + 0.5 * u * x @ x - c @ x

    def x_star(u):
        return jnp.linalg.solve(H0 + u * eye, c)

    def jacobian(u):
        return -jnp.linalg.solve(H0 + u * eye, x_star(u))[:, None]

    return Problem(f, x_star, jacobian,
                   lambda u: _eig_bounds(H0)[0] + u, lambda u: _eig_bounds(H0)[1] + u)


def target_scale_quadratic(H0, c):
    r"""The quadratic :math:`\tfrac12 x^\top H_0 x - (1 + u)c^\top x` in the scale u of its
    linear term (the targets of a regression): :math:`x^*(u) = (1 + u)H_0^{-1}c`,
    :math:`Dx^*(u) = H_0^{-1}c`, the curvature that of :math:`H_0` (chapter 3: here
    :math:`\partial_u \nabla_x f = -c` does not depend on x, Γ = 0, and no curse)."""
    def f(x, u):
        return 0.5 * x @ (H0 @ x) - (1.0 + u) * (c @ x)
    base = quadratic(H0, c)
    return base._replace(f=f, x_star=lambda u: (1.0 + u) * base.x_star(0.0),
                         jacobian=lambda u: base.x_star(0.0)[:, None],
                         smoothness=lambda u: base.smoothness(0.0),
                         strong_convexity=lambda u: base.strong_convexity(0.0))


def ridge(A, b):
    r"""Ridge regression in its weight: :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac u2 \|x\|^2`.

    Same solution and Jacobian as :func:`quadratic` with :math:`H_0 = A^\top A`,
    :math:`c = A^\top b` (Mehmood et al. Fig. 1; Scieur et al. Example 1).
    """
    A, b = jnp.asarray(A), jnp.asarray(b)
    if A.ndim != 2 or b.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, N) and b (M,), got {A.shape} and {b.shape}")
    q = quadratic(A.T @ A, A.T @ b)

    def f(x, u):
        r = A @ x - b
        return 0.5 * r @ r + 0.5 * u * x @ x

    return q._replace(f=f)


def least_squares():
    r"""Least squares in its data, :math:`f(x, u) = \tfrac12\|Ax - b\|^2` with u = (A, b).

    :math:`x^* = (A^\top A)^{-1} A^\top b`. Differentiating the normal equations,
    with :math:`r = b - Ax^*` and :math:`H = A^\top A`,

    .. math:: dx^* = H^{-1}\big(dA^\top r + A^\top db - A^\top dA\, x^*\big),

    and for a cotangent w, with :math:`y = H^{-1} w`:
    :math:`\nabla_A = r y^\top - (Ay) x^{*\top}`, :math:`\nabla_b = Ay`
    (Mehmood et al. App. C). ``jacobian`` columns follow ``ravel_pytree((A, b))``.
    """
    def f(x, u):
        A, b = u
        r = A @ x - b
        return 0.5 * r @ r

    def x_star(u):
        A, b = u
        return jnp.linalg.solve(A.T @ A, A.T @ b)

    def jacobian(u):
        A, b = u
        x, H = x_star(u), A.T @ A
        r = b - A @ x
        M, N = A.shape
        # d/dA_ij: H^{-1}(e_j r_i - A^T e_i x_j); d/db_i: H^{-1} A^T e_i.
        dA = jnp.einsum("jk,i->jik", jnp.eye(N), r) - jnp.einsum("ij,k->jik", A, x)
        cols = jnp.concatenate([dA.reshape(N, M * N), A.T], axis=1)
        return jnp.linalg.solve(H, cols)

    def curvature(u):
        return _eig_bounds(u[0].T @ u[0])

    return Problem(f, x_star, jacobian, lambda u: curvature(u)[0],
                   lambda u: curvature(u)[1])


@functools.partial(jax.jit, static_argnums=(0, 3))  # compiled once per objective f
def _newton_solve(f, x0, u, num_steps):
    return _jax.run(newton(f), x0, u, num_steps)


def logistic_regression(X, y, num_newton_steps=30):
    r"""L2-regularized logistic regression in its log-regularization weight.

    :math:`f(x, u) = \sum_i \log(1 + e^{-y_i X_i^\top x}) + \tfrac{e^u}{2}\|x\|^2`,
    labels :math:`y_i \in \{-1, +1\}`. No closed form: ``x_star`` runs Newton's method
    from 0 (``num_newton_steps`` steps, quadratic convergence), and ``jacobian``
    applies the implicit function theorem to :math:`\nabla_x f = 0`:
    :math:`Dx^* = -[\nabla_x^2 f]^{-1} \partial_u \nabla_x f`. The curvature bounds
    are global: :math:`e^u \le \nabla^2 f \le e^u + \|X\|_2^2/4`.
    """
    X, y = jnp.asarray(X), jnp.asarray(y)
    if X.ndim != 2 or y.shape != X.shape[:1]:
        raise ValueError(f"X must be (M, N) and y (M,), got {X.shape} and {y.shape}")

    def f(x, u):
        return jnp.sum(jnp.logaddexp(0.0, -y * (X @ x))) + 0.5 * jnp.exp(u) * x @ x

    def x_star(u):
        return _newton_solve(f, jnp.zeros(X.shape[1], X.dtype), u, num_newton_steps)

    def jacobian(u):
        x = x_star(u)
        mixed = jax.jacfwd(jax.grad(f), 1)(x, u)
        return -jnp.linalg.solve(jax.hessian(f)(x, u), ravel_pytree(mixed)[0][:, None])

    top = jnp.linalg.norm(X, 2) ** 2 / 4.0
    return Problem(f, x_star, jacobian, lambda u: jnp.exp(u) + top, lambda u: jnp.exp(u))


def spectral_quadratic(key, eigenvalues, solution_weights=None):
    r"""A :func:`quadratic` whose :math:`H_0` has the given spectrum, in a random basis.

    :math:`H_0 = Q\,\mathrm{diag}(\lambda)\,Q^\top` with Q a random orthogonal matrix
    (from ``key``). The linear term is :math:`c = H_0 Q s` so that at u = 0 the
    solution is :math:`x^*(0) = Q s`: ``solution_weights`` s sets the solution's
    component along each eigenvector (default: all ones). This is how chapter 3
    controls whether the curse of unrolling shows.
    """
    lam = jnp.asarray(eigenvalues)
    traced = isinstance(lam, jax.core.Tracer)  # under jit the values are not known
    if lam.ndim != 1 or not (traced or bool((jax.device_get(lam) > 0).all())):
        raise ValueError("eigenvalues must be a 1-d array of positive numbers")
    s = jnp.ones_like(lam) if solution_weights is None else jnp.asarray(solution_weights)
    _validate.same_shape(s, lam, "solution_weights", "eigenvalues")
    Q, _ = jnp.linalg.qr(jax.random.normal(key, (lam.size, lam.size), dtype=lam.dtype))
    H0 = (Q * lam[None, :]) @ Q.T
    return quadratic(H0, H0 @ (Q @ s))


def huber_regression(A, b, delta=1.0, num_newton_steps=60):
    r"""Robust ridge regression with the smooth Huber loss, in the ridge weight u:

    .. math:: f(x, u) = \sum_i \phi_\delta(a_i^\top x - b_i) + \tfrac u2 \|x\|^2, \qquad
              \phi_\delta(r) = \delta^2\big(\sqrt{1 + (r/\delta)^2} - 1\big).

    :math:`\phi_\delta` (the "pseudo-Huber" loss) is quadratic, :math:`r^2/2`, for
    :math:`|r| \ll \delta` and nearly linear, :math:`\delta |r|`, for :math:`|r| \gg \delta`, like
    Huber's loss (huber1964); unlike it, its curvature
    :math:`\phi_\delta''(r) = (1 + (r/\delta)^2)^{-3/2} \in (0, 1]` is smooth, so the gradient
    step's Jacobian :math:`D_x\mathcal A` is Lipschitz (Mehmood et al. Assumption 2.2).
    Residuals in the linear regime contribute almost no curvature: a near-linear loss
    (Mehmood et al. Sec. 3.4.2; chapter 3).

    No closed form: ``x_star`` runs Newton with a line search
    (:func:`unrolling.methods.newton_line_search`) from 0; ``jacobian`` applies the
    implicit function theorem to :math:`\nabla_x f = 0`: :math:`Dx^* = -[\nabla_x^2 f]^{-1} x^*`
    (since :math:`\partial_u \nabla_x f = x`). Global curvature bounds:
    :math:`u \le \nabla_x^2 f \le \|A\|_2^2 + u`.
    """
    A, b = jnp.asarray(A), jnp.asarray(b)
    if A.ndim != 2 or b.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, N) and b (M,), got {A.shape} and {b.shape}")
    _validate.positive(delta, "delta")

    def f(x, u):
        r = (A @ x - b) / delta
        return delta**2 * jnp.sum(jnp.sqrt(1.0 + r * r) - 1.0) + 0.5 * u * x @ x

    def x_star(u):
        return _jax.run(newton_line_search(f, num_halvings=39), jnp.zeros(A.shape[1], A.dtype),
                        u, num_newton_steps)

    def jacobian(u):
        x = x_star(u)
        return -jnp.linalg.solve(jax.hessian(f)(x, u), x)[:, None]

    top = jnp.linalg.norm(A, 2) ** 2
    return Problem(f, x_star, jacobian, lambda u: top + u, lambda u: jnp.asarray(u, A.dtype))


def _hessian_bounds(f, x_star):
    def bounds_at(u):
        lam = jnp.linalg.eigvalsh(jax.hessian(f)(x_star(u), u))
        return lam[-1], lam[0]
    return bounds_at


def weighted_logistic_regression(A, y, log_lam=-5.0, num_newton_steps=30):
    r"""Logistic regression with per-sample weights θ (the parameter u) and an intercept.

    .. math:: f(x, \theta) = \sum_i \theta_i \log(1 + e^{-y_i a_i^\top x})
              + \tfrac{\lambda}{2}\|x_{-1}\|^2, \qquad \lambda = e^{\text{log\_lam}},

    where the first column of A is all ones and its coefficient (the intercept) is not
    penalized (Bolte et al. eq. 11, up to the factor 1/2 on the penalty). ``x_star``
    runs :func:`newton_line_search` from 0 and ``jacobian`` applies
    :func:`implicit_from_gradient` there. ``smoothness`` / ``strong_convexity`` are the
    extreme Hessian eigenvalues *at the solution* (local constants). Chapter 4.
    """
    A, y = jnp.asarray(A), jnp.asarray(y)
    if A.ndim != 2 or y.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, n) and y (M,), got {A.shape} and {y.shape}")
    lam = jnp.exp(log_lam)
    penalty = jnp.ones(A.shape[1]).at[0].set(0.0)

    def f(x, theta):
        return theta @ jnp.logaddexp(0.0, -y * (A @ x)) + 0.5 * lam * (penalty * x) @ x

    newton = newton_line_search(f)

    def x_star(theta):
        return _jax.run(newton, jnp.zeros(A.shape[1], A.dtype), theta, num_newton_steps)

    def jacobian(theta):
        return implicit_from_gradient(f, x_star(theta), theta)

    hb = _hessian_bounds(f, x_star)
    return Problem(f, x_star, jacobian, lambda u: hb(u)[0], lambda u: hb(u)[1])


def weighted_ridge(A, y, lam):
    r"""Ridge regression with per-sample weights θ (Bolte et al., Sec. 4):

    .. math:: f(x, \theta) = \tfrac12\sum_i \theta_i (y_i - a_i^\top x)^2 + \tfrac\lambda2\|x\|^2.

    With :math:`H(\theta) = A^\top \mathrm{diag}(\theta) A + \lambda I`:
    :math:`\bar x = H^{-1}A^\top\mathrm{diag}(\theta)y` and, differentiating
    :math:`H\bar x = A^\top \mathrm{diag}(\theta) y` in :math:`\theta_i`,
    :math:`\partial_{\theta_i}\bar x = H^{-1} a_i (y_i - a_i^\top\bar x)`, i.e.
    :math:`J = H^{-1}A^\top\mathrm{diag}(y - A\bar x)`. Chapter 4.
    """
    A, y = jnp.asarray(A), jnp.asarray(y)
    if A.ndim != 2 or y.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, n) and y (M,), got {A.shape} and {y.shape}")
    _validate.positive(lam, "lam")
    eye = jnp.eye(A.shape[1], dtype=A.dtype)

    def f(x, theta):
        r = y - A @ x
        return 0.5 * theta @ r**2 + 0.5 * lam * x @ x

    def hessian(theta):
        return A.T @ (theta[:, None] * A) + lam * eye

    def x_star(theta):
        return jnp.linalg.solve(hessian(theta), A.T @ (theta * y))

    def jacobian(theta):
        return jnp.linalg.solve(hessian(theta), A.T * (y - A @ x_star(theta))[None])

    def curvature(theta):
        lam_ = jnp.linalg.eigvalsh(hessian(theta))
        return lam_[-1], lam_[0]

    return Problem(f, x_star, jacobian, lambda u: curvature(u)[0],
                            lambda u: curvature(u)[1])
