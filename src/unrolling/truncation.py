r"""Experiments of chapter 4: the truncation sweep of Mehmood et al. App. C and friends.

**The App. C experiment.** Least squares :math:`f(x, u) = \tfrac12\|Ax - b\|^2` in
its data :math:`u = (A, b)`, :math:`A \in \mathbb R^{M\times N}` with U(0, 1)
entries, :math:`b` with N(0, 1) entries (:func:`unrolling.problems.least_squares_instance`),
solved by gradient descent from :math:`x^{(0)} = 0` with step
:math:`\alpha = 2/(L+m)` ("optimal") or :math:`1/(3L)` ("short"), where L and m are the
extreme eigenvalues of :math:`H = A^\top A`. Per draw,
:math:`\rho^* = (L-m)/(L+m)` and :math:`K = \min(\lceil\log(10^{-3})/\log\rho^*\rceil, 1000)`.
For each truncation fraction f, :math:`T = \mathrm{round}(fK)` derivative steps are
given up and reallocated (:func:`unrolling.budget.reallocate`): the algorithm runs
:math:`K' = K + \omega T` steps and the derivative recursion starts at
:math:`T' = T + \omega T`. Forward mode (Mehmood et al. eq. 20) propagates the JVP
:math:`\dot X^{(k)}_{T'} v` and reverse mode (eq. 12) the VJP :math:`w^\top \bar U^{(k)}_{K'}`
for random unit directions v (shape of u) and w (shape of x), one pair per draw.

**Per-draw K, vectorized.** K depends on the draw through :math:`\rho^*`, so the
draws do not share K, T, T' or K'. We keep the paper's per-draw definitions and
vectorize over the draws with :func:`jax.vmap` anyway: every draw runs for the same
static horizon (the largest K' over the draws of one N) and each row of the forward
recursion is *masked* — active for :math:`T' \le k < K'`, zero before, frozen after.
Curves of different draws are compared at the same *fraction of their own K*: each
curve is sampled at ``num_points`` points evenly spaced between its two ends (so the
end points, the final errors, are exact) and plotted against :math:`k/K`. For
N >= 30 every draw has K = 1000, so k/K is the iteration count divided by 1000.
Medians over the draws are taken point by point; only the medians are kept.

**Keeping the work small.** Gradient descent on least squares has the constant
:math:`B_k = B = I - \alpha H`, :math:`H = A^\top A`. We factor the parameter
dependence through :math:`p = (H, c) = (A^\top A, A^\top b)` (chain rule: the tangent v
is pushed forward once to :math:`(dH, dc) = (dA^\top A + A^\top dA,\; dA^\top b + A^\top db)`,
the cotangent is pulled back through the same map) and work in the eigenbasis of H,
where B is diagonal. Forward mode then *runs* eq. (20): O(N) per row and step plus
one shared O(N^2) product :math:`C_k v`. For reverse mode, whose state
:math:`\bar U` is an N x N matrix per row, accumulating eq. (12) step by step would
cost O(N^2) per row and step; instead its partial sums are evaluated exactly at the
sampled indices (both factors of :math:`\bar X^{(i+1)} C_i` are geometric sequences in
the eigenbasis, see :func:`_reverse_curves`). Norms are those of the original
coordinates (the change of basis is orthogonal; the reverse error over u = (A, b)
comes from a Gram identity, :func:`_reverse_error`). ``tests/test_experiments.py``
checks every sampled value against :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`, which run the plain recursions. Chapter 4.
"""
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate, bounds, budget, problems

__all__ = ["SweepResult", "PAPER_RHO", "appendix_c_draws", "appendix_c_plan", "truncation_sweep",
           "median_rho_star",
           "full_sweep", "late_start_tangents", "reallocated_final_errors", "reverse_memory_bytes",
           "forward_memory_bytes",
           "Demo", "demo_quadratic", "late_start_errors", "late_start_bounds", "budget_curves"]

