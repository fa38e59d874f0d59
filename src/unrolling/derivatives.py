r"""Iterates of a fixed-point map and four ways to differentiate them.

For an update map :math:`\mathcal A` and parameters :math:`u`, the iteration
:math:`x^{(k+1)} = \mathcal A(x^{(k)}, u)` is written once (``lax.scan``). What
varies is *how* the derivative :math:`D x^{(k)}(u)` is obtained:

* :func:`forward_mode` — the piggyback recursion (Mehmood et al. eq. 9 / 20)
  :math:`\dot X^{(k+1)} = B_k \dot X^{(k)} + C_k`;
* :func:`reverse_mode` — the backward sweep (Mehmood et al. eq. 12)
  :math:`\bar X^{(k)} = \bar X^{(k+1)} B_k`, :math:`\bar U^{(k)} = \bar U^{(k+1)} + \bar X^{(k+1)} C_k`;
* :func:`implicit_jacobian` — :math:`(I - B)^{-1} C` at a (near) fixed point;
* :func:`one_step_jacobian` — :math:`C = \partial_u \mathcal A(x, u)` (Bolte et al. eq. 4),

with :math:`B_k = \partial_x \mathcal A(x^{(k)}, u)` and
:math:`C_k = \partial_u \mathcal A(x^{(k)}, u)`. Derived in chapter 2
(``book/02_unrolling``); truncation in chapter 4; the adjoint system :math:`(I - B)^\top y = w`
solved approximately (fixed-point iterations, conjugate gradients) in chapter 7.

``x`` and ``u`` may be arrays or pytrees. Jacobians are matrices over the
flattened ``x`` (size ``n``) and ``u`` (size ``p``). The initial point ``x0`` is
either a value (then :math:`D x^{(0)} = 0`) or a callable ``x0(u)``.

``lax.scan`` allows both forward- and reverse-mode autodiff through the loop;
``lax.while_loop`` would allow forward mode only. Each estimator runs as one
``jax.jit``-compiled program with the update map (and a callable x0) static: an eager call
with an update map used before reuses the compiled loop; the functions also work inside
``jax.jit``, ``jax.vmap`` and ``jax.grad``. num_steps, start and stop are static ints.
"""
import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _jax, _validate

__all__ = ["iterate", "forward_mode", "reverse_mode", "implicit_jacobian", "one_step_jacobian",
           "truncated_solution", "implicit_from_gradient", "Unrolled", "Truncated", "OneStep",
           "Implicit", "Adaptive", "FixedPointAdjoint", "ConjugateGradientAdjoint", "diagnose"]


def _setup(update, x0, u):
    """(x^{(0)}(u), u) as pytrees of arrays, after checking update(x0, u) has x0's shape."""
    u = _validate.floats(u, "u")
    x_init = _validate.floats(x0(u) if callable(x0) else x0, "x0")
    out = jax.eval_shape(update, x_init, u)
    _validate.same_shape(out, x_init, "update(x0, u)", "x0")
    return x_init, u


def _flat_problem(update, x0, u):
    """Flatten ``x``, ``u`` and the update map: returns (A_flat, x0_fn, x0, u)."""
    x_init, u = _setup(update, x0, u)
    x_flat, unravel_x = ravel_pytree(x_init)
    u_flat, unravel_u = ravel_pytree(u)

    def A(x, u_):
        return ravel_pytree(update(unravel_x(x), unravel_u(u_)))[0]

    def x0_fn(u_):
        return ravel_pytree(x0(unravel_u(u_)))[0] if callable(x0) else x_flat

    return A, x0_fn, x_flat, u_flat


def _split(x0):
    """(x0_fn, x0_value): a callable x0 goes to the static slot, a value to the traced one."""
    return (x0, None) if callable(x0) else (None, x0)


def _arguments(x0, u, num_steps, index, index_name, v=None, w=None):
    """Checked and coerced arguments of the loops: K, the start/stop index, x0, u, v, w
    (float arrays, directions shaped like u and x) and the sizes (n, p)."""
    K = _validate.num_steps(num_steps)
    T = _validate.index(index, K, index_name)
    x0, u, v, w = _validate.inputs(x0, u, v, w)
    if v is not None:
        _validate.same_shape(v, u, "v", "u")
    if w is not None:
        _validate.same_shape(w, _validate.float_fn(x0)(u) if callable(x0) else x0, "w", "x")
    return K, T, x0, u, v, w, _validate.sizes(x0, u)


