r"""Bilevel optimization by hypergradient descent (chapter 5, ``book/05_warm_starting``).

The bilevel problem (Mehmood et al. eq. 23; Bolte et al. eq. 9) is

.. math:: \min_u\; h(u) = \ell(x^*(u), u) \quad\text{s.t.}\quad x^*(u) = \mathcal A(x^*(u), u),

and its gradient, the *hypergradient*, follows from the chain rule:

.. math:: \nabla h(u) = Dx^*(u)^\top \nabla_x \ell(x^*(u), u) + \nabla_u \ell(x^*(u), u).

:func:`hypergradient_descent` is Algorithm 1 of Mehmood et al. (App. B): at each
outer step r the inner map is iterated until
:math:`\|x^{(k)} - x^{(k-1)}\| \le \varepsilon` (or a cap is hit), giving
:math:`K_r` steps; a hypergradient estimate :math:`d^{(r)}` is formed; then
:math:`u^{(r+1)} = u^{(r)} - \tau_r d^{(r)}` and the next inner solve starts from
:math:`x^{(K_r)}` (warm start) or from the fixed :math:`x^{(0)}` (cold start).

*How* :math:`Dx^*` is estimated is a value passed in (as ``adjoint=`` in optimistix):
:class:`Unrolled` (reverse mode through all :math:`K_r` steps), :class:`Truncated`
(through the last few steps only, Shaban et al. 2019), :class:`OneStep` (the last
step only, Bolte et al. eq. 10) and :class:`Implicit` (implicit function theorem at
:math:`x^{(K_r)}`, Pedregosa 2016); :class:`Adaptive` (chapter 6) picks its truncation.

Chapter 7: the approximate adjoints :class:`FixedPointAdjoint` and
:class:`ConjugateGradientAdjoint` solve the adjoint system
:math:`(I - B)^\top y = \nabla_x\ell` at :math:`x^{(K_r)}` by a few iterations and use
:math:`C^\top y` as the indirect term. ``warm_adjoint=True`` starts each adjoint solve
from the previous outer step's y (Arbel & Mairal 2022), and ``eps`` may be a schedule
:math:`r \mapsto \varepsilon_r`, an inexact inner solve whose tolerance tightens with r
(HOAG, Pedregosa 2016, converges when the tolerances are summable,
:math:`\sum_r \varepsilon_r < \infty`; a constant ε leaves the hypergradient error at a floor).

Loops: the inner solve is a ``lax.while_loop`` (its length is data dependent and it
is never differentiated). The reverse sweep (Mehmood et al. eq. 12) runs over the
stored iterates with a dynamic trip count (``lax.fori_loop``): it computes the
vector-Jacobian products itself instead of differentiating the loop, so one
compilation serves every :math:`K_r`. The last ``window`` iterates live in a
ring buffer, so truncated and one-step estimators store only what they use.
Problems are passed as :class:`jax.tree_util.Partial` objects so that the compiled
outer step is reused across calls with new data of the same shapes; the chapter's tasks
(:func:`ridge_task`, :func:`linear_task`) live in the private ``_bilevel_tasks``.
"""
import time
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree
from jax.tree_util import Partial

from . import _adaptive, _validate
from ._bilevel_tasks import linear_task, ridge_task   # the tasks (re-exported)
from .derivatives import (Adaptive, ConjugateGradientAdjoint, FixedPointAdjoint, Implicit,
                          OneStep, Truncated, Unrolled, forward_mode, implicit_jacobian, iterate)

__all__ = ["hypergradient", "hypergradient_descent", "evaluate_along",
           "outer_minimizer", "ridge_task", "linear_task"]


#: The approximate adjoints (chapter 7): the indirect term is C^T y, y carried along.
_ADJOINTS = (FixedPointAdjoint, ConjugateGradientAdjoint)