#: ρ printed in the captions of Mehmood et al. Figs. 3-14, by N.
PAPER_RHO = {2: 0.763526, 5: 0.921979, 10: 0.974362, 20: 0.993876, 30: 0.998509,
             40: 0.999722}

FRACTIONS = tuple(j / 10 for j in range(9))


class SweepResult(NamedTuple):
    """Median curves of one (N, step rule) setting of the App. C sweep.

    x positions are in units of each draw's own K (k / K); curves have one row per
    truncation fraction. ``*_final`` are medians of the per-draw final errors:
    forward at :math:`k = K'`, reverse at :math:`k = T'`, iterates at :math:`k = K'`.
    ``bound_final`` is the median of the per-draw eq. (22) bound (Theorem 8 along v),
    ``bound_ok`` whether it dominated the forward final error in every draw.
    """
    N: int
    step_rule: str
    fractions: np.ndarray
    omega: float
    rho_star: np.ndarray       # (D,) per draw
    K: np.ndarray              # (D,) per draw
    iterate_x: np.ndarray      # (Q,)
    iterate_err: np.ndarray    # (Q,)
    forward_x: np.ndarray      # (J, P)
    forward_err: np.ndarray    # (J, P)
    reverse_x: np.ndarray      # (J, P)
    reverse_err: np.ndarray    # (J, P)
    forward_final: np.ndarray  # (J,)
    reverse_final: np.ndarray  # (J,)
    iterate_final: np.ndarray  # (J,)
    bound_final: np.ndarray    # (J,)
    bound_ok: bool
    best_fraction_bound: float    # median over draws of argmin_T eq. (22) / K (integer T)
    best_fraction_relaxed: float  # the same for the relaxed problem (Lemma 11)


def _step_size(rule, L, m):
    if rule == "optimal":
        return 2.0 / (L + m)
    if rule == "short":
        return 1.0 / (3.0 * L)
    raise ValueError(f'step_rule must be "optimal" (2/(L+m)) or "short" (1/(3L)), got {rule!r}')


def appendix_c_plan(rho_star, fractions=FRACTIONS, omega=3.0, tol=1e-3, max_K=1000):
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


@partial(jax.jit, static_argnums=(1, 2, 3))
def _raw_draws(key, num_draws, M, N):
    """A ~ U(0, 1) of shape (D, M, N); b, dA, db, w standard normal (one call per law)."""
    key_A, key_n = jax.random.split(key)
    A = jax.random.uniform(key_A, (num_draws, M, N))
    z = jax.random.normal(key_n, (num_draws, M + M * N + M + N))
    b, dA, db, w = jnp.split(z, np.cumsum([M, M * N, M]), axis=1)
    return A, b, dA.reshape(num_draws, M, N), db, w


def appendix_c_draws(key, num_draws, M=50, N=10, N_max=40):
    r"""``num_draws`` App. C instances with unit random directions, as NumPy arrays.

    A has U(0, 1) entries and b standard normal ones (the law of
    :func:`unrolling.problems.least_squares_instance`); the tangent v = (dA, db) and the
    cotangent w have standard normal entries and are scaled to unit norm. Everything is
    drawn at width ``max(N, min(N_max, M))`` and the first N columns are kept, so that one
    compiled sampler serves every N (the columns of an i.i.d. matrix are i.i.d.): the
    draws of different N are nested.

    Returns:
      ``(A, b, (dA, db), w)`` with shapes (D, M, N), (D, M), ((D, M, N), (D, M)), (D, N).
    """
    num_draws = _validate.num_steps(num_draws, "num_draws")
    if num_draws < 1 or not 0 < N <= M:
        raise ValueError(f"need num_draws >= 1 and 0 < N <= M, got {num_draws}, N={N}, M={M}")
    raw = _raw_draws(key, num_draws, M, max(N, min(N_max, M)))
    A, b, dA, db, w = (np.asarray(a) for a in raw)
    A, dA, w = A[..., :N], dA[..., :N], w[..., :N]
    v_norm = np.sqrt(np.sum(dA**2, axis=(1, 2)) + np.sum(db**2, axis=1))
    return A, b, (dA / v_norm[:, None, None], db / v_norm[:, None]), w / np.linalg.norm(
        w, axis=1, keepdims=True)