def iterate(update, x0, u, num_steps):
    r"""Iterates :math:`x^{(0)}, \dots, x^{(K)}` of :math:`x^{(k+1)} = \mathcal A(x^{(k)}, u)`.

    Args:
      update: the map ``(x, u) -> x`` (same structure in and out).
      x0: initial point (array or pytree), or a callable ``u -> x0``.
      u: parameters (array or pytree).
      num_steps: K, a non-negative int.

    Returns:
      Array of shape ``(K + 1, n)``: row k is the flattened :math:`x^{(k)}`.
      Under ``jax.jit``, ``iterate(...)[-1]`` stores no path. Chapter 1.
    """
    K, _, x0, u, _, _, (n, _) = _arguments(x0, u, num_steps, 0, "start")
    _validate.path_memory(x0, u, K, [(K + 1, n)], "the path of iterates",
                          "lower num_steps, or keep only iterate(...)[-1] under jax.jit")
    return _iterate(update, *_split(x0), u, K)


@_jax.compiled(0, 1, 4)
def _iterate(update, x0_fn, x0_value, u, K):
    x_init, u = _setup(update, x0_fn or x0_value, u)

    def step(x, _):
        x_next = update(x, u)
        return x_next, _jax.flat(x_next)
    x_K, xs = lax.scan(step, x_init, None, length=K)
    return _jax.stack(_jax.flat(x_init), xs, _jax.flat(x_K))


def _tangent(v, u):
    """The flattened tangent direction ``v`` (shape of u), or None."""
    if v is None:
        return None
    _validate.same_shape(v, u, "v", "u")
    return ravel_pytree(v)[0]


def _x0_tangent(x0, x_init, u, u_dot):
    r""":math:`D x^{(0)}(u)\,\dot u` (zero for a constant x0)."""
    if callable(x0):
        return jax.jvp(x0, (u,), (u_dot,))[1]
    return jax.tree.map(jnp.zeros_like, x_init)


def forward_mode(update, x0, u, num_steps, start=0, v=None):
    r"""Forward-mode (piggyback) derivatives of the iterates, optionally late-started.

    The first ``start`` = T' iterations run idle; then, from :math:`x^{(T')}`,
    :math:`\dot X_{T'}^{(k+1)} = B_{k+T'} \dot X_{T'}^{(k)} + C_{k+T'}` with
    :math:`\dot X_{T'}^{(0)} = D x^{(0)}(u)` (Mehmood et al. eq. 20; eq. 9 when
    T' = 0, where :math:`\dot X^{(k)} = D x^{(k)}(u)`).

    Args:
      update, x0, u, num_steps: as in :func:`iterate`.
      start: T' in [0, num_steps], the late-start index.
      v: optional tangent (same shape as u): then :math:`\dot X^{(k)} v` is returned.

    Returns:
      ``(num_steps - start + 1, n, p)`` Jacobians, or ``(num_steps - start + 1, n)``
      Jacobian-vector products when ``v`` is given. Entry k is
      :math:`\dot X_{T'}^{(k)}`, the derivative after k differentiated steps.
      Chapters 2 and 4.
    """
    K, T, x0, u, v, _, (n, p) = _arguments(x0, u, num_steps, start, "start", v=v)
    _validate.path_memory(x0, u, K, [(K - T + 1, n) if v is not None else (K - T + 1, n, p)],
                          f"the {K - T + 1} forward-mode entries",
                          "lower num_steps (or raise start), or pass a tangent v")
    return _forward_mode(update, *_split(x0), u, v, K, T)


@_jax.compiled(0, 1, 5, 6)
def _forward_mode(update, x0_fn, x0_value, u, v, K, T):
    x0 = _validate.float_fn(x0_fn) if x0_fn else x0_value
    x_init, u = _setup(update, x0, u)

    def jvp_step(x, x_dot, u_dot):  # (A(x, u), B x_dot + C u_dot)
        return jax.jvp(update, (x, u), (x_dot, u_dot))

    if v is None:  # one tangent per coordinate of u, batched along a leading axis
        u_dot = _jax.basis(u)
        step_cols = jax.vmap(jvp_step, in_axes=(None, 0, 0), out_axes=(None, 0))
        X_dot0 = jax.vmap(lambda t: _x0_tangent(x0, x_init, u, t))(u_dot)

        def flat(X_dot):  # (n, p)
            return _jax.flat_rows(X_dot).T
    else:
        u_dot, step_cols, flat = _jax.cast_like(v, u), jvp_step, _jax.flat
        X_dot0 = _x0_tangent(x0, x_init, u, u_dot)

    def step(carry, _):
        x_next, X_dot_next = step_cols(*carry, u_dot)
        return (x_next, X_dot_next), flat(X_dot_next)

    x_start = _jax.run(update, x_init, u, T)
    (_, X_dot_K), X_dots = lax.scan(step, (x_start, X_dot0), None, length=K - T)
    return _jax.stack(flat(X_dot0), X_dots, flat(X_dot_K))