def _check_estimator(estimator):
    if not isinstance(estimator, (Unrolled, Truncated, OneStep, Implicit, Adaptive, *_ADJOINTS)):
        raise TypeError("estimator must be one of Unrolled(), Truncated(k), OneStep(), "
                        "Implicit(), Adaptive(), FixedPointAdjoint(k), "
                        f"ConjugateGradientAdjoint(k), got {estimator!r}")
    return estimator


# --------------------------------------------------------------------------- inner solve
def _tree_norm(tree):
    return jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in jax.tree.leaves(tree)))


def _solve(update, x0, u, eps, max_inner, window):
    r"""Iterate until :math:`\|x^{(k)} - x^{(k-1)}\| \le \varepsilon` or k = ``max_inner``.

    Returns :math:`x^{(K)}`, K, whether the tolerance was met, and a ring buffer
    holding :math:`x^{(k)}` at slot ``k % window`` for the last ``window`` k < K.
    """
    buf = jax.tree.map(lambda leaf: jnp.zeros((window,) + jnp.shape(leaf), leaf.dtype), x0)

    def cond(state):
        x, x_prev, k, _ = state
        moved = _tree_norm(jax.tree.map(jnp.subtract, x, x_prev))
        return (k == 0) | ((k < max_inner) & (moved > eps))

    def body(state):
        x, _, k, buf = state
        buf = jax.tree.map(lambda b, leaf: b.at[k % window].set(leaf), buf, x)
        return update(x, u), x, k + 1, buf

    x, x_prev, K, buf = lax.while_loop(cond, body, (x0, x0, 0, buf))
    converged = _tree_norm(jax.tree.map(jnp.subtract, x, x_prev)) <= eps
    return x, K, converged, buf


def _reverse_sweep(update, buf, K, u, x_bar, window, stop=0):
    r"""Mehmood et al. eq. 12 over the last min(K, window) steps: returns :math:`\bar u`.

    :math:`\bar u \mathrel{+}= \bar x C_k`, :math:`\bar x \leftarrow \bar x B_k` for
    k = K-1 down to max(K - window, stop), with the iterates read from the ring buffer.
    """
    def body(j, carry):
        x_bar, u_bar = carry
        x_k = jax.tree.map(lambda b: b[(K - 1 - j) % window], buf)
        _, pullback = jax.vjp(update, x_k, u)
        x_bar, u_part = pullback(x_bar)
        return x_bar, jax.tree.map(jnp.add, u_bar, u_part)

    u_bar0 = jax.tree.map(jnp.zeros_like, u)
    return lax.fori_loop(0, jnp.minimum(K, window) - stop, body, (x_bar, u_bar0))[1]


def _adaptive_stop(estimator, buf, x, K, window):
    """Adaptive(): T from the stored path x^(0..K) (rows k >= K hold x^(K)); others: 0."""
    if not isinstance(estimator, Adaptive):
        return 0
    rows = jnp.concatenate([_adaptive.flat_path(buf), ravel_pytree(x)[0][None]])
    path = jnp.where(jnp.arange(window + 1)[:, None] < K, rows, ravel_pytree(x)[0][None])
    return estimator.given_up(path, K)


def _estimate(update, outer_loss, x_init, u, eps, estimator, max_inner, y):
    """One inner solve and one hypergradient estimate (the body of Algorithm 1). ``y``
    (flat, size n) starts the adjoint solve of the approximate adjoints, which return
    their new y; the other estimators pass it through."""
    window = estimator.stored_iterates(max_inner)
    x, K, converged, buf = _solve(update, x_init, u, eps, max_inner, window)
    loss, (grad_x, grad_u) = jax.value_and_grad(outer_loss, argnums=(0, 1))(x, u)
    unravel_u = ravel_pytree(u)[1]
    if isinstance(estimator, Implicit):
        indirect = unravel_u(implicit_jacobian(update, x, u, w=grad_x))
    elif isinstance(estimator, _ADJOINTS):       # C^T y, (I - B)^T y = grad_x approximately
        u_bar, y = estimator.adjoint(update, x, u, grad_x, y)
        indirect = unravel_u(u_bar)
    else:
        stop = _adaptive_stop(estimator, buf, x, K, window)
        indirect = _reverse_sweep(update, buf, K, u, grad_x, window, stop)
    return jax.tree.map(jnp.add, grad_u, indirect), x, K, converged, loss, y