def _rotated(A, b, v, w, alpha):
    r"""Everything the recursions need, in the eigenbasis V of H = A^T A (host NumPy, batched).

    Reference values in rotated coordinates: :math:`\tilde y^* = \Lambda^{-1}\tilde c`
    (:math:`x^*`), :math:`\tilde t^* = -\Lambda^{-1}(\tilde G\tilde y^* - \tilde h)` (:math:`Dx^*v`,
    from differentiating :math:`Hx^* = c`), :math:`\tilde y_w = \Lambda^{-1}V^\top w`.
    """
    A, b, w, alpha = (np.asarray(a, dtype=float) for a in (A, b, w, alpha))
    dA, db = (np.asarray(a, dtype=float) for a in v)
    At = np.swapaxes(A, -1, -2)
    lam, V = np.linalg.eigh(At @ A)
    Vt = np.swapaxes(V, -1, -2)
    G = np.swapaxes(dA, -1, -2) @ A + At @ dA                  # (dH, dc) = push-forward of v
    h = np.einsum("dmi,dm->di", dA, b) + np.einsum("dmi,dm->di", A, db)
    c = np.einsum("dij,dj->di", Vt, np.einsum("dmi,dm->di", A, b))
    G_rot, h_rot = Vt @ G @ V, np.einsum("dij,dj->di", Vt, h)
    y_star = c / lam
    t_star = -(np.einsum("dab,db->da", G_rot, y_star) - h_rot) / lam
    w_rot = np.einsum("dij,dj->di", Vt, w)
    return dict(lam=lam, beta=1.0 - alpha[:, None] * lam, c=c, y_star=y_star, G=G_rot,
                h=h_rot, t_star=t_star, w=w_rot, y_w=w_rot / lam, b_sq=np.sum(b**2, -1),
                gamma_v=alpha * np.abs(np.linalg.eigvalsh(G)).max(-1))


def _forward(r, alpha, T_prime, K_prime, horizon):
    """Masked late-start forward recursion (eq. 20) in rotated coordinates.

    Row j: t <- beta * t - alpha (G y_k - h) for T'_j <= k < K'_j. Returns the iterate
    errors e^(0..H), shape (H + 1,), and the forward errors, shape (H + 1, J).
    """
    def step(carry, k):
        y, t = carry
        on = ((k >= T_prime) & (k < K_prime))[:, None]
        drive = (-alpha * (r["G"] @ y - r["h"]))[None]               # C_k v, shared by the rows
        t_next = jnp.where(on, r["beta"][None] * t + drive, t)
        y_next = r["beta"] * y + alpha * r["c"]
        out = (jnp.linalg.norm(y_next - r["y_star"]),
               jnp.linalg.norm(t_next - r["t_star"][None], axis=-1))
        return (y_next, t_next), out

    y0 = jnp.zeros_like(r["c"])
    t0 = jnp.zeros((T_prime.shape[0], y0.size), y0.dtype)
    _, (e, edot) = lax.scan(step, (y0, t0), jnp.arange(horizon))
    e = jnp.concatenate([jnp.linalg.norm(r["y_star"])[None], e])
    edot = jnp.concatenate([jnp.full((1, T_prime.shape[0]), jnp.linalg.norm(r["t_star"])), edot])
    return e, edot


