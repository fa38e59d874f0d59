r"""Chapter 4 (``book/04_truncation``): truncation, late starts and one-step differentiation.

**The App. C experiment.** Least squares :math:`f(x, u) = \tfrac12\|Ax - b\|^2` in
its data :math:`u = (A, b)`, :math:`A \in \mathbb R^{M\times N}` with U(0, 1)
entries, :math:`b` with N(0, 1) entries (:func:`unrolling.problems.least_squares_instance`),
solved by gradient descent from a start :math:`x^{(0)}` the paper does not state (an
argument: ``jax.random.uniform`` for U(0, 1) entries, where the paper's curse appears,
or ``0.0``, where it does not; see :func:`truncation_sweep`) with a step given as a function
of (L, m), e.g. :math:`\alpha = 2/(L+m)` or :math:`1/(3L)`, where L and m are the
extreme eigenvalues of :math:`H = A^\top A`. Per draw,
:math:`\rho^* = (L-m)/(L+m)` and :math:`K = \min(\lceil\log(10^{-3})/\log\rho^*\rceil, 1000)`.
For each truncation fraction f, :math:`T = \mathrm{round}(fK)` derivative steps are
given up and reallocated (:func:`unrolling.budget.reallocate`): the algorithm runs
:math:`K' = K + \omega T` steps and the derivative recursion starts at
:math:`T' = T + \omega T`. Forward mode (Mehmood et al. eq. 20) propagates the JVP
:math:`\dot X^{(k)}_{T'} v` and reverse mode (eq. 12) the VJP :math:`w^\top \bar U^{(k)}_{K'}`
for random directions v (shape of u) and w (shape of x), one pair per draw (unit
norm by default; another law is an argument).

**Per-draw K, vectorized.** K depends on the draw through :math:`\rho^*`, so the
draws do not share K, T, T' or K'. We keep the paper's per-draw definitions and
vectorize over the draws with :func:`jax.vmap` anyway: every draw runs for the same
static horizon (the largest K' over the draws of one N) and each row of the forward
recursion is *masked* — active for :math:`T' \le k < K'`, zero before, frozen after.
Curves of different draws are compared at the same *fraction of their own K*: each
curve is sampled at ``num_points`` points evenly spaced between its two ends (so the
end points, the final errors, are exact) and plotted against :math:`k/K`. For
N >= 30 every draw has K = 1000, so k/K is the iteration count divided by 1000.
Medians and quartiles over the draws are taken point by point; the per-draw final
errors are kept too.

The batched fast path that makes the sweep cheap lives in the private module
``_appendix_c`` (and is tested against :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`).

**Also here.** The late-start demo on a quadratic (Theorem 8 drawn over measured
errors), the budget reallocation curves, and Bolte et al.'s Corollary 1 against the
measured one-step error of :math:`F^K` on weighted ridge (:func:`ridge_one_step_errors`).
The one-step estimator itself is :func:`unrolling.one_step_jacobian` (or
:func:`unrolling.derivatives.truncated_solution` with ``last=1``); Newton with a line
search is :func:`unrolling.methods.newton_line_search`; the errors of the four
estimators along a run are :func:`unrolling.errors.estimator_errors`; their timing is
:func:`unrolling.profiling.time_hypergradients`. Chapter 4.
"""

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate, bounds, budget, data, problems
from .methods import gradient_descent
from ._appendix_c import _bound_optima, _rotated, _sweep_draws, _top_split

__all__ = ["PAPER_RHO", "truncation_sweep",
           "reallocated_final_errors", "demo_quadratic", "late_start_errors",
           "budget_curves", "ridge_one_step_errors"]

#: ρ printed in the captions of Mehmood et al. Figs. 3-14, by N.
PAPER_RHO = {2: 0.763526, 5: 0.921979, 10: 0.974362, 20: 0.993876, 30: 0.998509,
             40: 0.999722}

FRACTIONS = tuple(j / 10 for j in range(9))


