r"""Error bounds for iterates and their derivatives (chapters 1, 3, 4).

The closed-form bounds are jitted (one compiled program per argument shape), so
that plots and widgets evaluate them quickly; call them with arrays or Python numbers.

Notation (book notation table): ρ contraction factor, k iteration, e0 =
:math:`e^{(0)} = \|x^{(0)} - x^*\|`, edot0 = :math:`\dot e^{(0)} = \|Dx^{(0)} - Dx^*\|`,
Γ of Lemma 6, ω the cost of a derivative step, L and mu (= ℓ) the extreme
Hessian eigenvalues, κ = mu / L (Scieur et al.'s *inverse* condition number).

The formulas were re-derived for the course; the printed text of Mehmood et al.
eq. (19) has :math:`\dot e^{(0)}` in the second term where Lemma 4 gives
:math:`e^{(0)}` — we use :math:`e^{(0)}`. Every bound is checked in
``tests/test_bounds.py`` to dominate measured errors on random instances.
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax

from . import _validate

__all__ = ["gd_contraction", "iterate_bound", "gamma", "lemma4_bound", "theorem7",
           "theorem8", "truncation_objective", "optimal_truncation",
           "optimal_truncation_relaxed", "scieur_gd_short_step", "scieur_gd_long_step",
           "scieur_chebyshev", "scieur_lower", "one_step_bound", "one_step_smoothness",
           "one_step_criticality", "criticality_bound"]


def _steps(k):
    """Iteration counts as floats: the bounds are real functions of k (and the exponent of
    a traced array is a float either way, so the values do not change)."""
    return jnp.asarray(k, dtype=jnp.result_type(float))


def _k_rho_km1(k, rho):
    """k ρ^{k-1}, equal to 0 at k = 0 (also when ρ = 0), for real k >= 0.

    Only k = 0 is special-cased: clipping the exponent at 0 instead would turn
    k ρ^{k-1} into k for 0 < k < 1, which breaks the relaxed eq. (22) near T = K."""
    k = _steps(k)
    return k * rho ** jnp.where(k == 0, 0.0, k - 1)


@jax.jit
def gd_contraction(step_size, L, mu):
    r"""Contraction factor of gradient descent on a quadratic with spectrum in [mu, L]:
    :math:`\rho(\alpha) = \max(|1 - \alpha\mu|, |1 - \alpha L|)`, minimal
    :math:`(L - \mu)/(L + \mu)` at :math:`\alpha = 2/(L + \mu)` (chapter 1)."""
    return jnp.maximum(jnp.abs(1 - step_size * mu), jnp.abs(1 - step_size * L))


@jax.jit
def iterate_bound(k, rho, e0):
    r"""Linear convergence of the iterates, :math:`e^{(k)} \le \rho^k e^{(0)}` (Mehmood eq. 8)."""
    return rho ** _steps(k) * e0


def gamma(M_x, M_u, kappa, rho):
    r"""Γ of Mehmood et al. Lemma 6: :math:`\Gamma = M_x \kappa / (1 - \rho) + M_u`.

    M_x, M_u: Lipschitz constants of :math:`x \mapsto D_x\mathcal A` and
    :math:`x \mapsto D_u\mathcal A`; kappa: a bound on :math:`\|D_u \mathcal A\|`, so that
    :math:`\|Dx^*\| \le \kappa/(1-\rho)`. (Here κ is Mehmood's, not Scieur's.)
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, high_open=True)
    return M_x * kappa / (1 - rho) + M_u


@jax.jit
def lemma4_bound(rho, gamma_, edot0, e):
    r"""Lemma 4, eq. (15), from a measured iterate-error sequence ``e`` = (e^(0), e^(1), ...):
    :math:`\dot e^{(k)} \le \rho^k \dot e^{(0)} + \Gamma \sum_{i<k} \rho^{k-i-1} e^{(i)}`.
    Returns the bound for k = 0, ..., len(e) - 1."""
    k = _steps(jnp.arange(len(e)))
    e = jnp.asarray(e, dtype=jnp.result_type(float))
    return rho**k * edot0 + gamma_ * _discounted_sums(jnp.asarray(rho, e.dtype), e)


