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
(``book/02_unrolling``); truncation in chapter 4.

``x`` and ``u`` may be arrays or pytrees. Jacobians are matrices over the
flattened ``x`` (size ``n``) and ``u`` (size ``p``). The initial point ``x0`` is
either a value (then :math:`D x^{(0)} = 0`) or a callable ``x0(u)``.

``lax.scan`` allows both forward- and reverse-mode autodiff through the loop;
``lax.while_loop`` would allow forward mode only. Each estimator runs as one
``jax.jit``-compiled program with the update map (and a callable x0) static: an
eager call with an update map used before reuses the compiled loop; the
functions also work inside ``jax.jit``, ``jax.vmap`` and ``jax.grad``. num_steps,
start and stop are Python ints (static).
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate

__all__ = ["iterate", "forward_mode", "reverse_mode", "implicit_jacobian",
           "one_step_jacobian"]


def _arrays(tree):
    """Leaves as strongly typed arrays (a Python float u becomes a float64 array)."""
    return jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.result_type(a)), tree)


def _setup(update, x0, u):
    """(x^{(0)}(u), u) as pytrees of arrays, after checking update(x0, u) has x0's shape."""
    u = _arrays(u)
    x_init = _arrays(x0(u) if callable(x0) else x0)
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


def _flat(tree):
    """The pytree as one flat vector."""
    return ravel_pytree(tree)[0]


def _flat_rows(tree):
    """A pytree with a leading batch axis as a matrix, one flat row per batch entry."""
    return jax.vmap(_flat)(tree)


def _cast_like(value, like):
    """``value`` (a tangent or cotangent) with the dtypes of ``like``."""
    return jax.tree.map(lambda a, b: jnp.asarray(a, dtype=b.dtype), value, like)


def _basis(tree):
    """The standard basis of the flattened ``tree``, as a pytree with a leading axis."""
    flat, unravel = ravel_pytree(tree)
    return jax.vmap(unravel)(jnp.eye(flat.size, dtype=flat.dtype))


def _stack(first, stacked, last):
    """Rows ``first``, ``stacked[:-1]``, ``last`` (where ``stacked[-1] == last``).

    The last row is taken from the loop's final carry rather than from the stacked
    outputs, so that a jitted caller keeping only ``[-1]`` lets XLA drop the stacked
    buffer: then ``iterate(...)[-1]`` is a plain loop with O(n) memory.
    """
    if stacked.shape[0] == 0:
        return first[None]
    return jnp.concatenate([first[None], stacked[:-1], last[None]])


def _run(update, x, u, num_steps):
    """x^{(num_steps)} from x, without storing the path (idle iterations)."""
    return lax.fori_loop(0, num_steps, lambda _, x: update(x, u), x)


def _path(update, x, u, num_steps):
    """The inputs x, A(x), ..., of num_steps steps, stacked pytree (num_steps leading)."""
    return lax.scan(lambda x, _: (update(x, u), x), x, None, length=num_steps)[1]


def _compiled(*static_argnums):
    """Decorator: run the function through ``jax.jit`` with the given arguments static
    (the update map, a callable x0, step counts), falling back to plain tracing when
    one of them is not hashable.

    An eager ``lax.scan`` (or ``jax.jacfwd``) compiles on every call; this way a call
    with an update map seen before reuses the compiled program.
    """
    def decorate(core):
        jitted = jax.jit(core, static_argnums=static_argnums)

        @functools.wraps(core)
        def call(*args):
            try:
                hash(tuple(args[i] for i in static_argnums))
            except TypeError:
                return core(*args)
            return jitted(*args)
        return call
    return decorate


def _split(x0):
    """(x0_fn, x0_value): a callable x0 goes to the static slot, a value to the traced one."""
    return (x0, None) if callable(x0) else (None, x0)


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
    return _iterate(update, *_split(x0), u, _validate.num_steps(num_steps))


@_compiled(0, 1, 4)
def _iterate(update, x0_fn, x0_value, u, K):
    x_init, u = _setup(update, x0_fn or x0_value, u)

    def step(x, _):
        x_next = update(x, u)
        return x_next, _flat(x_next)
    x_K, xs = lax.scan(step, x_init, None, length=K)
    return _stack(_flat(x_init), xs, _flat(x_K))


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
    K = _validate.num_steps(num_steps)
    T = _validate.index(start, K, "start")
    if v is not None:
        _validate.same_shape(v, u, "v", "u")
    return _forward_mode(update, *_split(x0), u, v, K, T)