class _SweepResult(NamedTuple):
    r"""Error curves of one setting (N, step, start) of the App. C sweep.

    x positions are in units of each draw's own K (k / K); curves have one row per
    truncation fraction. ``*_err`` are medians over the draws, ``*_band`` their 25 % and
    75 % quantiles (leading axis 2). ``*_final`` are medians of the per-draw final errors
    ``*_finals`` (D, J): forward at :math:`k = K'`, reverse at :math:`k = T'`, iterates at
    :math:`k = K'`. ``e0``/``edot0`` are the per-draw :math:`\|x^{(0)} - x^*\|` and
    :math:`\|Dx^*v\|`. ``bound_final`` is the median of the per-draw eq. (22) bound
    (Theorem 8 along v), ``bound_ok`` whether it dominated the forward final error in
    every draw. ``top_*``, ``x_star_top``, ``x0_top`` and ``split`` describe the top
    eigen-direction :math:`q_L` of :math:`A^\top A`, where the curse lives (chapter 4).
    """
    N: int
    fractions: np.ndarray
    omega: float
    rho_star: np.ndarray       # (D,) per draw
    K: np.ndarray              # (D,) per draw
    iterate_x: np.ndarray      # (Q,)
    iterate_err: np.ndarray    # (Q,)
    iterate_band: np.ndarray   # (2, Q)
    forward_x: np.ndarray      # (J, P)
    forward_err: np.ndarray    # (J, P)
    forward_band: np.ndarray   # (2, J, P)
    reverse_x: np.ndarray      # (J, P)
    reverse_err: np.ndarray    # (J, P)
    reverse_band: np.ndarray   # (2, J, P)
    forward_finals: np.ndarray  # (D, J)
    reverse_finals: np.ndarray  # (D, J)
    forward_final: np.ndarray  # (J,)
    reverse_final: np.ndarray  # (J,)
    iterate_final: np.ndarray  # (J,)
    e0: np.ndarray             # (D,)
    edot0: np.ndarray          # (D,)
    top_cosine: np.ndarray     # (D,) |<q_L, 1/sqrt(N)>|, q_L the top eigenvector of A^T A
    top_ratio: np.ndarray      # (D,) L / second largest eigenvalue
    x_star_top: np.ndarray     # (D,) |<x*, q_L>|
    x0_top: np.ndarray         # (D,) |<x0, q_L>|
    split: tuple               # (k, top, rest) or None, see truncation_sweep's split_at
    bound_final: np.ndarray    # (J,)
    bound_ok: bool
    best_fraction_bound: float    # median over draws of argmin_T eq. (22) / K (integer T)
    best_fraction_relaxed: float  # the same for the relaxed problem (Lemma 11)

    def best_fraction(self, mode="forward"):
        """T/K with the smallest median final error of ``mode`` (a field prefix)."""
        return float(self.fractions[np.argmin(getattr(self, f"{mode}_final"))])


def _appendix_c_plan(rho_star, fractions=FRACTIONS, omega=3.0, tol=1e-3, max_K=1000):
    r"""Per-draw integers of App. C: K, and T, T', K' for each truncation fraction.

    :math:`K = \min(\lceil \log(\mathrm{tol})/\log\rho^*\rceil, \mathrm{max\_K})`,
    :math:`T = \mathrm{round}(fK)`, :math:`(K', T')` = ``budget.reallocate(K, T, omega)``.

    Returns:
      ``(K, T, T_prime, K_prime)``: int arrays of shapes (D,), (D, J), (D, J), (D, J).
    """
    rho_star = np.asarray(rho_star, dtype=float)
    if np.any((rho_star <= 0) | (rho_star >= 1)):
        raise ValueError("rho_star must lie in (0, 1)")
    K = np.minimum(np.ceil(np.log(tol) / np.log(rho_star)), max_K).astype(int)
    T = np.rint(np.outer(K, np.asarray(fractions, dtype=float))).astype(int)
    pairs = [[budget.reallocate(int(k), int(t), omega) for t in row] for k, row in zip(K, T)]
    K_prime = np.array([[p[0] for p in row] for row in pairs], dtype=int).reshape(T.shape)
    T_prime = np.array([[p[1] for p in row] for row in pairs], dtype=int).reshape(T.shape)
    return K, T, T_prime, K_prime