def reverse_mode(update, x0, u, num_steps, stop=0, w=None):
    r"""Reverse-mode sweep over the iterates, optionally truncated at ``stop``.

    Runs K = num_steps iterations, stores :math:`x^{(T')}, \dots, x^{(K-1)}`
    (T' = ``stop``; earlier iterates are not stored), then sweeps backward
    (Mehmood et al. eq. 12) from :math:`\bar X_K^{(K)} = I`, :math:`\bar U_K^{(K)} = 0`:

    .. math:: \bar U_K^{(k)} = \bar U_K^{(k+1)} + \bar X_K^{(k+1)} C_k, \qquad
              \bar X_K^{(k)} = \bar X_K^{(k+1)} B_k.

    Entry k is the derivative of :math:`x^{(K)}` through steps k, ..., K-1 only,
    plus the initialization term :math:`\bar X_K^{(k)} D x^{(0)}(u)` (zero when x0 is
    a constant), so that entry ``stop`` equals ``forward_mode(..., start=stop)[-1]``
    and entry 0 equals :math:`D x^{(K)}(u)`. Entry K is zero for a constant x0
    (:math:`D x^{(0)}(u)` otherwise). Under ``jax.jit``, keeping only ``[-1]``
    stores the K - T' iterates but not the K - T' intermediate entries.

    Args:
      update, x0, u, num_steps: as in :func:`iterate`.
      stop: T' in [0, num_steps], where the backward sweep stops.
      w: optional cotangent (same shape as x): then :math:`w^\top \bar U_K^{(k)}` is returned.

    Returns:
      ``(num_steps - stop + 1, n, p)``, first entry k = K (zeros), last k = stop;
      or ``(num_steps - stop + 1, p)`` with ``w``. Chapters 2 and 4.
    """
    K, T, x0, u, _, w, (n, p) = _arguments(x0, u, num_steps, stop, "stop", w=w)
    entries = (K - T + 1, p) if w is not None else (K - T + 1, n, p)
    _validate.path_memory(x0, u, K, [(K - T, n), entries],
                          f"the {K - T} stored iterates and {K - T + 1} reverse-mode entries",
                          "lower num_steps (or raise stop), or pass a cotangent w")
    return _reverse_mode(update, *_split(x0), u, w, K, T)


@_jax.compiled(0, 1, 5, 6)
def _reverse_mode(update, x0_fn, x0_value, u, w, K, T):
    x0 = _validate.float_fn(x0_fn) if x0_fn else x0_value
    x_init, u = _setup(update, x0, u)
    if w is None:  # one cotangent per coordinate of x, batched along a leading axis
        X_bar = _jax.basis(x_init)
        n = _jax.flat(x_init).size
        U_bar = jax.tree.map(lambda a: jnp.zeros((n,) + a.shape, a.dtype), u)
        pull, flat = (lambda pullback, rows: jax.vmap(pullback)(rows)), _jax.flat_rows
    else:
        X_bar, U_bar = _jax.cast_like(w, x_init), jax.tree.map(jnp.zeros_like, u)
        pull, flat = (lambda pullback, row: pullback(row)), _jax.flat
    pull0 = jax.vjp(x0, u)[1] if callable(x0) else None

    def entry(X_bar, U_bar):  # U_bar^{(k)} + X_bar^{(k)} D x^{(0)}(u), flattened
        if pull0 is None:
            return flat(U_bar)
        return flat(U_bar) + flat(pull(pull0, X_bar)[0])

    def step(carry, x):  # (X_bar B_k, U_bar + X_bar C_k)
        X_bar, U_bar = carry
        X_bar_prev, C_part = pull(jax.vjp(update, x, u)[1], X_bar)
        U_bar_prev = jax.tree.map(jnp.add, U_bar, C_part)
        return (X_bar_prev, U_bar_prev), entry(X_bar_prev, U_bar_prev)

    xs = _jax.path(update, _jax.run(update, x_init, u, T), u, K - T)          # x^{(T..K-1)}
    (X_bar_T, U_bar_T), entries = lax.scan(step, (X_bar, U_bar), xs, reverse=True)
    # scan(reverse=True) stacks entries in index order k = T..K-1; flip to K-1..T.
    return _jax.stack(entry(X_bar, U_bar), entries[::-1], entry(X_bar_T, U_bar_T))