@partial(jax.jit, static_argnames=("estimator", "max_inner"))
def _outer_step(update, outer_loss, x_init, u, eps, tau, y, estimator, max_inner):
    """(u^(r+1), d^(r), x^(K_r), K_r, converged, loss, y): one step of Algorithm 1."""
    d, x, K, converged, loss, y = _estimate(update, outer_loss, x_init, u, eps, estimator,
                                            max_inner, y)
    u_next = jax.tree.map(lambda a, g: a - tau * g, u, d)
    return u_next, d, x, K, converged, loss, y


def _zero_adjoint(x):
    """The cold start y = 0 of the adjoint solve (flat, x's size and dtype)."""
    return jnp.zeros_like(ravel_pytree(x)[0])


@jax.jit
def _map(fn, us):
    """``fn`` at each entry of the stacked pytree ``us`` (one compilation per function, shapes)."""
    return jax.vmap(fn)(us)


def _as_partial(fn, name):
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {fn!r}")
    return fn if isinstance(fn, Partial) else Partial(fn)


def _scalar(value):
    """A strongly typed float scalar on the host (one compilation for every eps and tau)."""
    return np.asarray(float(value), dtype=jnp.result_type(float))


def _arrays(x0, u):
    """x0 and u as float arrays (strongly typed, so that every outer step reuses one
    compilation; integers and lists are taken as NumPy does)."""
    return _validate.floats(x0, "x0"), _validate.floats(u, "u")


def _check_inner(update, x0, u, max_inner, estimator):
    """Validate the inner-solve arguments (but eps); returns max_inner as an int."""
    if _validate.num_steps(max_inner, "max_inner") < 1:
        raise ValueError(f"max_inner must be an int >= 1, got {max_inner}")
    _validate.same_shape(jax.eval_shape(update, x0, u), x0, "update(x0, u)", "x0")
    leaves = jax.tree.leaves(x0)
    window = _check_estimator(estimator).stored_iterates(int(max_inner))
    _validate.memory([(window, sum(np.size(a) for a in leaves))], leaves[0].dtype,
                     "max_inner", max_inner, f"the {window} stored inner iterates",
                     "lower max_inner, or use Truncated(k), OneStep(), Implicit() or an "
                     "approximate adjoint")
    return int(max_inner)


def _check_finite(d, estimator, where):
    """Implicit(): a NaN estimate marks a singular I - B (see implicit_jacobian)."""
    if isinstance(estimator, Implicit) and not np.all(np.isfinite(np.asarray(d))):
        raise ValueError(f"Implicit(): the map is not a contraction at the inner solution "
                         f"{where}: I - d_x A(x, u) is singular there, so the implicit "
                         "hypergradient does not exist; solve the inner problem further "
                         "(lower eps, raise max_inner) or check that the map contracts")


def hypergradient(update, outer_loss, x0, u, *, estimator, eps, max_inner):
    r"""Solve the inner problem from ``x0`` and estimate :math:`\nabla h(u)` (one outer step).

    Args:
      update: the inner map :math:`\mathcal A(x, u)` (a function or a ``Partial``).
      outer_loss: :math:`\ell(x, u)`, scalar.
      x0: inner starting point; u: outer variable (arrays or pytrees).
      estimator: ``Unrolled()``, ``Truncated(k)``, ``OneStep()``, ``Implicit()``,
        ``Adaptive()``, ``FixedPointAdjoint(k)``, ``ConjugateGradientAdjoint(k)`` (chapter 7;
        the adjoint solve starts from y = 0).
      eps: inner tolerance > 0 on :math:`\|x^{(k)} - x^{(k-1)}\|`.
      max_inner: cap on the inner iterations, an int >= 1.

    Returns:
      ``(d, x, K)``: the estimate (structure of u), :math:`x^{(K)}` and K. Chapter 5.
    """
    x0, u = _arrays(x0, u)
    _validate.positive(eps, "eps")
    max_inner = _check_inner(update, x0, u, max_inner, estimator)
    _, d, x, K, _, _, _ = _outer_step(   # the outer step with tau = 0 (shares its compilation)
        _as_partial(update, "update"), _as_partial(outer_loss, "outer_loss"), x0, u,
        _scalar(eps), _scalar(0.0), _zero_adjoint(x0), estimator=estimator,
        max_inner=max_inner)
    _check_finite(jax.tree.leaves(d), estimator, f"x^(K), K = {int(K)}")
    return d, x, int(K)