def truncation_sweep(key, N, step, x0, *, num_draws=100, M=50, omega=3.0,
                     fractions=FRACTIONS, tol=1e-3, max_K=1000, num_points=32,
                     num_grid=160, directions=None, split_at=None):
    r"""One setting (N, step, start) of Mehmood et al. App. C: error curves per T.

    Args:
      key: PRNG key of the draws (:func:`unrolling.data.appendix_c_draws`; the start
        uses ``fold_in(key, 1)``).
      N: columns of A (M rows).
      step: the step size as a function of the extreme eigenvalues (L, m) of
        :math:`A^\top A`, e.g. ``lambda L, m: 2 / (L + m)`` or ``lambda L, m: 1 / (3 * L)``.
      x0: the start :math:`x^{(0)}` (constant in u): an array broadcast to (num_draws, N)
        (``0.0`` for the origin), or a law ``x0(key, shape)`` such as
        ``jax.random.uniform`` (U(0, 1) entries, one start per draw).
      num_draws: random instances (the paper: 100); omega: cost ratio ω (the paper: 3).
      fractions: truncation fractions T/K (the paper: 0, 0.1, ..., 0.8).
      tol, max_K: K = min(ceil(log(tol)/log ρ*), max_K).
      num_points: samples per derivative curve; num_grid: samples of the iterate curve.
      directions: the law of v and w (see :func:`unrolling.data.appendix_c_draws`).
      split_at: iterations k (any, also beyond K) at which to split the forward-mode
        error without truncation into its component along :math:`q_L` and the rest
        (medians over the draws, field ``split``); None: not computed.

    **Where the curse lives.** With U(0, 1) entries, :math:`A \approx \tfrac12\mathbf 1
    \mathbf 1^\top` + noise, so :math:`A^\top A` has one outlier eigenvalue L whose
    eigenvector :math:`q_L` is close to :math:`\mathbf 1/\sqrt N`. Along :math:`q_L` the
    forward error carries :math:`-\alpha k\beta_L^{k-1}\dot H_{LL}(x^{(0)} - x^*)\cdot q_L`,
    :math:`|\beta_L| = |1 - \alpha L|`, largest near :math:`k \approx 1/(1 - |\beta_L|)`: as
    large as the start's offset along :math:`q_L` (:func:`_appendix_c._top_split`).

    Returns:
      A :class:`_SweepResult` (medians, quartiles and per-draw final errors).
    """
    A, b, v, w = data.appendix_c_draws(key, num_draws, M, N, directions=directions)
    lam = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", A, A))
    L, m = lam[:, -1], lam[:, 0]
    rho_star = (L - m) / (L + m)
    alpha = _step(step, L, m)
    rho = np.asarray(bounds.gd_contraction(alpha, L, m))
    r = _rotated(A, b, v, w, alpha, _start(x0, key, (num_draws, N)))
    K, T, T_prime, K_prime = _appendix_c_plan(rho_star, fractions, omega, tol, max_K)
    horizon = int(K_prime.max())
    q_grid = np.linspace(0.0, float((K_prime / K[:, None]).max()), num_grid)
    out = _sweep_draws(r, alpha, K, T_prime, K_prime, q_grid, horizon=horizon,
                       num_points=num_points)
    out = {name: np.asarray(val) for name, val in out.items()}
    e0, edot0 = (np.linalg.norm(r["y0"] - r["y_star"], axis=-1),
                 np.linalg.norm(r["t_star"], axis=-1))
    consts = (rho, r["gamma_v"], e0, edot0)
    bound = np.asarray(bounds.truncation_objective(T, K[:, None], omega,
                                                   *(c[:, None] for c in consts)))
    best, relaxed = _bound_optima(K, omega, *consts, max_K=max_K)
    split = None if split_at is None else _split(r, alpha, split_at)
    med = {name: np.median(val, axis=0) for name, val in out.items()}
    band = {name: np.percentile(out[name], [25, 75], axis=0)
            for name in ("iterate", "forward", "reverse")}
    f = np.asarray(fractions, dtype=float)[:, None]
    s = np.linspace(0.0, 1.0, num_points)[None]
    start, end = f * (1 + omega), 1 + omega * f                 # T'/K and K'/K
    return _SweepResult(
        N=N, fractions=f[:, 0], omega=omega, rho_star=rho_star, K=K,
        iterate_x=q_grid, iterate_err=med["iterate"], iterate_band=band["iterate"],
        forward_x=start + s * (end - start), forward_err=med["forward"],
        forward_band=band["forward"], reverse_x=end - s * (end - start),
        reverse_err=med["reverse"], reverse_band=band["reverse"],
        forward_finals=out["forward_final"], reverse_finals=out["reverse_final"],
        forward_final=med["forward_final"], reverse_final=med["reverse_final"],
        iterate_final=med["iterate_final"], e0=e0, edot0=edot0,
        top_cosine=np.abs(r["q_top"].sum(-1)) / np.sqrt(N), top_ratio=L / lam[:, -2],
        x_star_top=np.abs(r["y_star"][:, -1]), x0_top=np.abs(r["y0"][:, -1]), split=split,
        bound_final=np.median(bound, axis=0),
        bound_ok=bool(np.all(bound >= out["forward_final"] * (1 - 1e-9))),
        best_fraction_bound=float(np.median(best)),
        best_fraction_relaxed=float(np.median(relaxed)))


