"""Chapter 7's exercise checkers (private; listed in :mod:`unrolling.checks`)."""
import math

import jax
import numpy as np
from jax import lax

from ._verdicts import _close_squeezed, _report


def ch7_neumann_terms(rho, tol, answer):
    r"""Chapter 7: the fewest terms k of the Neumann series :math:`\sum_{j<k} B^j` whose
    relative error bound :math:`\rho^k` (for :math:`\|B\| \le \rho < 1`) is at most ``tol``.

    Reference: the smallest integer k with :math:`\rho^k \le` ``tol``, found by counting
    (not by a logarithm, so that ties at an exact power are decided exactly)."""
    rho, tol = float(rho), float(tol)
    if not (0.0 < rho < 1.0 and 0.0 < tol < 1.0):
        raise ValueError(f"need 0 < rho < 1 and 0 < tol < 1, got rho={rho}, tol={tol}")
    k, power = 0, 1.0
    while power > tol:
        k, power = k + 1, power * rho
    ok = np.ndim(answer) == 0 and float(answer) == k
    return _report("ch7_neumann_terms", ok, "the tail of the series after k terms is "
                   "B^k (I - B)^(-1): its relative size is at most rho^k")


def ch7_fixed_point_adjoint(update, x, u, w, steps, answer):
    r"""Chapter 7: the indirect hypergradient :math:`C^\top y_k` after k = ``steps``
    fixed-point iterations :math:`y \leftarrow B^\top y + w` from :math:`y_0 = 0`, with B and
    C the partial Jacobians of ``update`` at (x, u) (flattened u).

    Reference: a loop of ``jax.vjp`` pull-backs written here (independent of the
    library's estimator); refused when k = 0 would already pass."""
    x, u, w = (jax.tree.map(np.asarray, a) for a in (x, u, w))
    _, pullback = jax.vjp(update, x, u)

    def body(_, y):
        return jax.tree.map(lambda a, b: a + b, pullback(y)[0], w)
    y = lax.fori_loop(0, int(steps), body, jax.tree.map(np.zeros_like, w))
    reference = np.concatenate([np.ravel(a) for a in jax.tree.leaves(pullback(y)[1])])
    return _report("ch7_fixed_point_adjoint", _close_squeezed(answer, reference, rtol=1e-8),
                   "iterate y <- B^T y + w with the vector-Jacobian product of update "
                   "in x, then pull y back through update in u")


def ch7_cg_steps(eigenvalues, answer):
    r"""Chapter 7: the number of conjugate-gradient steps after which CG solves
    :math:`My = w` exactly (in exact arithmetic) for every w, M symmetric positive
    definite with the given ``eigenvalues``: the number of *distinct* eigenvalues.

    Reference: distinct values up to a relative 1e-12."""
    lam = np.sort(np.asarray(eigenvalues, dtype=float).ravel())
    if lam.size == 0 or lam[0] <= 0:
        raise ValueError("eigenvalues must be positive (M positive definite)")
    distinct = 1 + int(np.sum(np.diff(lam) > 1e-12 * lam[1:]))
    ok = np.ndim(answer) == 0 and float(answer) == distinct
    return _report("ch7_cg_steps", ok, "after k steps CG's error is the smallest P(M) e0 "
                   "over polynomials of degree k with P(0) = 1")


def ch7_danskin_gradient(f, x, u, answer):
    r"""Chapter 7: the analytic (Danskin) estimate :math:`\nabla_u f(x, u)` of the gradient
    of :math:`h(u) = \min_x f(x, u)` at an approximate minimizer x (reference:
    ``jax.grad`` in u with x held fixed)."""
    reference = jax.grad(f, argnums=1)(x, u)
    return _report("ch7_danskin_gradient", _close_squeezed(answer, reference, rtol=1e-8),
                   "differentiate f in u only: x is a number here, not a function of u")


def ch7_unrolled_value_gradient(f, x0, u, num_steps, step_size, answer):
    r"""Chapter 7: the unrolled estimate :math:`\frac{d}{du} f(x_k(u), u)` with
    :math:`x_{j+1} = x_j - \alpha\nabla_x f(x_j, u)` from the constant x0, k = ``num_steps``.

    Reference: ``jax.grad`` through a ``lax.fori_loop`` of the k steps."""
    grad_x = jax.grad(f, argnums=0)

    def value(v):
        xk = lax.fori_loop(0, int(num_steps),
                           lambda _, z: z - step_size * grad_x(z, v), x0)
        return f(xk, v)
    reference = jax.grad(value)(u)
    ok = _close_squeezed(answer, reference, rtol=1e-8) and math.isfinite(float(np.sum(reference)))
    return _report("ch7_unrolled_value_gradient", ok, "write the k gradient steps as a "
                   "function of u and differentiate f at the last iterate through them")