@_compiled(0, 1, 5, 6)
def _forward_mode(update, x0_fn, x0_value, u, v, K, T):
    x0 = x0_fn or x0_value
    x_init, u = _setup(update, x0, u)

    def jvp_step(x, x_dot, u_dot):  # (A(x, u), B x_dot + C u_dot)
        return jax.jvp(update, (x, u), (x_dot, u_dot))

    if v is None:  # one tangent per coordinate of u, batched along a leading axis
        u_dot = _basis(u)
        step_cols = jax.vmap(jvp_step, in_axes=(None, 0, 0), out_axes=(None, 0))
        X_dot0 = jax.vmap(lambda t: _x0_tangent(x0, x_init, u, t))(u_dot)

        def flat(X_dot):  # (n, p)
            return _flat_rows(X_dot).T
    else:
        u_dot, step_cols, flat = _cast_like(v, u), jvp_step, _flat
        X_dot0 = _x0_tangent(x0, x_init, u, u_dot)

    def step(carry, _):
        x_next, X_dot_next = step_cols(*carry, u_dot)
        return (x_next, X_dot_next), flat(X_dot_next)

    x_start = _run(update, x_init, u, T)
    (_, X_dot_K), X_dots = lax.scan(step, (x_start, X_dot0), None, length=K - T)
    return _stack(flat(X_dot0), X_dots, flat(X_dot_K))


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
    K = _validate.num_steps(num_steps)
    T = _validate.index(stop, K, "stop")
    if w is not None:
        _validate.same_shape(w, x0(u) if callable(x0) else x0, "w", "x")
    return _reverse_mode(update, *_split(x0), u, w, K, T)


@_compiled(0, 1, 5, 6)
def _reverse_mode(update, x0_fn, x0_value, u, w, K, T):
    x0 = x0_fn or x0_value
    x_init, u = _setup(update, x0, u)
    if w is None:  # one cotangent per coordinate of x, batched along a leading axis
        X_bar = _basis(x_init)
        n = _flat(x_init).size
        U_bar = jax.tree.map(lambda a: jnp.zeros((n,) + a.shape, a.dtype), u)
        pull, flat = (lambda pullback, rows: jax.vmap(pullback)(rows)), _flat_rows
    else:
        X_bar, U_bar = _cast_like(w, x_init), jax.tree.map(jnp.zeros_like, u)
        pull, flat = (lambda pullback, row: pullback(row)), _flat
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

    xs = _path(update, _run(update, x_init, u, T), u, K - T)          # x^{(T..K-1)}
    (X_bar_T, U_bar_T), entries = lax.scan(step, (X_bar, U_bar), xs, reverse=True)
    # scan(reverse=True) stacks entries in index order k = T..K-1; flip to K-1..T.
    return _stack(entry(X_bar, U_bar), entries[::-1], entry(X_bar_T, U_bar_T))


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
    """
    _check_direction(x, u, v, w)
    return _implicit_jacobian(update, x, u, v, w)


def _check_direction(x, u, v, w):
    """At most one of a tangent ``v`` (shaped like u) and a cotangent ``w`` (shaped like x)."""
    if v is not None and w is not None:
        raise ValueError("give at most one of v (tangent) and w (cotangent)")
    if w is not None:
        _validate.same_shape(w, x, "w", "x")
    if v is not None:
        _validate.same_shape(v, u, "v", "u")


@_compiled(0)
def _implicit_jacobian(update, x, u, v, w):
    A, x_flat, u_flat = _partials(update, x, u)
    I_minus_B = jnp.eye(x_flat.size, dtype=x_flat.dtype) - jax.jacfwd(A, 0)(x_flat, u_flat)
    if w is not None:
        y = jnp.linalg.solve(I_minus_B.T, ravel_pytree(w)[0])          # y = (I - B)^{-T} w
        return jax.vjp(lambda u_: A(x_flat, u_), u_flat)[1](y)[0]
    if v is not None:
        c_v = jax.jvp(lambda u_: A(x_flat, u_), (u_flat,), (_tangent(v, u),))[1]
        return jnp.linalg.solve(I_minus_B, c_v)
    return jnp.linalg.solve(I_minus_B, jax.jacfwd(A, 1)(x_flat, u_flat))


def one_step_jacobian(update, x, u, v=None, w=None):
    r"""One-step estimator :math:`C = \partial_u \mathcal A(x, u)` (Bolte et al. eq. 4).

    The caller evaluates it at the last-but-one iterate :math:`x^{(K-1)}`: it is the
    derivative of the last step alone, earlier steps treated as constants
    (``stop_gradient``). Exact at the fixed point when :math:`\partial_x \mathcal A = 0`
    there (Newton's method). With ``v`` returns :math:`C v`; with ``w`` returns
    :math:`w^\top C`. Chapters 2 and 4.
    """
    _check_direction(x, u, v, w)
    return _one_step_jacobian(update, x, u, v, w)


@_compiled(0)
def _one_step_jacobian(update, x, u, v, w):
    A, x_flat, u_flat = _partials(update, x, u)
    A_u = lambda u_: A(x_flat, u_)  # noqa: E731
    if w is not None:
        return jax.vjp(A_u, u_flat)[1](ravel_pytree(w)[0])[0]
    if v is not None:
        return jax.jvp(A_u, (u_flat,), (_tangent(v, u),))[1]
    return jax.jacfwd(A_u)(u_flat)