def _partials(update, x, u):
    """Flattened A and the flat x, u at which B = d_x A, C = d_u A are taken."""
    A, _, x_flat, u_flat = _flat_problem(update, x, u)
    return A, x_flat, u_flat


def implicit_jacobian(update, x, u, v=None, w=None):
    r"""Implicit-function-theorem Jacobian :math:`(I - B)^{-1} C` at ``x``.

    :math:`B = \partial_x \mathcal A(x, u)`, :math:`C = \partial_u \mathcal A(x, u)`;
    exact when x is the fixed point :math:`x^*(u)` (Mehmood et al. eq. 6).

    Args:
      update: the map ``(x, u) -> x``.
      x: the point (ideally the fixed point); u: the parameters.
      v: optional tangent (shape of u): returns :math:`(I - B)^{-1} C v`, shape (n,).
      w: optional cotangent (shape of x): returns :math:`w^\top (I - B)^{-1} C`, shape (p,).

    Returns:
      The (n, p) Jacobian, or a JVP / VJP. Chapters 1 and 2.

    Raises:
      ValueError: when :math:`I - B` is singular or numerically singular (the ratio of
      its smallest to largest LU pivot below n times the machine epsilon): the map is not a contraction
      at x and the formula has no answer. Under ``jax.jit`` / ``jax.vmap`` nothing can
      be raised; the result is NaN instead.
    """
    x, u, v, w = _validate.inputs(x, u, v, w)
    _check_direction(x, u, v, w)
    result, ratio = _implicit_jacobian(update, x, u, v, w)
    if not isinstance(ratio, jax.core.Tracer) and not ratio > _singular_floor(x):
        raise ValueError(
            "the map is not a contraction at x: I - d_x A(x, u) is singular "
            f"(smallest / largest LU pivot {float(ratio):.1e}, at most n * eps = "
            f"{float(_singular_floor(x)):.1e}), so (I - d_x A)^-1 does not exist there; "
            "is x the fixed point, and does d_x A(x, u) have an eigenvalue 1?")
    return result


def _singular_floor(x):
    """Below this pivot ratio, I - B counts as singular: n * eps."""
    flat = _jax.flat(x)
    return flat.size * jnp.finfo(flat.dtype).eps


def _check_direction(x, u, v, w):
    """At most one of a tangent ``v`` (shaped like u) and a cotangent ``w`` (shaped like x)."""
    if v is not None and w is not None:
        raise ValueError("give at most one of v (tangent) and w (cotangent)")
    if w is not None:
        _validate.same_shape(w, x, "w", "x")
    if v is not None:
        _validate.same_shape(v, u, "v", "u")


@_jax.compiled(0)
def _implicit_jacobian(update, x, u, v, w):
    """(the estimate, NaN where I - B is singular; the pivot ratio of I - B).

    One LU factorization of I - B serves the solve and the check: the ratio of its
    smallest to its largest pivot (in absolute value) is zero for a singular matrix and
    at most the reciprocal condition number of the triangular factor, at no extra cost.
    """
    A, x_flat, u_flat = _partials(update, x, u)
    I_minus_B = jnp.eye(x_flat.size, dtype=x_flat.dtype) - jax.jacfwd(A, 0)(x_flat, u_flat)
    lu = jax.scipy.linalg.lu_factor(I_minus_B)
    if w is not None:
        y = jax.scipy.linalg.lu_solve(lu, ravel_pytree(w)[0], trans=1)   # (I - B)^{-T} w
        result = jax.vjp(lambda u_: A(x_flat, u_), u_flat)[1](y)[0]
    elif v is not None:
        c_v = jax.jvp(lambda u_: A(x_flat, u_), (u_flat,), (_tangent(v, u),))[1]
        result = jax.scipy.linalg.lu_solve(lu, c_v)
    else:
        result = jax.scipy.linalg.lu_solve(lu, jax.jacfwd(A, 1)(x_flat, u_flat))
    pivots = jnp.abs(jnp.diagonal(lax.stop_gradient(lu[0])))
    ratio = jnp.min(pivots, initial=jnp.inf) / jnp.maximum(jnp.max(pivots, initial=0.0),
                                                            jnp.finfo(pivots.dtype).tiny)
    return jnp.where(ratio > _singular_floor(x_flat), result, jnp.nan), ratio