def _reverse_error(r, alpha, S, sigma):
    r""":math:`\|w^\top \bar U - w^\top Dx^*\|` over u = (A, b), from the rotated state.

    :math:`\bar U = (\bar U_A, \bar U_b)` is the pull-back of :math:`\bar U_H = -\alpha V S V^\top`,
    :math:`\bar U_c = \alpha V \sigma` through :math:`(A, b) \mapsto (A^\top A, A^\top b)`. With
    :math:`\tilde A = AV` (so :math:`\tilde A^\top\tilde A = \Lambda`), the difference is
    :math:`(\tilde A Z + b z^\top) V^\top` and :math:`\tilde A z`, where
    :math:`Z = -\alpha(S + S^\top) + \tilde x^*\tilde y^\top + \tilde y\tilde x^{*\top}`,
    :math:`z = \alpha\sigma - \tilde y`, :math:`\tilde y = \Lambda^{-1}V^\top w`; hence the squared error
    :math:`\sum_{ab}\lambda_a Z_{ab}^2 + 2\tilde c^\top Z z + \|b\|^2\|z\|^2 + \sum_a \lambda_a z_a^2`.
    """
    ys, yw, lam = r["y_star"], r["y_w"], r["lam"]
    Z = -alpha * (S + jnp.swapaxes(S, -1, -2)) + (jnp.outer(ys, yw) + jnp.outer(yw, ys))[None]
    z = alpha * sigma - yw[None]
    lam_col, c_col = lam[None, :, None], r["c"][None, :, None]      # broadcast, not einsum:
    sq = (jnp.sum(lam_col * Z**2 + 2 * c_col * Z * z[:, None, :], (1, 2))  # XLA:CPU is faster
          + r["b_sq"] * jnp.sum(z**2, -1) + jnp.sum(lam[None] * z**2, -1))
    return jnp.sqrt(jnp.maximum(sq, 0.0))


def _ipow(x, n):
    """x ** n elementwise for real x of any sign and integer n >= 0."""
    magnitude = jnp.abs(x) ** n
    return jnp.where((x < 0) & (n % 2 == 1), -magnitude, magnitude)


def _geometric(x, x_pow, x_pow_m1, n, rtol=1e-7):
    r"""The matrix :math:`\phi_n(x_a, x_b) = \sum_{m=0}^{n-1} x_a^{n-1-m} x_b^m` for a vector x.

    ``x_pow`` = :math:`x^n` and ``x_pow_m1`` = :math:`x^{n-1}` (computed once per entry).
    Off the diagonal :math:`\phi_n = (x_a^n - x_b^n)/(x_a - x_b)`; on it, and for entries
    closer than ``rtol`` (where that quotient would lose digits), :math:`n x_a^{n-1}`.
    """
    diff = x[:, None] - x[None, :]
    close = jnp.abs(diff) <= rtol * jnp.maximum(jnp.abs(x[:, None]), jnp.abs(x[None, :]))
    quotient = (x_pow[:, None] - x_pow[None, :]) / jnp.where(close, 1.0, diff)
    return jnp.where(close, n * x_pow_m1[:, None], quotient)


def _reverse_curves(r, alpha, T_prime, K_prime, num_points):
    r"""Truncated reverse-mode errors of eq. (12) at ``num_points`` indices per row, summed exactly.

    For row j stopped at index k (:math:`T'_j \le k \le K'_j`, :math:`n = K'_j - k` backward
    steps done), the sweep's output is :math:`\sum_{i=k}^{K'-1}\bar X^{(i+1)} C_i`. In the
    eigenbasis :math:`\bar X^{(i+1)} = \tilde w \odot \beta^{K'-1-i}` and
    :math:`\tilde y_i = \tilde y^* + \beta^i \odot (\tilde y_0 - \tilde y^*)` are geometric, so the
    factored state (:math:`S = \sum_i \bar X^{(i+1)} \tilde y_i^\top`, :math:`\sigma = \sum_i \bar X^{(i+1)}`)
    has the closed form
    :math:`S_{ab} = \tilde w_a[\tilde y^*_b\,\phi_n(\beta_a, 1) + (\tilde y_0 - \tilde y^*)_b\,\beta_b^k\,\phi_n(\beta_a, \beta_b)]`,
    :math:`\sigma_a = \tilde w_a\,\phi_n(\beta_a, 1)`. Returns (J, num_points), entry 0 at
    k = K' (the sweep's start), the last at k = T' (its output).
    """
    idx = _sample_indices(K_prime, T_prime, num_points)             # (J, P) indices k
    beta, w, y_star = r["beta"], r["w"], r["y_star"]
    e0 = -y_star                                                     # y0 = 0

    def at(k, K_p):                                                  # one row, one index
        n = K_p - k
        beta_n, beta_n_m1 = _ipow(beta, n), _ipow(beta, jnp.maximum(n - 1, 0))
        psi = (1 - beta_n) / (1 - beta)                              # phi_n(beta_a, 1)
        phi = _geometric(beta, beta_n, beta_n_m1, n)
        S = w[:, None] * (jnp.outer(psi, y_star) + phi * (e0 * _ipow(beta, k))[None])
        return _reverse_error(r, alpha, S[None], (w * psi)[None])[0]

    rows_at = jax.vmap(at)                                            # all rows at sample p
    return lax.map(lambda k: rows_at(k, K_prime), idx.T).T           # (J, P), memory O(J N^2)