def _split(r, alpha, split_at):
    """(k, top, rest): medians over the draws of :func:`_appendix_c._top_split`."""
    k = np.asarray(split_at, dtype=int)
    top, rest = jax.jit(jax.vmap(_top_split, in_axes=(0, 0, None)))(r, alpha, jnp.asarray(k))
    return k, np.median(np.asarray(top), 0), np.median(np.asarray(rest), 0)


def _step(step, L, m):
    """The per-draw step ``step(L, m)``, checked to make gradient descent contract."""
    alpha = np.broadcast_to(np.asarray(step(L, m), dtype=float), L.shape)
    if np.any((alpha <= 0) | (alpha * L >= 2)):
        raise ValueError("step(L, m) must lie in (0, 2/L) for every draw (a contraction)")
    return alpha


def _start(x0, key, shape):
    """The starts of the draws: ``x0(fold_in(key, 1), shape)`` for a law, else ``x0``
    broadcast to ``shape``."""
    if callable(x0):
        return np.asarray(x0(jax.random.fold_in(key, 1), shape), dtype=float)
    return np.broadcast_to(np.asarray(x0, dtype=float), shape)


def _full_sweep(key, steps, starts, Ns=(2, 5, 10, 20, 30, 40), **kwargs):
    """The whole App. C sweep: ``{(N, step label, start label): _SweepResult}`` for the
    dicts ``steps`` (label -> step function) and ``starts`` (label -> x0), all with the
    same ``key`` (every step and start sees the same draws; draws of different N are
    nested, see :func:`unrolling.data.appendix_c_draws`). ``kwargs`` go to
    :func:`truncation_sweep`."""
    return {(N, s, x): truncation_sweep(key, N, steps[s], starts[x], **kwargs)
            for N in Ns for s in steps for x in starts}