class _History(NamedTuple):
    """Everything Algorithm 1 did, one row per outer step r = 0, ..., R-1.

    ``u`` has R + 1 rows (u^(0) ... u^(R)), flattened; ``hypergradient`` is (R, p);
    ``x`` (R, n) holds the last inner iterate x^(K_r); ``wall_time`` is in seconds
    (inner solve + hypergradient + outer step, compilation excluded);
    ``hypergradient_error`` is ||d^(r) - reference(u^(r))|| when a reference is given.
    """
    u: np.ndarray
    outer_loss: np.ndarray
    inner_steps: np.ndarray
    converged: np.ndarray
    hypergradient: np.ndarray
    x: np.ndarray
    wall_time: np.ndarray
    hypergradient_error: Optional[np.ndarray]


def _schedule(value, num_outer, name):
    """A number or a schedule ``r -> value_r`` (step sizes, tolerances) as the values for
    r = 0 ... R-1, each checked finite and > 0."""
    values = [value(r) if callable(value) else value for r in range(num_outer)]
    for r, v in enumerate(values):
        _validate.positive(v, name if not callable(value) else f"{name}({r})")
    return values


def _check_warm_adjoint(warm_adjoint, estimator):
    """warm_adjoint: a bool, and True only with an approximate adjoint (chapter 7)."""
    if not isinstance(warm_adjoint, (bool, np.bool_)):
        raise TypeError(f"warm_adjoint must be True or False, got {warm_adjoint!r}")
    if warm_adjoint and not isinstance(estimator, _ADJOINTS):
        raise ValueError("warm_adjoint=True carries the adjoint solution y from one outer step "
                         "to the next: it needs estimator=FixedPointAdjoint(k) or "
                         f"ConjugateGradientAdjoint(k), got {estimator!r}")
    return bool(warm_adjoint)


@partial(jax.jit, static_argnames=("estimator", "max_inner"))
def _outer_loop(update, outer_loss, x0, u0, epss, taus, warm_start, warm_adjoint, estimator,
                max_inner):
    """All R outer steps of Algorithm 1 in one compiled ``lax.scan`` over the tolerances
    and step sizes (``warm_start``, ``warm_adjoint`` are traced: one compilation)."""
    y0 = _zero_adjoint(x0)

    def body(carry, eps_tau):
        u, x, y = carry
        start = jax.tree.map(lambda a, b: jnp.where(warm_start, a, b), x, x0)
        u_next, d, x_new, K, converged, loss, y_new = _outer_step(
            update, outer_loss, start, u, *eps_tau, jnp.where(warm_adjoint, y, y0),
            estimator=estimator, max_inner=max_inner)
        return (u_next, x_new, y_new), (d, x_new, K, converged, loss, u)
    (u_last, _, _), cols = lax.scan(body, (u0, x0, y0), (epss, taus))
    return u_last, cols


