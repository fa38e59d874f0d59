r"""Test problems ``f(x, u)`` with their solutions and solution Jacobians.

Each constructor returns a :class:`Problem`: the objective ``f(x, u)``, the
solution map ``x_star(u)``, the Jacobian ``jacobian(u)`` of :math:`u \mapsto x^*(u)`
(closed form where one exists, otherwise by the implicit function theorem at a
Newton solution), and the curvature bounds ``smoothness(u)`` = L and
``strong_convexity(u)`` = m of :math:`\nabla_x^2 f`. Random instances take explicit
PRNG keys. Chapters 1-5.
"""
import functools
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate

__all__ = ["Problem", "ridge", "least_squares", "least_squares_instance",
           "least_squares_jvp", "least_squares_vjp",
           "logistic_regression", "quadratic", "spectral_quadratic", "huber_regression",
           "huber_instance"]


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


def least_squares_jvp(u, v):
    """Closed-form :math:`Dx^*(u)[v]` for :func:`least_squares`, v = (dA, db)."""
    (A, b), (dA, db) = u, v
    x = jnp.linalg.solve(A.T @ A, A.T @ b)
    r = b - A @ x
    return jnp.linalg.solve(A.T @ A, dA.T @ r + A.T @ db - A.T @ (dA @ x))


def least_squares_vjp(u, w):
    """Closed-form :math:`w^\\top Dx^*(u)` for :func:`least_squares`, as (grad_A, grad_b)."""
    A, b = u
    x = jnp.linalg.solve(A.T @ A, A.T @ b)
    r, y = b - A @ x, jnp.linalg.solve(A.T @ A, w)
    Ay = A @ y
    return (jnp.outer(r, y) - jnp.outer(Ay, x), Ay)


def least_squares_instance(key, M=50, N=10):
    """A random (A, b) of Mehmood et al. App. C: A_ij ~ U(0, 1), b_i ~ N(0, 1)."""
    M, N = _validate.num_steps(M, "M"), _validate.num_steps(N, "N")
    if not 0 < N <= M:
        raise ValueError(f"need 0 < N <= M for a strongly convex problem, got M={M}, N={N}")
    return _random_data(key, M, N)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _random_data(key, M, N):
    key_A, key_b = jax.random.split(key)
    return (jax.random.uniform(key_A, (M, N)), jax.random.normal(key_b, (M,)))


@functools.partial(jax.jit, static_argnums=(0, 3))  # compiled once per objective f
def _newton_solve(f, x0, u, num_steps):
    grad, hess = jax.grad(f), jax.hessian(f)
    return lax.fori_loop(0, num_steps,
                         lambda _, x: x - jnp.linalg.solve(hess(x, u), grad(x, u)), x0)


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


def _damped_newton_solve(f, x0, u, num_steps, num_halvings=40):
    """Newton's method with Armijo backtracking (steps 1, 1/2, 1/4, ...), jit-friendly."""
    grad, hess = jax.grad(f), jax.hessian(f)
    steps = 0.5 ** jnp.arange(num_halvings, dtype=x0.dtype)

    def body(_, x):
        g = grad(x, u)
        d = -jnp.linalg.solve(hess(x, u), g)
        values = jax.vmap(lambda t: f(x + t * d, u))(steps)
        ok = values <= f(x, u) + 1e-4 * steps * (g @ d)
        return x + jnp.where(jnp.any(ok), steps[jnp.argmax(ok)], 0.0) * d

    return lax.fori_loop(0, num_steps, body, x0)


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

    No closed form: ``x_star`` runs damped Newton from 0; ``jacobian`` applies the
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
        return _damped_newton_solve(f, jnp.zeros(A.shape[1], A.dtype), u, num_newton_steps)

    def jacobian(u):
        x = x_star(u)
        return -jnp.linalg.solve(jax.hessian(f)(x, u), x)[:, None]

    top = jnp.linalg.norm(A, 2) ** 2
    return Problem(f, x_star, jacobian, lambda u: top + u, lambda u: jnp.asarray(u, A.dtype))


@functools.partial(jax.jit, static_argnames=("M", "N"))
def huber_instance(key, M=100, N=20, noise=0.1, outlier_fraction=0.2, outlier_scale=3.0):
    r"""Regression data with gross outliers for :func:`huber_regression` (chapter 3).

    :math:`A_{ij} \sim U(0, 1)` (uncentred features, as in Mehmood et al. App. C),
    :math:`b = A\mathbf 1 + \text{noise}\cdot\varepsilon + \text{outlier\_scale}\cdot o\odot\eta`
    with :math:`\varepsilon, \eta \sim N(0, I)` and :math:`o_i \sim`
    Bernoulli(``outlier_fraction``). Returns ``(A, b)``; compiled once per (M, N).
    """
    M, N = _validate.num_steps(M, "M"), _validate.num_steps(N, "N")
    _validate.in_range(outlier_fraction, "outlier_fraction", 0.0, 1.0)
    key_A, key_e, key_o, key_eta = jax.random.split(key, 4)
    A = jax.random.uniform(key_A, (M, N))
    outliers = jax.random.uniform(key_o, (M,)) < outlier_fraction
    b = (A @ jnp.ones(N) + noise * jax.random.normal(key_e, (M,))
         + outlier_scale * outliers * jax.random.normal(key_eta, (M,)))
    return A, b