def _late_start_tangents(update, x0, u, v, starts, stops, horizon):
    r"""Late-started forward mode for several (T', K') pairs in one masked pass.

    Row j follows eq. (20): :math:`\dot X^{(k+1)} v = B_k\dot X^{(k)} v + C_k v` for
    :math:`T'_j \le k < K'_j`, zero before (constant x0: :math:`Dx^{(0)} = 0`), frozen after,
    so that row j at index :math:`K'_j` equals
    ``forward_mode(update, x0, u, K'_j, start=T'_j, v=v)[-1]``. ``starts``/``stops`` may be
    traced (jit once, move them freely); ``horizon`` (static) must be >= max K'.

    Returns:
      ``(xs, tangents)`` of shapes (horizon + 1, n) and (horizon + 1, J, n).
    """
    starts, stops = jnp.atleast_1d(starts), jnp.atleast_1d(stops)
    x_flat, unravel_x = ravel_pytree(x0)
    u_flat, unravel_u = ravel_pytree(u)
    v_flat = ravel_pytree(v)[0]

    def A(x, u_):
        return ravel_pytree(update(unravel_x(x), unravel_u(u_)))[0]

    def step(carry, k):
        x, t = carry
        x_next, Cv = jax.jvp(lambda u_: A(x, u_), (u_flat,), (v_flat,))
        Bt = jax.vmap(lambda ti: jax.jvp(lambda x_: A(x_, u_flat), (x,), (ti,))[1])(t)
        on = ((k >= starts) & (k < stops))[:, None]
        t_next = jnp.where(on, Bt + Cv[None], t)
        return (x_next, t_next), (x_next, t_next)

    t0 = jnp.zeros((starts.shape[0], x_flat.size), x_flat.dtype)
    _, (xs, ts) = lax.scan(step, (x_flat, t0), jnp.arange(horizon))
    return jnp.concatenate([x_flat[None], xs]), jnp.concatenate([t0[None], ts])


def reallocated_final_errors(update, x0, u, v, jvp_star, K, Ts, omega):
    r"""Final forward-mode errors :math:`\|\dot X^{(K-T)}_{T'} v - Dx^* v\|` under a fixed budget.

    For each T in ``Ts``: :math:`(K', T')` = ``budget.reallocate(K, T, omega)``, the
    recursion starts at T' and stops at K' (eq. 22's setting, measured instead of bounded).
    Returns an array of shape (len(Ts),).
    """
    pairs = np.array([budget.reallocate(K, int(T), omega) for T in Ts])
    K_prime, T_prime = pairs[:, 0], pairs[:, 1]
    _, ts = _late_start_tangents(update, x0, u, v, T_prime, K_prime, int(K_prime.max()))
    finals = ts[K_prime, np.arange(len(K_prime))]
    return jnp.linalg.norm(finals - ravel_pytree(jvp_star)[0][None], axis=-1)


class _Demo(NamedTuple):
    """The chapter-4 demo problem (see :func:`demo_quadratic`): data, step and the constants
    of Mehmood et al.'s Theorems 7-8; ``problem`` and ``update`` are built on access."""
    eigenvalues: jax.Array
    c: jax.Array
    u: float
    step: float
    rho: float
    gamma: float
    e0: float
    edot0: float

    @property
    def problem(self):
        return problems.quadratic(jnp.diag(self.eigenvalues), self.c)

    @property
    def update(self):
        return gradient_descent(self.problem.f, self.step)

    @property
    def x0(self):
        return jnp.zeros_like(self.c)