def hypergradient_descent(update, outer_loss, x0, u0, *, step_size, num_outer, eps,
                          max_inner, estimator=Unrolled(), warm_start=True, warm_adjoint=False,
                          reference=None, timed=True):
    r"""Algorithm 1 of Mehmood et al. (App. B): hypergradient descent on :math:`h(u)`.

    For r = 0, ..., R-1: iterate :math:`x^{(k+1)} = \mathcal A(x^{(k)}, u^{(r)})` from the
    start point until :math:`\|x^{(k)} - x^{(k-1)}\| \le \varepsilon_r` (:math:`K_r` steps,
    at most ``max_inner``); estimate :math:`d^{(r)} \approx \nabla h(u^{(r)})` with
    ``estimator``; set :math:`u^{(r+1)} = u^{(r)} - \tau_r d^{(r)}`. The next start point
    is :math:`x^{(K_r)}` (``warm_start=True``, treated as a constant: its dependence on
    earlier u is not differentiated) or ``x0`` (cold start).

    Args:
      update, outer_loss, x0, u0, estimator, max_inner: as in :func:`hypergradient`.
      eps: :math:`\varepsilon`, a finite number > 0 or a schedule ``r -> eps_r`` (inexact
        inner solves with a tightening tolerance, HOAG: Pedregosa 2016; chapter 7).
      step_size: :math:`\tau`, a finite number > 0 or a schedule ``r -> tau_r``.
      num_outer: R, a non-negative int.
      warm_start: warm (True) or cold (False) start of every inner solve.
      warm_adjoint: with ``FixedPointAdjoint(k)`` or ``ConjugateGradientAdjoint(k)`` only:
        True starts each adjoint solve from the previous outer step's y (treated as a
        constant), False from y = 0 (Arbel & Mairal 2022; chapter 7).
      reference: optional exact hypergradient ``u -> grad h(u)`` for the error column.
      timed: True runs one compiled outer step at a time and records its wall time;
        False runs all R steps in one compiled loop (faster, e.g. for an explorer) and
        leaves ``wall_time`` NaN. Both compute the same iterates.

    Returns:
      A :class:`_History`. Chapter 5.
    """
    R = _validate.num_steps(num_outer, "num_outer")
    x0, u0 = _arrays(x0, u0)
    epss = _schedule(eps, R, "eps")
    max_inner = _check_inner(update, x0, u0, max_inner, estimator)
    warm_adjoint = _check_warm_adjoint(warm_adjoint, estimator)
    taus = _schedule(step_size, R, "step_size")
    update, outer_loss = _as_partial(update, "update"), _as_partial(outer_loss, "outer_loss")

    if not timed:
        def column(values):
            return np.array([float(v) for v in values], dtype=jnp.result_type(float))
        u_last, cols = _outer_loop(update, outer_loss, x0, u0, column(epss), column(taus),
                                   np.asarray(bool(warm_start)), np.asarray(warm_adjoint),
                                   estimator=estimator, max_inner=max_inner)
        d, x, K, converged, loss, u = jax.device_get(cols)
        rows = [tuple(jax.tree.map(lambda a, r=r: a[r], col) for col in (d, x, K, converged, loss))
                + (float("nan"), jax.tree.map(lambda a, r=r: a[r], u)) for r in range(R)]
        return _history(rows, u_last, reference, estimator)

    def step(x, u, eps, tau, y):  # positional arguments, as in hypergradient(): one cache entry
        return _outer_step(update, outer_loss, x, u, _scalar(eps), _scalar(tau), y,
                           estimator=estimator, max_inner=max_inner)
    y0 = _zero_adjoint(x0)
    if R:  # compile (and discard) before timing
        jax.block_until_ready(step(x0, u0, epss[0], taus[0], y0))
    rows, u, x, y = [], u0, x0, y0
    for eps_r, tau in zip(epss, taus):
        start = time.perf_counter()
        out = jax.block_until_ready(step(x if warm_start else x0, u, eps_r, tau,
                                         y if warm_adjoint else y0))
        rows.append(out[1:6] + (time.perf_counter() - start, u))
        u, x, y = out[0], out[2], out[6]
    return _history(rows, u, reference, estimator)