def _discounted_sums(rho, e):
    """s_k = sum_{i<k} rho^{k-1-i} e_i for k = 0, ..., len(e) - 1."""
    def step(acc, e_i):
        return rho * acc + e_i, acc
    return lax.scan(step, jnp.zeros((), e.dtype), e)[1]


@jax.jit
def theorem7(k, rho, gamma_, e0, edot0):
    r"""Mehmood et al. Thm 7: :math:`\dot e^{(k)} \le \rho^k \dot e^{(0)} + k\rho^{k-1}\Gamma e^{(0)}`.

    The first term decays; the second, :math:`O(k\rho^k)`, first grows (while
    :math:`k < 1/\log(1/\rho)`) and is the source of the curse of unrolling."""
    return rho ** _steps(k) * edot0 + _k_rho_km1(k, rho) * gamma_ * e0


@jax.jit
def theorem8(k, T, rho, gamma_, e0, edot0):
    r"""Mehmood et al. Thm 8 (late start at T'): k derivative steps after T' idle ones,

    .. math:: \dot e_{T'}^{(k)} \le \rho^k \dot e^{(0)} + k \rho^{k+T'-1} \Gamma e^{(0)},

    the curse term multiplied by :math:`\rho^{T'}`."""
    return rho ** _steps(k) * edot0 + _k_rho_km1(k, rho) * rho ** _steps(T) * gamma_ * e0


@jax.jit
def truncation_objective(T, K, omega, rho, gamma_, e0, edot0):
    r"""Objective of Mehmood et al. eq. (22): Thm 8 after budget reallocation,

    .. math:: h(T) = \rho^{K-T}\dot e^{(0)} + (K - T)\rho^{K + \omega T - 1}\Gamma e^{(0)},

    i.e. :func:`theorem8` with k = K - T derivative steps after T' = T + ωT idle ones."""
    T, K = _steps(T), _steps(K)
    return theorem8(K - T, T + omega * T, rho, gamma_, e0, edot0)


def optimal_truncation(K, omega, rho, gamma_, e0, edot0):
    """The integer T in {0, ..., K} minimizing :func:`truncation_objective` (exact search)."""
    K = _validate.num_steps(K, "K")
    values = truncation_objective(jnp.arange(K + 1), K, omega, rho, gamma_, e0, edot0)
    return jnp.argmin(values)


def optimal_truncation_relaxed(K, omega, rho, gamma_, e0, edot0, num_bisections=100):
    r"""Minimizer over the interval [0, K] of the relaxed eq. (22) (Mehmood et al. Lemma 11).

    With :math:`\delta = -\log\rho`, :math:`a = \rho^K \dot e^{(0)}`,
    :math:`b = \rho^{K-1}\Gamma e^{(0)}`: :math:`h(T) = a e^{\delta T} + b (K - T) e^{-\omega\delta T}`,
    convex, with :math:`h'(T) = a\delta e^{\delta T} - b e^{-\omega\delta T}(1 + \omega\delta (K - T))`
    increasing; the root of h' (clipped to [0, K]) is found by bisection. Needs ρ in (0, 1).
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, low_open=True, high_open=True)
    return _relaxed_minimizer(K, omega, rho, gamma_, e0, edot0, num_bisections)


@functools.partial(jax.jit, static_argnums=6)  # one compilation, whatever the numbers
def _relaxed_minimizer(K, omega, rho, gamma_, e0, edot0, num_bisections):
    """Bisection for the root of h' in [0, K] (see optimal_truncation_relaxed)."""
    K = _steps(K)
    delta = -jnp.log(rho)
    a, b = rho**K * edot0, rho ** (K - 1) * gamma_ * e0

    def dh(T):
        return a * delta * jnp.exp(delta * T) - b * jnp.exp(-omega * delta * T) * (
            1 + omega * delta * (K - T))

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        return jnp.where(dh(mid) > 0, lo, mid), jnp.where(dh(mid) > 0, mid, hi)

    zero = jnp.zeros((), jnp.result_type(float))
    lo, hi = lax.fori_loop(0, num_bisections, bisect, (zero, zero + K))
    root = 0.5 * (lo + hi)
    return jnp.where(dh(zero) >= 0, 0.0, jnp.where(dh(zero + K) <= 0, zero + K, root))


