r"""The App. C sweep's batched fast path (private; used by :mod:`unrolling.truncation`).

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
comes from a Gram identity, :func:`_reverse_error`). ``tests/test_truncation.py``
checks every sampled value against :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`, which run the plain recursions. Chapter 4.
"""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import bounds


def _rotated(A, b, v, w, alpha, x0):
    r"""Everything the recursions need, in the eigenbasis V of H = A^T A (host NumPy, batched).

    Reference values in rotated coordinates: :math:`\tilde y^* = \Lambda^{-1}\tilde c`
    (:math:`x^*`), :math:`\tilde t^* = -\Lambda^{-1}(\tilde G\tilde y^* - \tilde h)` (:math:`Dx^*v`,
    from differentiating :math:`Hx^* = c`), :math:`\tilde y_w = \Lambda^{-1}V^\top w`; the
    start :math:`\tilde y_0 = V^\top x^{(0)}` (constant in u, so :math:`Dx^{(0)} = 0`).
    """
    A, b, w, alpha, x0 = (np.asarray(a, dtype=float) for a in (A, b, w, alpha, x0))
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
                y0=np.einsum("dij,dj->di", Vt, x0), q_top=V[..., -1],
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

    y0 = r["y0"]
    t0 = jnp.zeros((T_prime.shape[0], y0.size), y0.dtype)
    _, (e, edot) = lax.scan(step, (y0, t0), jnp.arange(horizon))
    e = jnp.concatenate([jnp.linalg.norm(y0 - r["y_star"])[None], e])
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
    magnitude = jnp.abs(x) ** jnp.asarray(n).astype(x.dtype)
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
    return jnp.where(close, jnp.asarray(n).astype(x.dtype) * x_pow_m1[:, None], quotient)


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
    e0 = r["y0"] - y_star

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
    lo, span = lo.astype(s.dtype), (hi - lo).astype(s.dtype)
    return jnp.rint(lo[:, None] + s[None] * span[:, None]).astype(int)


def _draw_curves(r, alpha, K, T_prime, K_prime, *, horizon, num_points, q_grid):
    """All sampled curves and final errors of one draw (vmapped over draws)."""
    e, edot = _forward(r, alpha, T_prime, K_prime, horizon)
    rev = _reverse_curves(r, alpha, T_prime, K_prime, num_points)
    rows = jnp.arange(T_prime.shape[0])
    fwd_idx = _sample_indices(T_prime, K_prime, num_points)
    it_idx = jnp.minimum(jnp.rint(q_grid * K.astype(q_grid.dtype)).astype(int), horizon)
    return dict(iterate=e[it_idx], forward=edot[fwd_idx, rows[:, None]], reverse=rev,
                forward_final=edot[K_prime, rows], reverse_final=rev[:, -1], iterate_final=e[K_prime])


@partial(jax.jit, static_argnames=("horizon", "num_points"))
def _sweep_draws(r, alpha, K, T_prime, K_prime, q_grid, *, horizon, num_points):
    per_draw = partial(_draw_curves, horizon=horizon, num_points=num_points, q_grid=q_grid)
    return jax.vmap(per_draw)(r, alpha, K, T_prime, K_prime)


def _top_split(r, alpha, ks):
    r"""Forward-mode error (no late start) along the top eigenvector and off it, at indices ks.

    From :math:`d_{k+1} = \beta\odot d_k - \alpha\tilde G(\tilde y_k - \tilde y^*)` and
    :math:`\tilde y_k - \tilde y^* = \beta^k\odot e_0`:
    :math:`d_{k,a} = \beta_a^k d_{0,a} - \alpha\sum_b \tilde G_{ab}e_{0,b}\,\phi_k(\beta_a, \beta_b)`,
    :math:`d_0 = -\tilde t^*`. The diagonal term :math:`-\alpha k\beta_a^{k-1}\tilde G_{aa}e_{0,a}`
    is the curse along direction a. Returns ``(top, rest)``, each of shape (len(ks),).
    """
    beta, e0 = r["beta"], r["y0"] - r["y_star"]

    def at(k):
        phi = _geometric(beta, _ipow(beta, k), _ipow(beta, jnp.maximum(k - 1, 0)), k)
        d = -_ipow(beta, k) * r["t_star"] - alpha * jnp.sum(r["G"] * e0[None] * phi, 1)
        return jnp.abs(d[-1]), jnp.linalg.norm(d[:-1])
    return jax.vmap(at)(ks)


@partial(jax.jit, static_argnames="max_K")
def _bound_optima(K, omega, rho, gamma_v, e0, edot0, *, max_K):
    """Per draw: argmin of eq. (22) over integers T <= K (as T/K), and the relaxed optimum."""
    T_all = jnp.arange(max_K + 1)
    h = jax.vmap(lambda *a: bounds.truncation_objective(T_all, *a), in_axes=(0, None, 0, 0, 0, 0))(
        K, omega, rho, gamma_v, e0, edot0)
    best = jnp.argmin(jnp.where(T_all[None] <= K[:, None], h, jnp.inf), axis=1)
    relaxed = jax.vmap(bounds.optimal_truncation_relaxed, in_axes=(0, None, 0, 0, 0, 0))(
        K, omega, rho, gamma_v, e0, edot0)
    K = K.astype(relaxed.dtype)
    return best.astype(K.dtype) / K, relaxed / K