def _history(rows, u_last, reference, estimator):
    """Stack the per-step outputs of :func:`hypergradient_descent` into a _History."""
    def flat(tree):  # the leaves, flattened and concatenated on the host
        return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree.leaves(tree)])
    cols = list(zip(*rows)) if rows else [()] * 7
    us = [flat(u) for u in cols[6]] + [flat(u_last)]
    ds = np.array([flat(d) for d in cols[0]]).reshape(len(rows), us[0].size)
    for r, d in enumerate(ds):
        _check_finite(d, estimator, f"x^(K_r) of outer step r = {r}")
    errors = None
    if reference is not None and rows:
        refs = evaluate_along(reference, jax.tree.map(lambda *u: jnp.stack(u), *cols[6]))
        errors = np.linalg.norm(refs.reshape(ds.shape) - ds, axis=1)
    return _History(u=np.array(us), outer_loss=np.array(cols[4], dtype=float),
                   inner_steps=np.array(cols[2], dtype=int),
                   converged=np.array(cols[3], dtype=bool), hypergradient=ds,
                   x=np.array([flat(x) for x in cols[1]]),
                   wall_time=np.array(cols[5], dtype=float), hypergradient_error=errors)


def evaluate_along(fn, us):
    """``fn(u)`` at each outer iterate: ``us`` stacks them along a leading axis (e.g.
    ``_History.u[:, 0]`` for a scalar u). Returns the results flattened, one row each
    (shape (R,) for scalar results). Jit-compiled once per function and shapes."""
    out = _map(_as_partial(fn, "fn"), jax.tree.map(jnp.asarray, us))
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(out)]
    if len(leaves) == 1 and leaves[0].ndim == 1:
        return leaves[0]
    return np.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)


def outer_minimizer(hypergradient, lo, hi, tol=1e-10, num=65):
    r"""The zero of a scalar hypergradient in [lo, hi]: :math:`u^*` with :math:`\nabla h(u^*) = 0`.

    Assumes :math:`\nabla h(lo) < 0 < \nabla h(hi)`. Each round evaluates ``num`` points
    at once (one compilation) and keeps the cell where the sign changes, until it is
    narrower than ``tol``. Used as the exact outer solution of chapter 5's 1-d tasks.
    """
    lo, hi = float(lo), float(hi)
    _validate.positive(tol, "tol")
    g = evaluate_along(hypergradient, np.linspace(lo, hi, num))
    if not g[0] < 0 < g[-1]:
        raise ValueError("need hypergradient(lo) < 0 < hypergradient(hi), "
                         f"got {g[0]:.4g}, {g[-1]:.4g}")
    while hi - lo > tol:
        us = np.linspace(lo, hi, num)
        i = int(np.argmax(evaluate_along(hypergradient, us) >= 0))   # first u with grad >= 0
        lo, hi = us[max(i - 1, 0)], us[i]
    return 0.5 * (lo + hi)


def _hypergradient_path(update, outer_loss, x0, u, num_steps, start=0):
    r"""Hypergradient estimates after each differentiated step, from forward mode.

    With :math:`\dot X^{(j)}` = ``forward_mode(update, x0, u, num_steps, start)[j]``
    (j differentiated steps after ``start`` idle ones; x0 a constant),
    :math:`d_j = \dot X^{(j)\top} \nabla_x \ell(x^{(s+j)}, u) + \nabla_u \ell(x^{(s+j)}, u)`
    with s = ``start``.
    ``start=0`` is full unrolling from x0; ``start > 0`` is explicit truncation
    (late start, Mehmood et al. eq. 20); a warm start is ``x0`` near :math:`x^*(u)`.

    Returns:
      Array ``(num_steps - start + 1, p)``. Chapter 5.
    """
    xs = iterate(update, x0, u, num_steps)[start:]
    jac = forward_mode(update, x0, u, num_steps, start=start)          # (J, n, p)
    unravel_x = ravel_pytree(x0)[1]
    grads = jax.vmap(lambda x: ravel_pytree(jax.grad(outer_loss, argnums=(0, 1))(
        unravel_x(x), u))[0])(xs)                                         # (J, n + p)
    n = xs.shape[1]
    return jnp.einsum("jnp,jn->jp", jac, grads[:, :n]) + grads[:, n:]
