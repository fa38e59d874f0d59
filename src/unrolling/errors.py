r"""Error sequences of iterates and derivative estimates (chapters 3-5).

:math:`e^{(k)} = \|x^{(k)} - x^*\|` and :math:`\dot e^{(k)} = \|\dot X^{(k)} - Dx^*\|`
for stacked iterates / Jacobians / JVPs / VJPs as returned by
:func:`unrolling.iterate`, :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`.
"""
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate, problems
from ._jax import FAST_COMPILE
from .methods import gradient_descent

__all__ = ["iterate_errors", "derivative_errors", "format_error", "EstimatorErrors",
           "estimator_errors", "ridge_estimator_errors"]


def iterate_errors(xs, x_star):
    r""":math:`e^{(k)} = \|x^{(k)} - x^*\|_2` for each row of ``xs`` (shape (K+1, n))."""
    return jnp.linalg.norm(jnp.asarray(xs) - jnp.ravel(jnp.asarray(x_star))[None], axis=-1)


def derivative_errors(derivs, reference, norm="fro"):
    r"""Distance of each stacked derivative estimate to the reference :math:`Dx^*`.

    Args:
      derivs: (K+1, n, p) Jacobians, or (K+1, d) JVPs / VJPs.
      reference: (n, p) Jacobian or (d,) JVP / VJP.
      norm: ``"fro"`` (Frobenius, Scieur et al.) or ``"op"`` (spectral norm, Mehmood
        et al. and Bolte et al.); the two coincide for vectors and for p = 1.
    """
    if norm not in ("fro", "op"):
        raise ValueError(f'norm must be "fro" or "op", got {norm!r}')
    diff = jnp.asarray(derivs) - jnp.asarray(reference)[None]
    if diff.ndim == 2:
        return jnp.linalg.norm(diff, axis=-1)
    if norm == "fro":
        return jnp.linalg.norm(diff, axis=(-2, -1))
    return jnp.linalg.norm(diff, ord=2, axis=(-2, -1))


def format_error(value, floor=1e-12):
    """An error for print, portable across machines: ``"< 1e-12"`` below ``floor``.

    Digits of an error at the level of rounding (say 7.0e-15 on one CPU, 8.1e-15 on
    another) depend on the machine's floating-point kernels; a stored notebook output must
    not print them. Above ``floor`` the value is printed with two significant digits
    (``"6.5e-09"``). ``floor`` must be a power of ten > 0.
    """
    exponent = math.log10(floor) if floor > 0 else math.nan
    if not exponent == round(exponent):
        raise ValueError(f"floor must be a power of ten > 0 (1e-12, 1e-9, ...), got {floor!r}")
    value = float(value)
    return f"< 1e{round(exponent)}" if value < floor else f"{value:.1e}"


class EstimatorErrors(NamedTuple):
    """Per-iteration errors (Frobenius norm) against the true Jacobian, k = 0..K.

    ``iterate`` :math:`\\|x_k - \\bar x\\|`; ``unrolled`` the unrolled Jacobian
    :math:`J_\\theta x_k`; ``implicit`` the implicit estimator at :math:`x_k`;
    ``one_step`` :math:`\\partial_\\theta F(x_{k-1}, \\theta)` (NaN at k = 0);
    ``truncated`` the block-truncated estimator (derivative restarted every ``block``
    steps; equal to the ``block``-step estimator at k = multiples of ``block``, NaN
    elsewhere and when no block is given).
    """
    iterate: np.ndarray
    unrolled: np.ndarray
    implicit: np.ndarray
    one_step: np.ndarray
    truncated: np.ndarray


