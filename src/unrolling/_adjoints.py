r"""Approximate implicit differentiation: the adjoint system solved by a few iterations
(chapter 7). Private; the values are re-exported by :mod:`unrolling.derivatives`.

At the last iterate :math:`x = x^{(K)}`, with :math:`B = \partial_x \mathcal A(x, u)` and
:math:`C = \partial_u \mathcal A(x, u)`, the implicit estimator (:class:`Implicit`) solves
the *adjoint system*

.. math:: (I - B)^\top y = w, \qquad w^\top Dx^*(u) \approx C^\top y,

exactly, by one LU factorization of the n x n matrix :math:`I - B`. The values here
solve it approximately and matrix-free, one VJP of the update map per iteration:

* :class:`FixedPointAdjoint` — ``steps`` iterations :math:`y \leftarrow B^\top y + w`,
  which contract at the inner map's rate ρ. From :math:`y_0 = 0`, k iterations give the
  truncated Neumann series :math:`y_k = \sum_{j<k} (B^\top)^j w` (Lorraine et al. 2020): the
  "truncated Neumann" estimator is this value. At a fixed point :math:`x^*` it equals
  reverse mode truncated to the last k steps, ``reverse_mode(update, x_star, u, k, w=w)[-1]``
  (Liao et al. 2018), since there every :math:`B_k = B`, :math:`C_k = C`.
* :class:`ConjugateGradientAdjoint` — ``steps`` conjugate-gradient iterations, valid when
  :math:`I - B` is symmetric positive definite: gradient steps on a strongly convex f,
  :math:`B = I - \alpha\nabla^2_{xx} f`, so :math:`I - B = \alpha\nabla^2_{xx} f`
  (Pedregosa 2016). Exact after n iterations in exact arithmetic.

Both start from a given :math:`y_0` (default 0): warm-starting the adjoint from the previous
outer step's solution amortizes the solve across outer steps (Arbel & Mairal 2022;
``warm_adjoint=True`` in :func:`unrolling.bilevel.hypergradient_descent`). The tangent
(forward) counterpart solves :math:`(I - B)\dot z = Cv` the same way, from :math:`\dot z_0 = 0`.
Loops are ``lax.fori_loop`` with the trip count ``steps``; all is ``jax.jit``-compatible.
"""
import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import lax

from . import _jax, _validate, derivatives


# --------------------------------------------------------------------------- the solvers
def fixed_point_iterations(apply_B, b, y0, steps):
    r"""``steps`` iterations :math:`y \leftarrow By + b` from y0, for :math:`(I - B)y = b`."""
    return lax.fori_loop(0, steps, lambda _, y: apply_B(y) + b, y0)


def _ratio(num, den):
    """num / den, and 0 where den = 0 (a solved system: the residual is exactly zero)."""
    return jnp.where(den != 0, num / jnp.where(den != 0, den, 1), 0)


def conjugate_gradient(apply_B, b, y0, steps):
    r"""``steps`` conjugate-gradient iterations for :math:`(I - B)y = b` from y0
    (I - B symmetric positive definite): residual r, direction p, step size
    :math:`r^\top r / p^\top (I - B) p` (Hestenes & Stiefel 1952)."""
    def matvec(y):                                        # (I - B) y
        return y - apply_B(y)

    def body(_, state):
        y, r, p, rr = state
        Mp = matvec(p)
        alpha = _ratio(rr, p @ Mp)
        y, r = y + alpha * p, r - alpha * Mp
        rr_next = r @ r
        return y, r, r + _ratio(rr_next, rr) * p, rr_next
    r0 = b - matvec(y0)
    return lax.fori_loop(0, steps, body, (y0, r0, r0, r0 @ r0))[0]


# --------------------------------------------------------------------------- the linear maps
# The solver and the update map are static, the number of steps is traced: one
# compilation serves every ``steps`` (a sweep over k). The loop then lowers to a
# ``while_loop`` with the trip count ``steps`` (not data dependent): forward-mode
# differentiable, not reverse; nothing here differentiates through the estimate.
@_jax.compiled(0, 1)
def _adjoint(solver, update, x, u, w, y0, steps):
    r"""(:math:`C^\top y`, y) with y the solver's solution of :math:`(I - B)^\top y = w`."""
    A, x_flat, u_flat = derivatives._partials(update, x, u)
    pullback = jax.vjp(A, x_flat, u_flat)[1]               # y -> (B^T y, C^T y)
    w_flat = _jax.flat(_jax.cast_like(w, x))
    y0 = jnp.zeros_like(w_flat) if y0 is None else jnp.asarray(y0, w_flat.dtype)
    y = solver(lambda y: pullback(y)[0], w_flat, y0, steps)
    return pullback(y)[1], y


@_jax.compiled(0, 1)
def _tangent(solver, update, x, u, v, steps):
    r""":math:`\dot z` the solver's solution of :math:`(I - B)\dot z = Cv`, from 0."""
    A, x_flat, u_flat = derivatives._partials(update, x, u)
    push = jax.linearize(A, x_flat, u_flat)[1]              # (z, v) -> B z + C v
    c_v = push(jnp.zeros_like(x_flat), _jax.flat(_jax.cast_like(v, u)))
    return solver(lambda z: push(z, jnp.zeros_like(u_flat)), c_v, jnp.zeros_like(c_v), steps)


