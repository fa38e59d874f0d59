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
``lax.while_loop`` would allow forward mode only.
"""
import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate

__all__ = ["iterate", "forward_mode", "reverse_mode", "implicit_jacobian",
           "one_step_jacobian"]


def _flat_problem(update, x0, u):
    """Flatten ``x``, ``u`` and the update map: returns (A_flat, x0_fn, x0, u)."""
    x_init = x0(u) if callable(x0) else x0
    x_flat, unravel_x = ravel_pytree(x_init)
    u_flat, unravel_u = ravel_pytree(u)
    out = jax.eval_shape(update, x_init, u)
    _validate.same_shape(out, x_init, "update(x0, u)", "x0")

    def A(x, u_):
        return ravel_pytree(update(unravel_x(x), unravel_u(u_)))[0]

    def x0_fn(u_):
        return ravel_pytree(x0(unravel_u(u_)))[0] if callable(x0) else x_flat

    return A, x0_fn, x_flat, u_flat


def _run(A, x, u, num_steps):
    """x^{(num_steps)} from x, without storing the path (idle iterations)."""
    return lax.fori_loop(0, num_steps, lambda _, x: A(x, u), x)


def _trajectory(A, x, u, num_steps):
    """The iterates x, A(x), ..., stacked: shape (num_steps + 1, n)."""
    def step(x, _):
        x_next = A(x, u)
        return x_next, x_next
    _, xs = lax.scan(step, x, None, length=num_steps)
    return jnp.concatenate([x[None], xs])


def iterate(update, x0, u, num_steps):
    r"""Iterates :math:`x^{(0)}, \dots, x^{(K)}` of :math:`x^{(k+1)} = \mathcal A(x^{(k)}, u)`.

    Args:
      update: the map ``(x, u) -> x`` (same structure in and out).
      x0: initial point (array or pytree), or a callable ``u -> x0``.
      u: parameters (array or pytree).
      num_steps: K, a non-negative int.

    Returns:
      Array of shape ``(K + 1, n)``: row k is the flattened :math:`x^{(k)}`.
      Chapter 1.
    """
    K = _validate.num_steps(num_steps)
    A, x0_fn, _, u_flat = _flat_problem(update, x0, u)
    return _trajectory(A, x0_fn(u_flat), u_flat, K)


def _tangent(v, u):
    """The flattened tangent direction ``v`` (shape of u), or None."""
    if v is None:
        return None
    _validate.same_shape(v, u, "v", "u")
    return ravel_pytree(v)[0]


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
    A, x0_fn, _, u_flat = _flat_problem(update, x0, u)
    v_flat = _tangent(v, u)
    x_start = _run(A, x0_fn(u_flat), u_flat, T)

    def jvp_step(x, x_dot, u_dot):  # (B x_dot + C u_dot, x_next)
        x_next, x_dot_next = jax.jvp(A, (x, u_flat), (x_dot, u_dot))
        return x_next, x_dot_next

    if v_flat is None:
        eye = jnp.eye(u_flat.size, dtype=u_flat.dtype)
        X_dot0 = jax.jacfwd(x0_fn)(u_flat)                      # (n, p)
        step_cols = jax.vmap(jvp_step, in_axes=(None, 1, 1), out_axes=(None, 1))
        tangents = (X_dot0, eye)
    else:
        X_dot0 = jax.jvp(x0_fn, (u_flat,), (v_flat,))[1]       # (n,)
        step_cols = jvp_step
        tangents = (X_dot0, v_flat)

    def step(carry, _):
        x, X_dot = carry
        x_next, X_dot_next = step_cols(x, X_dot, tangents[1])
        return (x_next, X_dot_next), X_dot_next

    _, X_dots = lax.scan(step, (x_start, tangents[0]), None, length=K - T)
    return jnp.concatenate([tangents[0][None], X_dots])


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
    (:math:`D x^{(0)}(u)` otherwise).

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
    A, x0_fn, x_like, u_flat = _flat_problem(update, x0, u)
    x_init = x0_fn(u_flat)
    if w is None:
        X_bar = jnp.eye(x_like.size, dtype=x_like.dtype)                 # rows: cotangents
    else:
        _validate.same_shape(w, x0(u) if callable(x0) else x0, "w", "x")
        X_bar = ravel_pytree(w)[0][None]
    xs = _trajectory(A, _run(A, x_init, u_flat, T), u_flat, K - T)[:-1]  # x^{(T..K-1)}

    def vjp_rows(x, X_bar):  # rows of (X_bar B_k, X_bar C_k)
        _, pullback = jax.vjp(A, x, u_flat)
        return jax.vmap(pullback)(X_bar)

    def step(carry, x):
        X_bar, U_bar = carry
        X_bar_prev, C_part = vjp_rows(x, X_bar)
        U_bar_prev = U_bar + C_part
        return (X_bar_prev, U_bar_prev), (U_bar_prev, X_bar_prev)

    U_bar_K = jnp.zeros((X_bar.shape[0], u_flat.size), dtype=u_flat.dtype)
    _, (U_bars, X_bars) = lax.scan(step, (X_bar, U_bar_K), xs, reverse=True)
    # scan(reverse=True) stacks outputs in index order k = T..K-1; flip to K-1..T.
    out = jnp.concatenate([U_bar_K[None], U_bars[::-1]])               # (K-T+1, rows, p)
    if callable(x0):  # add X_bar^{(k)} D x^{(0)}(u), with X_bar^{(K)} = the seed
        _, pull0 = jax.vjp(x0_fn, u_flat)
        X_bars = jnp.concatenate([X_bar[None], X_bars[::-1]])
        out = out + jax.vmap(jax.vmap(lambda row: pull0(row)[0]))(X_bars)
    return out[:, 0, :] if w is not None else out


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
    if v is not None and w is not None:
        raise ValueError("give at most one of v (tangent) and w (cotangent)")
    A, x_flat, u_flat = _partials(update, x, u)
    I_minus_B = jnp.eye(x_flat.size, dtype=x_flat.dtype) - jax.jacfwd(A, 0)(x_flat, u_flat)
    if w is not None:
        _validate.same_shape(w, x, "w", "x")
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
    if v is not None and w is not None:
        raise ValueError("give at most one of v (tangent) and w (cotangent)")
    A, x_flat, u_flat = _partials(update, x, u)
    A_u = lambda u_: A(x_flat, u_)  # noqa: E731
    if w is not None:
        _validate.same_shape(w, x, "w", "x")
        return jax.vjp(A_u, u_flat)[1](ravel_pytree(w)[0])[0]
    if v is not None:
        return jax.jvp(A_u, (u_flat,), (_tangent(v, u),))[1]
    return jax.jacfwd(A_u)(u_flat)