def one_step_jacobian(update, x, u, v=None, w=None):
    r"""One-step estimator :math:`C = \partial_u \mathcal A(x, u)` (Bolte et al. eq. 4).

    The caller evaluates it at the last-but-one iterate :math:`x^{(K-1)}`: it is the
    derivative of the last step alone, earlier steps treated as constants
    (``stop_gradient``). Exact at the fixed point when :math:`\partial_x \mathcal A = 0`
    there (Newton's method). With ``v`` returns :math:`C v`; with ``w`` returns
    :math:`w^\top C`. Chapters 2 and 4.
    """
    x, u, v, w = _validate.inputs(x, u, v, w)
    _check_direction(x, u, v, w)
    return _one_step_jacobian(update, x, u, v, w)


@_jax.compiled(0)
def _one_step_jacobian(update, x, u, v, w):
    A, x_flat, u_flat = _partials(update, x, u)
    A_u = lambda u_: A(x_flat, u_)  # noqa: E731
    if w is not None:
        return jax.vjp(A_u, u_flat)[1](ravel_pytree(w)[0])[0]
    if v is not None:
        return jax.jvp(A_u, (u_flat,), (_tangent(v, u),))[1]
    return jax.jacfwd(A_u)(u_flat)


def truncated_solution(update, x0, num_steps, last=1):
    r"""The map :math:`u \mapsto x^{(K)}(u)` whose derivative only sees the last ``last`` steps.

    The first K - ``last`` iterations run on ``stop_gradient(u)`` (and their output is
    a constant for autodiff), the last ``last`` ones on u; so ``jax.jacfwd`` /
    ``jax.grad`` of the returned function give

    * ``last=1``: the one-step estimator :math:`\partial_u F(x^{(K-1)}, u)` (Bolte et al.
      eq. 4, Algorithm 3);
    * ``last=k``: truncated backpropagation through the last k steps, i.e. late-started
      forward mode with T' = K - k (Mehmood et al. eq. 20, constant x0), which is also
      the one-step estimator of :func:`power_map` (update, k);
    * ``last=K``: full unrolling (for a constant x0).

    Args:
      update: the map (x, u) -> x; x0: initial point (a value: it gets no derivative).
      num_steps: K >= 1; last: number of differentiated steps, in [1, K].

    Returns:
      A function of u. Chapter 4.
    """
    K = _validate.num_steps(num_steps)
    k = _validate.index(last, K, "last")
    if k < 1:
        raise ValueError(f"last must be >= 1, got {k}")

    def solution(u):
        x = _jax.run(update, x0, lax.stop_gradient(u), K - k)      # idle: no derivative
        return _jax.run(update, x, u, k)                           # differentiated steps
    return solution


def implicit_from_gradient(f, x, u, w=None):
    r"""Implicit differentiation of the optimality condition :math:`\nabla_x f(x, u) = 0`:

    .. math:: J^{ID} = -[\nabla_{xx}^2 f(x, u)]^{-1}\,\partial_u \nabla_x f(x, u),

    evaluated at x (ideally the solution). With a cotangent w returns
    :math:`w^\top J^{ID} = -(\partial_u\nabla_x f)^\top y` with :math:`\nabla^2_{xx} f\, y = w`
    (one solve and one VJP). This is the cheap equation for Newton's method (Bolte et
    al. Remark 3), not the fixed point of the Newton map. Arrays x and u. Chapter 4.
    """
    hess = jax.hessian(f)(x, u)
    grad_x = lambda u_: jax.grad(f)(x, u_)  # noqa: E731
    if w is not None:
        y = jnp.linalg.solve(hess, w)                            # symmetric Hessian
        return -jax.vjp(grad_x, u)[1](y)[0]
    mixed = jax.jacfwd(grad_x)(u).reshape(x.size, -1)
    return -jnp.linalg.solve(hess, mixed)