def _sample_indices(lo, hi, num_points):
    """num_points integers from lo to hi (both included), evenly spaced: (J, P)."""
    s = jnp.linspace(0.0, 1.0, num_points)
    return jnp.rint(lo[:, None] + s[None] * (hi - lo)[:, None]).astype(int)


def _draw_curves(r, alpha, K, T_prime, K_prime, *, horizon, num_points, q_grid):
    """All sampled curves and final errors of one draw (vmapped over draws)."""
    e, edot = _forward(r, alpha, T_prime, K_prime, horizon)
    rev = _reverse_curves(r, alpha, T_prime, K_prime, num_points)
    rows = jnp.arange(T_prime.shape[0])
    fwd_idx = _sample_indices(T_prime, K_prime, num_points)
    it_idx = jnp.minimum(jnp.rint(q_grid * K).astype(int), horizon)
    return dict(iterate=e[it_idx], forward=edot[fwd_idx, rows[:, None]], reverse=rev,
                forward_final=edot[K_prime, rows], reverse_final=rev[:, -1], iterate_final=e[K_prime])


@partial(jax.jit, static_argnames=("horizon", "num_points"))
def _sweep_draws(r, alpha, K, T_prime, K_prime, q_grid, *, horizon, num_points):
    per_draw = partial(_draw_curves, horizon=horizon, num_points=num_points, q_grid=q_grid)
    return jax.vmap(per_draw)(r, alpha, K, T_prime, K_prime)


@partial(jax.jit, static_argnames="max_K")
def _bound_optima(K, omega, rho, gamma_v, e0, edot0, *, max_K):
    """Per draw: argmin of eq. (22) over integers T <= K (as T/K), and the relaxed optimum."""
    T_all = jnp.arange(max_K + 1)
    h = jax.vmap(lambda *a: bounds.truncation_objective(T_all, *a), in_axes=(0, None, 0, 0, 0, 0))(
        K, omega, rho, gamma_v, e0, edot0)
    best = jnp.argmin(jnp.where(T_all[None] <= K[:, None], h, jnp.inf), axis=1)
    relaxed = jax.vmap(bounds.optimal_truncation_relaxed, in_axes=(0, None, 0, 0, 0, 0))(
        K, omega, rho, gamma_v, e0, edot0)
    return best / K, relaxed / K