def _gd_factors(t, h, lam):
    """(P_t - λP_t', |P_t'|) for gradient descent, P_t(λ) = (1 - hλ)^t."""
    t = jnp.asarray(t, dtype=jnp.result_type(float))[..., None]
    lam = jnp.broadcast_to(lam, t.shape[:-1] + lam.shape)  # explicit: no rank promotion
    q = (1 - h * lam) ** jnp.maximum(t - 1, 0)
    a = q * (1 + (t - 1) * h * lam)
    a = jnp.where(t == 0, 1.0, a)
    return jnp.abs(a), jnp.abs(h * t * q)


@jax.jit
def _scieur_gd(t, step_size, L, mu, jac0_err, G):
    r"""Scieur et al. Thm 2 for gradient descent with step h on a quadratic, spectrum in [mu, L]:

    .. math:: \|\partial x_t - \partial x_*\|_F \le
       \max_{\lambda}|(1-h\lambda)^{t-1}(1+(t-1)h\lambda)|\,\|\partial x_0 - \partial x_*\|_F
       + \max_\lambda |h t (1-h\lambda)^{t-1}|\, G,

    from the master identity with :math:`P_t = (1 - h\lambda)^t`. Each factor is
    monotone in λ on either side of hλ = 1, so its maximum over [mu, L] is at an end
    point. (We bound the two terms by separate maxima, which is always valid; the
    paper writes one maximum of the sum.) ``jac0_err`` = :math:`\|\partial x_0 - \partial x_*\|_F`,
    ``G`` = :math:`\|\tfrac{d}{d\theta} \nabla f(x_0(\theta), \theta)\|_F`: the partial
    derivative :math:`\partial_\theta \nabla f(x_0, \theta)` when x0 is a constant, but the
    *total* derivative :math:`\nabla^2 f\,\partial x_0 + \partial_\theta \nabla f` when x0
    depends on θ (that is what the master identity needs; the partial alone can fail).
    """
    lam = jnp.stack([jnp.asarray(mu, float), jnp.asarray(L, float)])
    a, b = _gd_factors(t, step_size, lam)
    return a.max(-1) * jac0_err + b.max(-1) * G


@jax.jit
def scieur_gd_short_step(t, L, mu, jac0_err, G):
    r"""Scieur et al. Cor. 1, h = 1/L:
    :math:`(1-\kappa)^{t-1}\{(1 + \kappa(t-1))\|\partial x_0 - \partial x_*\| + tG/L\}`."""
    kappa, t = mu / L, jnp.asarray(t, dtype=jnp.result_type(float))
    return (1 - kappa) ** (t - 1) * ((1 + kappa * (t - 1)) * jac0_err + t * G / L)


@jax.jit
def scieur_gd_long_step(t, L, mu, jac0_err, G):
    r"""Scieur et al. Cor. 1, h = 2/(L + mu):
    :math:`(\tfrac{1-\kappa}{1+\kappa})^{t-1}\{|2t-1|\,\|\partial x_0 - \partial x_*\| + \tfrac{2t}{L+\mu}G\}`."""
    kappa, t = mu / L, jnp.asarray(t, dtype=jnp.result_type(float))
    return ((1 - kappa) / (1 + kappa)) ** (t - 1) * (
        jnp.abs(2 * t - 1) * jac0_err + 2 * t * G / (L + mu))


@jax.jit
def scieur_chebyshev(t, L, mu, jac0_err, G):
    r"""Scieur et al. Thm 3 for the Chebyshev method, :math:`\xi = (1-\sqrt\kappa)/(1+\sqrt\kappa)`:

    .. math:: \frac{2}{\xi^t + \xi^{-t}}\Big\{\Big|\frac{2t^2}{1-\kappa} - 1\Big|
              \|\partial x_0 - \partial x_*\|_F + \frac{2t^2}{L-\mu} G\Big\},

    from :math:`|T_t'| \le t^2` on [-1, 1] (the first factor is attained at λ = L). Here
    :math:`\kappa = \mu/L` (the paper's convention); the bound peaks near
    :math:`t \approx 1/\sqrt\kappa = \sqrt{L/\mu}` (33 for L/μ = 10³, 103 for 10⁴: chapter 3).
    ``jac0_err`` and ``G`` as in :func:`_scieur_gd`."""
    kappa, t = mu / L, jnp.asarray(t, dtype=jnp.result_type(float))
    xi = (1 - jnp.sqrt(kappa)) / (1 + jnp.sqrt(kappa))
    return 2 / (xi**t + xi**-t) * (jnp.abs(2 * t**2 / (1 - kappa) - 1) * jac0_err
                                   + 2 * t**2 / (L - mu) * G)