def _errors_scan(update, x0, u, num_steps, x_star, jac_star, implicit, block):
    """Traceable body of :func:`estimator_errors` (one scan over k = 0..K)."""
    x_flat, unravel = ravel_pytree(x0)
    A = lambda x, u_: ravel_pytree(update(unravel(x), u_))[0]  # noqa: E731
    n, p = x_flat.size, jac_star.shape[1]
    err = lambda J: jnp.linalg.norm(J - jac_star)  # noqa: E731
    eye = jnp.eye(n, dtype=x_flat.dtype)

    def step(carry, k):                                         # everything at x_k
        x, J, Jt, C_prev = carry
        B, C = jax.jacrev(A, argnums=(0, 1))(x, u)               # n vector-Jacobian products
        C = C.reshape(n, p)
        J_id = jnp.linalg.solve(eye - B, C) if implicit is None else implicit(unravel(x), u)
        restart = k % block == 0                                 # Jt: the last block's steps
        out = (jnp.linalg.norm(x - x_star), err(J), err(J_id),
               jnp.where(k == 0, jnp.nan, err(C_prev)),        # one-step: C_{k-1}
               jnp.where(restart & (k > 0), err(Jt), jnp.nan))
        Jt = jnp.where(restart, 0.0, Jt)
        return (A(x, u), B @ J + C, B @ Jt + C, C), out

    zeros = jnp.zeros((n, p), x_flat.dtype)
    _, outs = lax.scan(step, (x_flat, zeros, zeros, zeros), jnp.arange(num_steps + 1))
    return outs


def estimator_errors(update, x0, u, num_steps, x_star, jac_star, implicit=None, block=None):
    r"""Errors of the four Jacobian estimators along one run, k = 0, ..., K (Bolte Figs. 2, 4).

    One pass: at each :math:`x_k` the partial Jacobians :math:`B_k = \partial_x F(x_k, u)`,
    :math:`C_k = \partial_u F(x_k, u)` (reverse mode, n products); the unrolled autodiff
    Jacobian follows :math:`J_{k+1} = B_k J_k + C_k` (Bolte eq. 2), the one-step estimator
    of :math:`x_{k+1}` is :math:`C_k` (eq. 4), the implicit one at :math:`x_k` is
    :math:`(I - B_k)^{-1} C_k` (eq. 3) or ``implicit(x_k, u)`` if given (e.g.
    :func:`implicit_from_gradient`, the cheaper equation for Newton), and, if ``block``
    is given, the recursion restarted from 0 every ``block`` steps gives the
    ``block``-step (truncated) estimator at k = block, 2 block, ...

    Args:
      update, x0, u: the iteration (x0 a constant array); num_steps: K.
      x_star, jac_star: the solution and its Jacobian (n, p), the reference.
      implicit: optional function (x, u) -> (n, p); block: int >= 1 or None.

    Returns:
      :class:`EstimatorErrors` of NumPy arrays of length K + 1. Chapter 4.
    """
    K = _validate.num_steps(num_steps)
    blk = K + 1 if block is None else _validate.num_steps(block, "block")
    if blk < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    run = jax.jit(lambda u_, xs, js: _errors_scan(update, x0, u_, K, xs, js, implicit, blk),
                  compiler_options=FAST_COMPILE)
    return EstimatorErrors(*(np.asarray(a) for a in run(u, jnp.ravel(x_star),
                                                        jnp.asarray(jac_star))))


@partial(jax.jit, static_argnames="num_steps")
def _ridge_errors(A, y, lam, theta, step, block, *, num_steps):
    problem = problems.weighted_ridge(A, y, lam)
    return _errors_scan(gradient_descent(problem.f, step), jnp.zeros(A.shape[1], A.dtype), theta,
                        num_steps, problem.x_star(theta), problem.jacobian(theta), None, block)


def ridge_estimator_errors(A, y, lam, theta, step_size, num_steps, block):
    r""":func:`estimator_errors` for gradient descent on :func:`weighted_ridge` (Bolte et al.
    Fig. 4), from :math:`x_0 = 0`, with the ``block``-step estimator.

    ``lam``, ``step_size`` and ``block`` may be arrays (broadcast together): the runs
    are then vectorized (one compilation, one pass) and every field of the result has
    a leading axis over the runs.
    """
    K = _validate.num_steps(num_steps)
    lam, step, block = np.broadcast_arrays(np.asarray(lam, float), np.asarray(step_size, float),
                                           np.asarray(block, int))
    if np.any(step <= 0) or np.any(lam <= 0) or np.any(block < 1):
        raise ValueError("lam and step_size must be > 0 and block >= 1")
    run = jax.vmap(partial(_ridge_errors, num_steps=K), in_axes=(None, None, 0, None, 0, 0))
    out = run(jnp.asarray(A), jnp.asarray(y), lam.ravel(), jnp.asarray(theta), step.ravel(),
              block.ravel())
    return EstimatorErrors(*(np.asarray(a).reshape(lam.shape + (K + 1,)) for a in out))