def truncation_sweep(key, N, step_rule="optimal", num_draws=100, M=50, omega=3.0,
                     fractions=FRACTIONS, tol=1e-3, max_K=1000, num_points=32,
                     num_grid=160):
    r"""One setting (N, step rule) of Mehmood et al. App. C: median error curves per T.

    Args:
      key: PRNG key of the draws (:func:`appendix_c_draws`).
      N: columns of A (M rows); step_rule: "optimal" (2/(L+m)) or "short" (1/(3L)).
      num_draws: random instances (the paper: 100); omega: cost ratio ω (the paper: 3).
      fractions: truncation fractions T/K (the paper: 0, 0.1, ..., 0.8).
      tol, max_K: K = min(ceil(log(tol)/log ρ*), max_K).
      num_points: samples per derivative curve; num_grid: samples of the iterate curve.

    Returns:
      A :class:`SweepResult` holding only what the figures use (medians over draws).
    """
    A, b, v, w = appendix_c_draws(key, num_draws, M, N)
    lam = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", A, A))
    L, m = lam[:, -1], lam[:, 0]
    rho_star = (L - m) / (L + m)
    alpha = _step_size(step_rule, L, m)
    rho = np.asarray(bounds.gd_contraction(alpha, L, m))
    r = _rotated(A, b, v, w, alpha)
    K, T, T_prime, K_prime = appendix_c_plan(rho_star, fractions, omega, tol, max_K)
    horizon = int(K_prime.max())
    q_grid = np.linspace(0.0, float((K_prime / K[:, None]).max()), num_grid)
    out = _sweep_draws(r, alpha, K, T_prime, K_prime, q_grid, horizon=horizon,
                       num_points=num_points)
    out = {name: np.asarray(val) for name, val in out.items()}
    e0, edot0 = np.linalg.norm(r["y_star"], axis=-1), np.linalg.norm(r["t_star"], axis=-1)
    consts = (rho, r["gamma_v"], e0, edot0)
    bound = np.asarray(bounds.truncation_objective(T, K[:, None], omega,
                                                   *(c[:, None] for c in consts)))
    best, relaxed = _bound_optima(K, omega, *consts, max_K=max_K)
    med = {name: np.median(val, axis=0) for name, val in out.items()}
    f = np.asarray(fractions, dtype=float)[:, None]
    s = np.linspace(0.0, 1.0, num_points)[None]
    start, end = f * (1 + omega), 1 + omega * f                 # T'/K and K'/K
    return SweepResult(
        N=N, step_rule=step_rule, fractions=f[:, 0], omega=omega, rho_star=rho_star, K=K,
        iterate_x=q_grid, iterate_err=med["iterate"],
        forward_x=start + s * (end - start), forward_err=med["forward"],
        reverse_x=end - s * (end - start), reverse_err=med["reverse"],
        forward_final=med["forward_final"], reverse_final=med["reverse_final"],
        iterate_final=med["iterate_final"], bound_final=np.median(bound, axis=0),
        bound_ok=bool(np.all(bound >= out["forward_final"] * (1 - 1e-9))),
        best_fraction_bound=float(np.median(best)),
        best_fraction_relaxed=float(np.median(relaxed)))


def median_rho_star(key, Ns=(2, 5, 10, 20, 30, 40), num_draws=100, M=50):
    r"""Median over the draws of :math:`\rho^* = (L - m)/(L + m)` for each N (the draws of
    :func:`truncation_sweep` with the same key), to set against :data:`PAPER_RHO`."""
    out = {}
    for N in Ns:
        A = appendix_c_draws(key, num_draws, M, N)[0]
        lam = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", A, A))
        out[N] = float(np.median((lam[:, -1] - lam[:, 0]) / (lam[:, -1] + lam[:, 0])))
    return out


def full_sweep(key, Ns=(2, 5, 10, 20, 30, 40), step_rules=("optimal", "short"), **kwargs):
    """The whole App. C sweep: ``{(N, step_rule): SweepResult}``, all with the same ``key``
    (both step rules see the same draws; draws of different N are nested, see
    :func:`appendix_c_draws`). ``kwargs`` go to :func:`truncation_sweep`."""
    return {(N, rule): truncation_sweep(key, N, rule, **kwargs)
            for N in Ns for rule in step_rules}


def late_start_tangents(update, x0, u, v, starts, stops, horizon):
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
    _, ts = late_start_tangents(update, x0, u, v, T_prime, K_prime, int(K_prime.max()))
    finals = ts[K_prime, np.arange(len(K_prime))]
    return jnp.linalg.norm(finals - ravel_pytree(jvp_star)[0][None], axis=-1)