@jax.jit
def scieur_lower(t, L, mu, jac0_err):
    r"""Scieur et al. Prop. 1: for every first-order method some quadratic (G = 0) has
    :math:`\|\partial x_t - \partial x_*\|_F \ge \tfrac{2}{\xi^t + \xi^{-t}}\|\partial x_0 - \partial x_*\|_F`."""
    kappa, t = mu / L, jnp.asarray(t, dtype=jnp.result_type(float))
    xi = (1 - jnp.sqrt(kappa)) / (1 + jnp.sqrt(kappa))
    return 2 / (xi**t + xi**-t) * jac0_err


def one_step_bound(rho, L_F, L_J, dist):
    r"""Bolte et al. Cor. 1: :math:`\|J^{OS} x_k - J\bar x\|_{op} \le \frac{\rho L_F}{1-\rho} + L_J \|x_{k-1} - \bar x\|`.

    L_F: Lipschitz constant of θ ↦ F(x, θ) (bounds ‖∂_θF‖); L_J: of x ↦ ∂_θF(x, θ);
    dist = :math:`\|x_{k-1} - \bar x\|`. From Lemma 2: :math:`(I-A)^{-1}B - \tilde B = A(I-A)^{-1}B + B - \tilde B`.
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, high_open=True)
    return rho * L_F / (1 - rho) + L_J * dist


# --------------------------------------------------------------------------- Bolte Cor. 5
def one_step_smoothness(rho, L_F, L_J, l_g, l_grad):
    r"""A Lipschitz constant of :math:`\nabla(g\circ\bar x)` (proof of Bolte et al. Cor. 5).

    .. math:: L_h = \Big(\frac{L_J}{1-\rho}\Big(\frac{L_F}{1-\rho} + 1\Big) l_g
              + l_\nabla \frac{L_F}{1-\rho}\Big)\frac{L_F}{1-\rho};

    Cor. 5 requires the outer step :math:`\alpha \le 1/L_h`. Chapter 5.
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, high_open=True)
    s = L_F / (1 - rho)
    return (L_J / (1 - rho) * (s + 1) * l_g + l_grad * s) * s


def one_step_criticality(rho, L_F, L_J, l_g, l_grad, M, k):
    r"""Bolte et al. Cor. 5: the hypergradient error level of one-step descent (eq. 10).

    .. math:: \epsilon = \frac{\rho}{1-\rho}\big(L_F l_g
              + (L_J l_g + L_F l_\nabla) M \rho^{k-2}\big),

    obtained from Cor. 4 with :math:`\|x_j - \bar x\| \le \rho^j M/(1-\rho)`
    (:math:`M \ge \|x_0 - F(x_0, u)\|`, k >= 2 inner steps from :math:`x_0`):
    :math:`\|\nabla h(u) - d\| \le \epsilon`. Chapter 5.
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, high_open=True)
    if _validate.num_steps(k, "k") < 2:
        raise ValueError(f"k must be an int >= 2 (inner steps), got {k}")
    return rho / (1 - rho) * (L_F * l_g + (L_J * l_g + L_F * l_grad) * M * rho ** (k - 2))


def criticality_bound(eps, smoothness, gap, num_outer):
    r"""Bolte et al. Lemma 3 / Cor. 5: a bound on :math:`\min_{l \le K}\|\nabla h(u_l)\|^2`.

    .. math:: \min_{l \le K}\|\nabla h(u_l)\|^2 \le \epsilon^2 + \frac{2 L_h (h(u_0) - h^*)}{K+1}

    for steps :math:`u_{l+1} = u_l - d_l / L_h` with :math:`\|d_l - \nabla h(u_l)\| \le \epsilon`;
    ``num_outer`` = K, ``gap`` = :math:`h(u_0) - h^*`. Returns the bound on the squared norm.
    """
    K = _validate.num_steps(num_outer, "num_outer")
    return eps ** 2 + 2 * smoothness * gap / (K + 1)