def demo_quadratic(dim=10, L=1.0, mu=0.01, u=0.0):
    r"""Gradient descent on :math:`f(x, u) = \tfrac12 x^\top(H_0 + uI)x - c^\top x` with a visible curse.

    :math:`H_0 = \mathrm{diag}(\lambda)`, λ geometric in [mu, L]
    (:func:`unrolling.curse.geometric_spectrum`), solution weights
    :math:`x^*(0) = \lambda/\lambda_{\min}` (:func:`unrolling.curse.flat_derivative_weights`,
    so every eigen-direction carries the same share of :math:`Dx^*`), :math:`x^{(0)} = 0`,
    step :math:`\alpha = 2/(L + \mu + 2u)`. Constants: :math:`\rho = (L-\mu)/(L+\mu+2u)`;
    :math:`B_k` is constant and :math:`C_k = -\alpha x^{(k)}`, so Lemma 6 holds with
    :math:`\Gamma = \alpha`; :math:`e^{(0)} = \|x^*\|`, :math:`\dot e^{(0)} = \|Dx^*\|`.
    """
    lam = data.geometric_spectrum(L, mu, dim)
    c = lam * data.flat_derivative_weights(lam)
    L_u, m_u = float(lam[-1]) + u, float(lam[0]) + u
    step = 2.0 / (L_u + m_u)
    x_star = c / (lam + u)
    return _Demo(lam, c, u, step, float(bounds.gd_contraction(step, L_u, m_u)), step,
                float(jnp.linalg.norm(x_star)), float(jnp.linalg.norm(x_star / (lam + u))))


def late_start_errors(demo, starts, stops, horizon=None):
    r"""Errors :math:`\|\dot X^{(k)}_{T'} - Dx^*\|` of late-started forward mode, one row per pair.

    Row j starts at ``starts[j]`` (T') and stops at ``stops[j]`` (K'); entry k of the
    result is the error at *iteration* k (NaN outside :math:`[T'_j, K'_j]`). Also
    returns the iterate errors. For the scalar-parameter :class:`_Demo` problem
    (the JVP with v = 1 is the Jacobian). One compiled pass (:func:`_late_start_tangents`).

    Returns:
      ``(iterate_errors, errors)`` of shapes (horizon + 1,) and (J, horizon + 1), NumPy.
    """
    starts, stops = np.atleast_1d(starts), np.atleast_1d(stops)
    horizon = int(stops.max()) if horizon is None else int(horizon)
    e, err = _late_start_core(demo.eigenvalues, demo.c, demo.u, demo.step, jnp.asarray(starts),
                              jnp.asarray(stops), horizon=horizon)
    k = np.arange(horizon + 1)[None]
    return np.asarray(e), np.where((k >= starts[:, None]) & (k <= stops[:, None]),
                                   np.asarray(err), np.nan)


@partial(jax.jit, static_argnames="horizon")
def _late_start_core(lam, c, u, step, starts, stops, *, horizon):
    demo = _Demo(lam, c, u, step, 0.0, 0.0, 0.0, 0.0)
    xs, ts = _late_start_tangents(demo.update, demo.x0, u, jnp.ones_like(u), starts, stops,
                                 horizon)
    x_star, jac = c / (lam + u), -c / (lam + u) ** 2               # Dx* = -(H0 + uI)^{-1} x*
    return (jnp.linalg.norm(xs - x_star[None], axis=-1),
            jnp.linalg.norm(ts - jac[None, None], axis=-1).T)


def budget_curves(demo, T, omega, num_steps, omega_max=4.0):
    r"""Everything the chapter-4 explorer draws: late start under a fixed budget.

    K = ``num_steps`` algorithm and derivative steps without truncation; giving up T
    derivative steps buys :math:`\lfloor\omega T\rfloor` algorithm steps
    (:func:`unrolling.budget.reallocate`): :math:`K' = K + \lfloor\omega T\rfloor`,
    :math:`T' = T + \lfloor\omega T\rfloor`. Returns a dict of NumPy arrays over the
    iterations k = 0..K + ω_max K: ``iterate`` errors, ``full`` (forward mode from 0
    to K), ``late`` (from T' to K'), ``bound`` (Theorem 8 for the late start, NaN
    outside its range) and the integers ``K_prime``, ``T_prime``.
    """
    _validate.in_range(omega, "omega", 0.0, omega_max)
    K_prime, T_prime = budget.reallocate(int(num_steps), int(T), float(omega))
    horizon = int(num_steps + math.floor(omega_max * num_steps))
    e, err = late_start_errors(demo, [0, T_prime], [num_steps, K_prime], horizon)
    k = np.arange(horizon + 1) - T_prime
    bound = np.asarray(bounds.theorem8(np.maximum(k, 0), T_prime, demo.rho, demo.gamma,
                                       demo.e0, demo.edot0))
    return {"iterate": e, "full": err[0], "late": err[1],
            "bound": np.where((k >= 0) & (k <= K_prime - T_prime), bound, np.nan),
            "K_prime": K_prime, "T_prime": T_prime}