@_jax.compiled(0, 1)
def _last_iterate(update, x0_fn, x0_value, u, num_steps):
    """x^(K), the path not stored; compiled once per update map (num_steps traced)."""
    return derivatives._final(update, x0_fn or x0_value, u, num_steps)


def _at_last_iterate(update, x0, u, num_steps):
    """(x^(K), u) with u and x0 coerced as everywhere in the library."""
    K = _validate.num_steps(num_steps)
    x0, u, _, _ = _validate.inputs(x0, u)
    return _last_iterate(update, *derivatives._split(x0), u, K), u


def _check_start(y0, x):
    """y0: None or a flat vector of x's size n."""
    n = _jax.flat(x).size
    if y0 is not None and jnp.shape(y0) != (n,):
        raise ValueError(f"y0 must be None or a flat vector of shape ({n},) (the size of x), "
                         f"got shape {jnp.shape(y0)}")


# --------------------------------------------------------------------------- the estimators
@dataclasses.dataclass(frozen=True)
class _AdjointEstimator:
    """What the approximate adjoints share: ``steps`` iterations at the last iterate."""
    steps: int

    def __post_init__(self):
        name = f"{type(self).__name__}.steps"
        if _validate.num_steps(self.steps, name) < 1:
            raise ValueError(f"{name} must be an int >= 1, got {self.steps}")

    def stored_iterates(self, num_steps):
        """The last iterate only."""
        return min(1, num_steps)

    def adjoint(self, update, x, u, w, y0=None):
        r"""Solve :math:`(I - B)^\top y = w` at (x, u) approximately from y0 (flat (n,);
        None: 0). Returns ``(u_bar, y)``: :math:`\bar u = C^\top y`, flattened (p,), and y
        (n,), the start of the next solve when warm-starting (Arbel & Mairal 2022)."""
        x, u, _, w = _validate.inputs(x, u, None, w)
        derivatives._check_direction(x, u, None, w)
        _check_start(y0, x)
        return _adjoint(self.solver, update, x, u, w, y0, self.steps)

    def vjp(self, update, x0, u, num_steps, w):
        r""":math:`w^\top Dx^*(u) \approx (C^\top y)^\top`, y from 0, at :math:`x^{(K)}`."""
        return self.adjoint(update, *_at_last_iterate(update, x0, u, num_steps), w)[0]

    def jvp(self, update, x0, u, num_steps, v):
        r""":math:`Dx^*(u)\,v \approx \dot z`, :math:`(I - B)\dot z = Cv` solved from 0."""
        x, u = _at_last_iterate(update, x0, u, num_steps)
        x, u, v, _ = _validate.inputs(x, u, v)
        derivatives._check_direction(x, u, v, None)
        return _tangent(self.solver, update, x, u, v, self.steps)


@dataclasses.dataclass(frozen=True)
class FixedPointAdjoint(_AdjointEstimator):
    r"""The adjoint system :math:`(I - B)^\top y = w` at :math:`x^{(K)}` solved by ``steps``
    fixed-point iterations :math:`y \leftarrow B^\top y + w`; the estimate is :math:`C^\top y`.

    From :math:`y_0 = 0` this is the truncated Neumann series
    :math:`C^\top\sum_{j<k}(B^\top)^j w`, k = ``steps`` (the "truncated Neumann" estimator;
    at a fixed point, reverse mode through the last k steps). Its error contracts like
    :math:`\rho^k` (ρ the spectral radius of B). The tangent :math:`\dot z \leftarrow B\dot z
    + Cv` runs the same k iterations from 0. Chapter 7."""
    name: ClassVar[str] = "adjoint, fixed point"
    solver: ClassVar = staticmethod(fixed_point_iterations)


@dataclasses.dataclass(frozen=True)
class ConjugateGradientAdjoint(_AdjointEstimator):
    r"""The adjoint system :math:`(I - B)^\top y = w` at :math:`x^{(K)}` solved by ``steps``
    conjugate-gradient iterations; the estimate is :math:`C^\top y`.

    Valid when :math:`I - B` is symmetric positive definite, as for gradient descent on a
    strongly convex f (:math:`I - B = \alpha\nabla^2_{xx} f`; Pedregosa 2016); then the
    error after k iterations falls like :math:`(\sqrt\kappa - 1)^k/(\sqrt\kappa + 1)^k`, κ the
    condition number of I - B, and vanishes at k = n. Otherwise the result is meaningless.
    The tangent solves :math:`(I - B)\dot z = Cv` by CG from 0. Unlike the fixed-point
    iterations, k < n CG iterations are not linear in the right-hand side, so ``jvp`` and
    ``vjp`` are adjoint to each other only once CG has converged. Chapter 7."""
    name: ClassVar[str] = "adjoint, CG"
    solver: ClassVar = staticmethod(conjugate_gradient)