# --------------------------------------------------------------------------- the estimators
# One vocabulary for the whole library (bilevel, profiling, error curves, plot colours):
# each value names an estimator of Dx^(K) (or of Dx*) and carries its behaviour, in the
# manner of optimistix's ``adjoint=`` values. ``name`` is the label the book uses.

def _final(update, x0, u, num_steps):
    """x^(num_steps) as a pytree, storing no path."""
    x0, u, _, _ = _validate.inputs(x0, u)
    return _jax.run(update, _validate.float_fn(x0)(u) if callable(x0) else x0, u, num_steps)


@dataclasses.dataclass(frozen=True)
class Unrolled:
    r"""Differentiate through all K steps: :math:`Dx^{(K)}(u)` by forward mode (eq. 9) or
    reverse mode (eq. 12). Reverse mode stores the K iterates (Franceschi et al. 2017)."""
    name: ClassVar[str] = "unrolled"

    def stored_iterates(self, num_steps):
        """Iterates the reverse sweep keeps in memory."""
        return num_steps

    def jvp(self, update, x0, u, num_steps, v):
        r""":math:`Dx^{(K)}(u)\,v` (forward mode)."""
        return forward_mode(update, x0, u, num_steps, v=v)[-1]

    def vjp(self, update, x0, u, num_steps, w):
        r""":math:`w^\top Dx^{(K)}(u)` (reverse mode)."""
        return reverse_mode(update, x0, u, num_steps, w=w)[-1]


@dataclasses.dataclass(frozen=True)
class Truncated:
    r"""Differentiate through the last ``steps`` of the K steps only: late-started forward
    mode with :math:`T' = K -` ``steps`` (Mehmood et al. eq. 20), equal to reverse mode
    stopped at T' (Shaban et al. 2019). The whole derivative when K <= ``steps``."""
    steps: int
    name: ClassVar[str] = "truncated"

    def __post_init__(self):
        if _validate.num_steps(self.steps, "Truncated.steps") < 1:
            raise ValueError(f"Truncated.steps must be an int >= 1, got {self.steps}")

    def stored_iterates(self, num_steps):
        return min(self.steps, num_steps)

    def jvp(self, update, x0, u, num_steps, v):
        K = _validate.num_steps(num_steps)
        return forward_mode(update, x0, u, K, start=K - min(self.steps, K), v=v)[-1]

    def vjp(self, update, x0, u, num_steps, w):
        K = _validate.num_steps(num_steps)
        return reverse_mode(update, x0, u, K, stop=K - min(self.steps, K), w=w)[-1]


@dataclasses.dataclass(frozen=True)
class OneStep:
    r"""The last step only: :math:`\partial_u \mathcal A(x^{(K-1)}, u)` (Bolte et al. eq. 4),
    earlier steps treated as constants; the same as ``Truncated(1)`` for a constant x0."""
    name: ClassVar[str] = "one-step"

    def stored_iterates(self, num_steps):
        return min(1, num_steps)

    def _last_but_one(self, update, x0, u, num_steps):
        K = _validate.num_steps(num_steps)
        if K < 1:
            raise ValueError("OneStep needs num_steps >= 1 (it differentiates step K)")
        return _final(update, x0, u, K - 1)

    def jvp(self, update, x0, u, num_steps, v):
        return one_step_jacobian(update, self._last_but_one(update, x0, u, num_steps), u, v=v)

    def vjp(self, update, x0, u, num_steps, w):
        return one_step_jacobian(update, self._last_but_one(update, x0, u, num_steps), u, w=w)


@dataclasses.dataclass(frozen=True)
class Implicit:
    r"""The implicit function theorem at the last iterate: :math:`(I - B)^{-1} C` with B, C
    at :math:`(x^{(K)}, u)` (Mehmood et al. eq. 6; Pedregosa 2016)."""
    name: ClassVar[str] = "implicit"

    def stored_iterates(self, num_steps):
        return min(1, num_steps)

    def jvp(self, update, x0, u, num_steps, v):
        return implicit_jacobian(update, _final(update, x0, u, num_steps), u, v=v)

    def vjp(self, update, x0, u, num_steps, w):
        return implicit_jacobian(update, _final(update, x0, u, num_steps), u, w=w)


from ._adaptive import Adaptive  # noqa: E402  (chapter 6; the rule lives in _adaptive)
from ._adjoints import ConjugateGradientAdjoint, FixedPointAdjoint  # noqa: E402  (chapter 7)
from ._diagnostics import diagnose  # noqa: E402  (appendix: is the implicit derivative valid?)