def _op_norm(M):
    """Spectral norm of a wide matrix via the eigenvalues of the small Gram matrix M M^T."""
    return jnp.sqrt(jnp.maximum(jnp.linalg.eigvalsh(M @ M.T)[-1], 0.0))


@partial(jax.jit, static_argnames="max_power")
def _ridge_one_step(A, y, theta, lam, step, k, *, max_power):
    r"""Measured one-step error of F^k at the solution and Corollary 1, for traced (λ, α, k).

    At the fixed point every iterate equals x̄, so the one-step estimator of F^k is
    :math:`\sum_{i<k} B^i C` with B, C the partial Jacobians of F at x̄: the forward
    recursion M <- B M + C run k times (a fixed-length loop, masked after k steps).
    """
    problem = problems.weighted_ridge(A, y, lam)
    x_bar, J = problem.x_star(theta), problem.jacobian(theta)
    B, C = jax.jacrev(gradient_descent(problem.f, step), argnums=(0, 1))(x_bar, theta)
    M = lax.fori_loop(0, max_power, lambda i, M: jnp.where(i < k, B @ M + C, M), 0 * C)
    eig = jnp.linalg.eigvalsh(A.T @ (theta[:, None] * A) + lam * jnp.eye(A.shape[1]))
    rho = jnp.max(jnp.abs(1 - step * eig)) ** k.astype(eig.dtype)  # contraction factor of F^k
    return _op_norm(M - J), bounds.one_step_bound(rho, _op_norm(M), 0.0, 0.0), rho


def ridge_one_step_errors(A, y, theta, lam, step_size, power=1):
    r"""Bolte et al. Corollary 1 against the measured one-step error, weighted ridge by GD.

    For each (λ, α, K) of the broadcast arguments, F is the gradient step with step α
    on :func:`weighted_ridge` (A, y, λ) and the estimator is the one-step estimator of
    :math:`F^K` (the K-step truncated estimator of F) at the solution :math:`\bar x`:
    :math:`\partial_\theta F^K(\bar x, \theta)`, by the forward recursion through the K
    steps (which all stay at :math:`\bar x`).
    The bound is :func:`unrolling.bounds.one_step_bound` with
    :math:`\tilde\rho = \max_\lambda|1 - \alpha\lambda|^K` over the Hessian's spectrum,
    :math:`L_F = \|\partial_\theta F^K(\bar x, \theta)\|_{op}` (the norm Lemma 2 uses) and
    :math:`\|x_{k-1} - \bar x\| = 0`. One compilation for all the pairs.

    Returns:
      ``(measured, bound, rho)``: NumPy arrays (operator norms; ρ of :math:`F^K`). Chapter 4.
    """
    lam, step, power = np.broadcast_arrays(np.asarray(lam, float), np.asarray(step_size, float),
                                           np.asarray(power, int))
    if np.any(power < 1) or np.any(step <= 0) or np.any(lam <= 0):
        raise ValueError("lam and step_size must be > 0 and power >= 1")
    run = jax.vmap(partial(_ridge_one_step, max_power=int(power.max())),
                   in_axes=(None, None, None, 0, 0, 0))
    out = run(jnp.asarray(A), jnp.asarray(y), jnp.asarray(theta), lam.ravel(), step.ravel(),
              power.ravel())
    return tuple(np.asarray(a).reshape(lam.shape) for a in out)