#: XLA options for compilations whose program is only inspected or run briefly:
#: the memory analysis does not depend on the backend optimization level.
_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _compiled_bytes(fn, u):
    from .profiling import peak_memory
    return peak_memory(jax.jit(fn, compiler_options=_FAST_COMPILE).lower(u).compile())


def reverse_memory_bytes(update, x0, u, num_steps, stop, w):
    r"""Compiled memory of truncated reverse mode: :math:`w^\top` times the derivative of
    :math:`x^{(K)}(u)` through its last K - T' steps (T' = ``stop``), as deployed:
    ``jax.vjp`` of :func:`unrolling.onestep.truncated_solution`.

    :func:`unrolling.profiling.peak_memory` (temporaries plus outputs of the compiled
    program; deterministic). The backward pass needs the iterates of the differentiated
    steps, so the count grows linearly in K - T' (chapter 4).
    """
    from .onestep import truncated_solution
    K = _validate.num_steps(num_steps)
    solution = truncated_solution(update, x0, K, last=K - _validate.index(stop, K, "stop"))
    return _compiled_bytes(lambda u_: jax.vjp(solution, u_)[1](w), u)


def forward_memory_bytes(update, x0, u, num_steps, start, v):
    r"""Compiled memory of late-started forward mode, as deployed: ``jax.jvp`` of
    :func:`unrolling.onestep.truncated_solution` with tangent v. The tangent travels
    with the iterate, so the count does not grow with K - T' (chapter 4)."""
    from .onestep import truncated_solution
    K = _validate.num_steps(num_steps)
    solution = truncated_solution(update, x0, K, last=K - _validate.index(start, K, "start"))
    return _compiled_bytes(lambda u_: jax.jvp(solution, (u_,), (v,))[1], u)


class Demo(NamedTuple):
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
        from .methods import gradient_descent
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
    from .curse import flat_derivative_weights, geometric_spectrum
    lam = geometric_spectrum(L, mu, dim)
    c = lam * flat_derivative_weights(lam)
    L_u, m_u = float(lam[-1]) + u, float(lam[0]) + u
    step = 2.0 / (L_u + m_u)
    x_star = c / (lam + u)
    return Demo(lam, c, u, step, float(bounds.gd_contraction(step, L_u, m_u)), step,
                float(jnp.linalg.norm(x_star)), float(jnp.linalg.norm(x_star / (lam + u))))


def late_start_errors(demo, starts, stops, horizon=None):
    r"""Errors :math:`\|\dot X^{(k)}_{T'} - Dx^*\|` of late-started forward mode, one row per pair.

    Row j starts at ``starts[j]`` (T') and stops at ``stops[j]`` (K'); entry k of the
    result is the error at *iteration* k (NaN outside :math:`[T'_j, K'_j]`). Also
    returns the iterate errors. For the scalar-parameter :class:`Demo` problem
    (the JVP with v = 1 is the Jacobian). One compiled pass (:func:`late_start_tangents`).

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
    demo = Demo(lam, c, u, step, 0.0, 0.0, 0.0, 0.0)
    xs, ts = late_start_tangents(demo.update, demo.x0, u, jnp.ones_like(u), starts, stops,
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


def late_start_bounds(demo, starts, horizon):
    r"""Theorem 8 for the :class:`Demo` problem at each iteration k = 0..horizon, one row per
    late start T' (NaN before T'): :math:`\rho^{k-T'}\dot e^{(0)} + (k-T')\rho^{k-1}\Gamma e^{(0)}`,
    the bound of :func:`unrolling.bounds.theorem8` after k - T' derivative steps."""
    k = np.arange(int(horizon) + 1)
    rows = [np.where(k >= T, bounds.theorem8(np.maximum(k - T, 0), T, demo.rho, demo.gamma,
                                             demo.e0, demo.edot0), np.nan) for T in starts]
    return np.stack(rows)
