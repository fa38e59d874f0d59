"""Residual polynomials and the master identity (unrolling.polynomials, chapter 3).

References are independent of the recurrence being tested: closed forms
((1 - hλ)^t; NumPy's Chebyshev series for T_t), automatic differentiation of the
values in λ, the iterates of the methods in ``unrolling.methods``, and forward-mode
Jacobians of the unrolled iterations.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import chebyshev as np_cheb

from unrolling import (bounds, chebyshev, forward_mode, gradient_descent, heavy_ball, iterate,
                       polynomials, problems, sobolev)
from unrolling import data

PROPERTY = settings(max_examples=6, deadline=None, database=None, derandomize=True)
seeds = st.integers(0, 2**31 - 1)
L, MU, T = 1.0, 0.05, 40


def _spectral(key, n=6):
    """A quadratic with spectrum in [MU, L] (end points included) and its Hessian."""
    lam = jnp.concatenate([jnp.array([MU, L]), jax.random.uniform(key, (n - 2,), minval=MU,
                                                                 maxval=L)])
    problem = problems.spectral_quadratic(jax.random.fold_in(key, 1), lam,
                                          jax.random.normal(jax.random.fold_in(key, 2), (n,)))
    return problem, jax.hessian(problem.f)(jnp.zeros(n), 0.0)


def test_gd_recurrence_matches_closed_form():
    lam = jnp.linspace(0.0, 2.0, 9)
    P, dP = polynomials.residual_polynomials(*polynomials.gd_coefficients(0.7, T), lam)
    P_closed, dP_closed = polynomials.gd_residual(0.7, T, lam)
    t = np.arange(T + 1)[:, None]
    np.testing.assert_allclose(P, (1 - 0.7 * np.asarray(lam)[None]) ** t, atol=1e-13)
    np.testing.assert_allclose(P, P_closed, atol=1e-13)
    np.testing.assert_allclose(dP, dP_closed, atol=1e-11)


def test_chebyshev_matches_shifted_normalized_chebyshev_polynomial():
    lam = np.linspace(MU, L, 13)
    P, dP = polynomials.chebyshev_residual(L, MU, 25, jnp.asarray(lam))
    m, m0, dm = (2 * lam - L - MU) / (L - MU), -(L + MU) / (L - MU), 2 / (L - MU)
    for t in range(26):
        coef = np.eye(t + 1)[t]                                   # T_t in the Chebyshev basis
        scale = np_cheb.chebval(m0, coef)
        np.testing.assert_allclose(P[t], np_cheb.chebval(m, coef) / scale, atol=1e-12)
        np.testing.assert_allclose(dP[t], np_cheb.chebval(m, np_cheb.chebder(coef)) * dm / scale,
                                   atol=1e-9 * max(1.0, t**2 * dm))


def test_chebyshev_first_step_is_long_gradient_step():
    h, m = polynomials.chebyshev_coefficients(L, MU, 3)
    assert float(h[0]) == pytest.approx(2 / (L + MU)) and float(m[0]) == 0.0


@given(seeds)
@PROPERTY
def test_derivative_matches_autodiff_for_random_schedules(seed):
    key_h, key_m, key_l = jax.random.split(jax.random.PRNGKey(seed), 3)
    h = jax.random.uniform(key_h, (12,), minval=0.1, maxval=2.0)
    m = jax.random.uniform(key_m, (12,), minval=0.0, maxval=0.9)
    lam = jax.random.uniform(key_l, (5,), minval=0.0, maxval=1.5)
    _, dP = polynomials.residual_polynomials(h, m, lam)
    values = lambda lam_: polynomials.residual_polynomials(h, m, lam_)[0]  # noqa: E731
    dP_ad = jax.vmap(jax.jacfwd(lambda l: values(jnp.array([l]))[:, 0]))(lam).T
    np.testing.assert_allclose(dP, dP_ad, rtol=1e-10, atol=1e-10)


def _residual_case(method, H, c, x0):
    """(measured x_t - x*, P_t(H)(x0 - x*)) for a quadratic (H, c); jitted per method."""
    problem = problems.quadratic(H, c)
    if method == "gd":
        update, state = gradient_descent(problem.f, 1.7 / L), x0
        residual = lambda lam: polynomials.gd_residual(1.7 / L, T, lam)  # noqa: E731
    elif method == "heavy_ball":
        update, state = heavy_ball(problem.f, 0.8, 0.5), (x0, x0)
        coeffs = polynomials.heavy_ball_coefficients(0.8, 0.5, T)
        residual = lambda lam: polynomials.residual_polynomials(*coeffs, lam)  # noqa: E731
    else:
        update, init = chebyshev(problem.f, L, MU)
        state = init(x0)
        residual = lambda lam: polynomials.chebyshev_residual(L, MU, T, lam)  # noqa: E731
    x_star = problem.x_star(0.0)
    measured = iterate(update, state, 0.0, T)[:, :x0.size] - x_star[None]
    lam, V = jnp.linalg.eigh(H)
    P, _ = residual(lam)
    return measured, (P * (V.T @ (x0 - x_star))[None]) @ V.T


_residual_case_jit = jax.jit(_residual_case, static_argnums=0)


@pytest.mark.parametrize("method", ["gd", "heavy_ball", "chebyshev"])
@given(seeds)
@PROPERTY
def test_residual_polynomial_reproduces_iterates(method, seed):
    """x_t - x* = P_t(H)(x0 - x*) for the methods of unrolling.methods (the prediction is
    evaluated in the eigenbasis, as polynomials.apply_residual does)."""
    key = jax.random.PRNGKey(seed)
    problem, H = _spectral(key)
    x0 = jax.random.normal(jax.random.fold_in(key, 3), (6,))
    c = -jax.grad(problem.f)(jnp.zeros(6), 0.0)
    measured, predicted = _residual_case_jit(method, H, c, x0)
    scale = float(jnp.linalg.norm(x0 - problem.x_star(0.0)))
    np.testing.assert_allclose(measured, predicted, atol=1e-10 * scale)


def test_apply_residual_matches_iterates(key):
    problem, H = _spectral(key)
    x0 = jax.random.normal(key, (6,))
    x_star = problem.x_star(0.0)
    residual = lambda lam: polynomials.gd_residual(1.0, T, lam)  # noqa: E731
    measured = iterate(gradient_descent(problem.f, 1.0), x0, 0.0, T) - x_star[None]
    np.testing.assert_allclose(polynomials.apply_residual(H, residual, x0 - x_star), measured,
                               atol=1e-12 * float(jnp.linalg.norm(x0 - x_star)))


def _master_case(method, start, A, b, z):
    """(forward-mode Jacobian errors, master-identity prediction, scale) on ridge (A, b)."""
    problem, u = problems.ridge(A, b), 0.3
    H = A.T @ A + u * jnp.eye(A.shape[1])
    L_, mu_ = problem.smoothness(u), problem.strong_convexity(u)
    jac_star, zeros = problem.jacobian(u), jnp.zeros_like(z)
    if start == "zero":
        x0, dx0, G = zeros, zeros, zeros
    elif start == "random":
        x0, dx0, G = z, zeros, z                                   # dx0 = 0, G = x0
    else:
        x0, dx0, G = (lambda u_: u_ * z), z, H @ z + u * z         # G = H dx0 + x0(u)
    if method == "gd":
        update, state = gradient_descent(problem.f, 2 / (L_ + mu_)), x0
        residual = lambda lam: polynomials.gd_residual(2 / (L_ + mu_), T, lam)  # noqa: E731
    else:
        update, init = chebyshev(problem.f, L_, mu_)
        state = (lambda u_: init(x0(u_))) if callable(x0) else init(x0)
        residual = lambda lam: polynomials.chebyshev_residual(L_, mu_, T, lam)  # noqa: E731
    measured = forward_mode(update, state, u, T)[:, :z.size] - jac_star[None]
    lam, V = jnp.linalg.eigh(H)
    a, b_ = polynomials.jacobian_factors(*residual(lam), lam)
    comps = (a[..., None] * (V.T @ (dx0[:, None] - jac_star))[None]
             + b_[..., None] * (V.T @ G)[None, :, None])
    scale = jnp.linalg.norm(jac_star) + jnp.linalg.norm(G)
    return measured, jnp.einsum("ij,tjp->tip", V, comps), scale


_master_case_jit = jax.jit(_master_case, static_argnums=(0, 1))


@pytest.mark.parametrize("method", ["gd", "chebyshev"])
@pytest.mark.parametrize("start", ["zero", "random", "depends_on_u"])
@given(seeds)
@PROPERTY
def test_master_identity_matches_forward_mode_on_ridge(method, start, seed):
    """The Jacobian errors of forward mode equal Scieur et al.'s master identity, with G
    the *total* derivative of the initial gradient (H z + x0(u) for x0(u) = u z)."""
    A, b = data.least_squares_instance(jax.random.PRNGKey(seed), 12, 5)
    z = jax.random.normal(jax.random.PRNGKey(seed + 1), (5,))
    measured, predicted, scale = _master_case_jit(method, start, A, b, z)
    np.testing.assert_allclose(measured, predicted, atol=1e-9 * float(scale))


def test_master_identity_function_matches_forward_mode(key):
    """polynomials.master_identity itself (not only its formula) on one ridge instance."""
    A, b = data.least_squares_instance(key, 12, 5)
    problem, u = problems.ridge(A, b), 0.3
    H, z = A.T @ A + u * jnp.eye(5), jax.random.normal(key, (5,))
    h = 1.0 / float(problem.smoothness(u))
    jac_star = problem.jacobian(u)
    measured = forward_mode(gradient_descent(problem.f, h), z, u, T) - jac_star[None]
    predicted = polynomials.master_identity(H, lambda lam: polynomials.gd_residual(h, T, lam),
                                            -jac_star, z[:, None])
    np.testing.assert_allclose(measured, predicted,
                               atol=1e-9 * float(jnp.linalg.norm(jac_star) + jnp.linalg.norm(z)))


def test_master_identity_eigenbasis_is_a_change_of_basis(key):
    problem, H = _spectral(key)
    residual = lambda lam: polynomials.gd_residual(1.0, 10, lam)  # noqa: E731
    z, g = jnp.arange(6.0), jnp.ones(6)
    standard = polynomials.master_identity(H, residual, z, g)
    eigen = polynomials.master_identity(H, residual, z, g, eigenbasis=True)
    _, V = jnp.linalg.eigh(H)
    np.testing.assert_allclose(standard, eigen @ V.T, atol=1e-12)


def test_jacobian_factor_of_gd_is_decay_times_linear_growth():
    """P_t - λP_t' = (1 - hλ)^(t-1) (1 + (t-1)hλ) for gradient descent (chapter 3)."""
    lam, h = jnp.linspace(0.0, 1.0, 7), 1.9
    a, b = polynomials.jacobian_factors(*polynomials.gd_residual(h, T, lam), lam)
    t = np.arange(1, T + 1)[:, None]
    q = 1 - h * np.asarray(lam)[None]
    np.testing.assert_allclose(a[1:], q ** (t - 1) * (1 + (t - 1) * h * np.asarray(lam)[None]),
                               atol=1e-12)
    np.testing.assert_allclose(b[1:], -h * t * q ** (t - 1), atol=1e-12)


@given(seeds)
@PROPERTY
def test_every_method_is_above_the_lower_bound(seed):
    """Scieur et al. Prop. 1: max over [mu, L] of |P_t - λP_t'| >= 2/(ξ^t + ξ^-t), for
    gradient descent, heavy ball, Chebyshev and random momentum schedules."""
    key_h, key_m = jax.random.split(jax.random.PRNGKey(seed))
    grid = jnp.linspace(MU, L, 1001)
    schedules = [polynomials.gd_coefficients(float(jax.random.uniform(key_h, maxval=2 / L)), T),
                 polynomials.heavy_ball_coefficients(0.9, 0.6, T),
                 polynomials.chebyshev_coefficients(L, MU, T),
                 (jax.random.uniform(key_h, (T,), maxval=2.0), jax.random.uniform(key_m, (T,)))]
    lower = np.asarray(bounds.scieur_lower(np.arange(T + 1), L, MU, 1.0))
    for coeffs in schedules:
        worst, _ = polynomials.worst_case_factors(
            *polynomials.residual_polynomials(*coeffs, grid), grid)
        assert np.all(np.asarray(worst) >= (1 - 1e-9) * lower)


def test_chebyshev_bound_is_attained_at_the_top_of_the_spectrum():
    """Thm 3's factor |2t^2/(1-κ) - 1| 2/(ξ^t + ξ^-t) equals |P_t - λP_t'| at λ = L."""
    t = np.arange(T + 1)
    P, dP = polynomials.chebyshev_residual(L, MU, T, jnp.array([L]))
    a, _ = polynomials.jacobian_factors(P, dP, jnp.array([L]))
    np.testing.assert_allclose(np.abs(a[1:, 0]),
                               bounds.scieur_chebyshev(t, L, MU, 1.0, 0.0)[1:], rtol=1e-9)


def test_invalid_num_steps_is_rejected():
    with pytest.raises(ValueError, match="num_steps"):
        polynomials.gd_coefficients(0.5, -1)


# --- the asymptotic Sobolev method (chapter 6) ------------------------------------------

def _polyak(L_, mu_):
    """Polyak's heavy-ball step and momentum, written out independently."""
    s_L, s_mu = np.sqrt(L_), np.sqrt(mu_)
    return 4 / (s_L + s_mu) ** 2, ((s_L - s_mu) / (s_L + s_mu)) ** 2


def test_sobolev_residual_is_the_error_of_the_sobolev_iterates():
    """On a diagonal quadratic, x_t - x* = P_t(λ) (x_0 - x*) componentwise."""
    lam = jnp.concatenate([jnp.array([MU, L]), jnp.linspace(0.2, 0.9, 4)])
    b = jnp.linspace(-1.0, 1.0, 6)
    f = lambda x, u: 0.5 * x @ (lam * x) - b @ x                    # noqa: E731
    update, init = sobolev(f, L, MU)
    x0, x_star = jnp.linspace(2.0, -3.0, 6), b / lam
    errors = np.asarray(iterate(update, init(x0), 0.0, T))[:, :6] - np.asarray(x_star)
    P, _ = polynomials.sobolev_residual(L, MU, T, lam)
    np.testing.assert_allclose(errors, np.asarray(P) * np.asarray(x0 - x_star)[None],
                               rtol=0, atol=1e-12)


def test_sobolev_residual_derivative_matches_autodiff():
    lam = jnp.linspace(0.0, 1.2, 7)
    _, dP = polynomials.sobolev_residual(L, MU, T, lam)
    dP_ad = jax.vmap(jax.jacfwd(
        lambda x: polynomials.sobolev_residual(L, MU, T, jnp.array([x]))[0][:, 0]))(lam).T
    np.testing.assert_allclose(dP, dP_ad, rtol=1e-10, atol=1e-10)


def test_sobolev_residual_is_one_at_zero():
    P, dP = polynomials.sobolev_residual(L, MU, 3 * T, jnp.zeros(1))
    np.testing.assert_allclose(P[:, 0], 1.0, rtol=0, atol=1e-13)
    assert P.shape == dP.shape == (3 * T + 1, 1)


def test_sobolev_worst_case_factor_decays_at_rate_sqrt_m():
    """max_[mu, L] |P_t - λP_t'| shrinks by √m per step at large t (heavy ball's rate,
    Scieur Thm 4). The factor behaves like t² √m^t at the ends of the spectrum, so the
    successive ratio is about √m (1 + 2/t): within 1% of √m from t = 400 on, whereas
    gradient descent's is ρ = (L - μ)/(L + μ), far from it."""
    t_max, grid = 420, jnp.linspace(MU, L, 1001)
    worst, _ = polynomials.worst_case_factors(
        *polynomials.sobolev_residual(L, MU, t_max, grid), grid)
    ratios = np.asarray(worst[401:] / worst[400:-1])
    sqrt_m = np.sqrt(_polyak(L, MU)[1])
    assert np.all(np.abs(ratios / sqrt_m - 1) < 0.01)
    assert (L - MU) / (L + MU) > 1.3 * sqrt_m


def test_eq_17_with_the_previous_iterate_is_heavy_ball():
    """x_t = y_t + m(x_{t-1} - y_{t-1}) gives P_t = Q_t (heavy ball); eq. 17 as printed,
    with y_{t-2}, gives another polynomial."""
    grid = jnp.linspace(MU, L, 51)
    h, m = _polyak(L, MU)
    Q, dQ = polynomials.residual_polynomials(
        *polynomials.heavy_ball_coefficients(h, m, T), grid)
    P1, dP1 = polynomials._averaged_residual(Q, dQ, m, 1)
    np.testing.assert_allclose(P1, Q, rtol=0, atol=1e-14)
    np.testing.assert_allclose(dP1, dQ, rtol=0, atol=1e-12)
    P2, _ = polynomials.sobolev_residual(L, MU, T, grid)
    assert np.abs(P2 - Q)[2].max() > 0.1


def test_sobolev_residual_tends_to_the_chebyshev_residual():
    """Measured (chapter 6): eq. 17 as printed makes P_t approach Chebyshev's residual
    C_t. Both decay like √m^t; their gap like m^t, so the relative gap
    max|P_t - C_t| / max|C_t| over [mu, L] shrinks like √m^t (within a factor 3 for
    10 <= t <= 60), from 0.4 at t = 2."""
    grid, t_max = jnp.linspace(MU, L, 201), 60
    S, _ = polynomials.sobolev_residual(L, MU, t_max, grid)
    C, _ = polynomials.chebyshev_residual(L, MU, t_max, grid)
    rel = np.abs(np.asarray(S - C)).max(axis=1) / np.abs(np.asarray(C)).max(axis=1)
    sqrt_m, t = np.sqrt(_polyak(L, MU)[1]), np.arange(10, t_max + 1)
    assert rel[2] > 0.3
    assert np.all(rel[10:] < 3 * sqrt_m ** t)


# --- the non-asymptotic Sobolev method: Prop. 3's optimal polynomials (chapter 6) -------

ETA = L / MU                                          # Scieur et al.'s Fig. 3 choice


def _m(lam):
    return (2 * np.asarray(lam) - L - MU) / (L - MU)


def _theta_rule(num):
    """Midpoint rule in θ for the α = 1 probability measure on [MU, L]: with m = cos θ,
    ∫ f dμ = (2/π) ∫_0^π f(cos θ) sin²θ dθ, exact for polynomials f of degree < 2 num - 2
    (independent of the Gauss–Gegenbauer rule inside the function)."""
    theta = (np.arange(num) + 0.5) * np.pi / num
    return (L + MU + (L - MU) * np.cos(theta)) / 2, 2 * np.sin(theta) ** 2 / num


def _lstsq_optimum(t, lam, w, eta):
    """argmin ||P||_η over P = 1 + λq, deg q < t, q in the Chebyshev basis of m: an
    unconstrained least-squares solve (NumPy); values and λ-derivatives at ``lam``."""
    V = np_cheb.chebvander(_m(lam), t - 1)
    dV = np.stack([np_cheb.chebval(_m(lam), np_cheb.chebder(e)) for e in np.eye(t)], 1)
    dV = dV * 2 / (L - MU)
    A = np.concatenate([np.sqrt(w)[:, None] * lam[:, None] * V,
                        np.sqrt(eta * w)[:, None] * (V + lam[:, None] * dV)])
    c = np.linalg.lstsq(A, -np.concatenate([np.sqrt(w), 0 * w]), rcond=None)[0]
    return 1 + lam * (V @ c), V @ c + lam * (dV @ c)


def _decimal_optimum(t_max, lam, eta, digits=200):
    """P_t* and P_t*', t = 0..t_max, at ``lam`` in 200-digit decimal arithmetic: monomials
    m^k with the exact moments of the α = 1 probability measure (E m^(2j) = C_j / 4^j,
    Catalan numbers), Gram–Schmidt in the η-product, then Prop. 3's sum."""
    from decimal import Decimal, localcontext
    from math import comb
    with localcontext() as ctx:
        ctx.prec = digits
        D = lambda v: Decimal(repr(float(v)))                        # noqa: E731
        s, n = 2 / (D(L) - D(MU)), t_max + 1
        mom = [Decimal(comb(k, k // 2)) / (k // 2 + 1) / 2**k if k % 2 == 0 else Decimal(0)
               for k in range(2 * n)]
        gram = [[mom[i + j] + (D(eta) * s * s * i * j * mom[i + j - 2] if i * j else 0)
                 for j in range(n)] for i in range(n)]
        low, d = [[Decimal(0)] * n for _ in range(n)], [Decimal(0)] * n   # G = low diag(d) lowᵀ
        for j in range(n):
            d[j] = gram[j][j] - sum(low[j][k] ** 2 * d[k] for k in range(j))
            for i in range(j + 1, n):
                low[i][j] = (gram[i][j] - sum(low[i][k] * low[j][k] * d[k]
                                              for k in range(j))) / d[j]

        def orth(v):                                   # values of S_i (monic) from m^k values
            out = []
            for i in range(n):
                out.append(v[i] - sum(low[i][k] * out[k] for k in range(i)))
            return out

        def powers(x):
            return [x**k if k else Decimal(1) for k in range(n)]

        s0 = orth(powers(-(D(L) + D(MU)) / (D(L) - D(MU))))
        result = []
        for x in lam:
            m = (2 * D(x) - D(L) - D(MU)) / (D(L) - D(MU))
            S = orth(powers(m))
            dS = orth([k * (m ** (k - 1) if k > 1 else Decimal(1)) * s for k in range(n)])
            num, dnum, den, row = Decimal(0), Decimal(0), Decimal(0), []
            for i in range(n):
                num, dnum = num + s0[i] * S[i] / d[i], dnum + s0[i] * dS[i] / d[i]
                den += s0[i] ** 2 / d[i]
                row.append((float(num / den), float(dnum / den)))
            result.append(row)
    return np.array(result).transpose(2, 1, 0)          # (2, t_max + 1, len(lam))


def test_sobolev_optimal_residual_is_one_at_zero_and_of_degree_t():
    """P_t*(0) = 1 for every t, and P_t* is a polynomial of degree t: its least-squares
    Chebyshev fit of degree t on 2T + 3 points of [MU, L] leaves it unchanged (1e-12),
    the fit of degree t - 1 does not (t >= 1)."""
    t_max, lam = 30, np.linspace(MU, L, 63)
    P, dP = polynomials.sobolev_optimal_residual(L, MU, t_max, np.append(0.0, lam), eta=ETA)
    assert P.shape == dP.shape == (t_max + 1, 64)
    np.testing.assert_allclose(P[:, 0], 1.0, rtol=0, atol=1e-13)
    for t, p in enumerate(np.asarray(P[:, 1:])):
        fit = np_cheb.chebval(_m(lam), np_cheb.chebfit(_m(lam), p, t))
        assert np.abs(fit - p).max() < 1e-12 * np.abs(p).max(), t
        if t:
            lower = np_cheb.chebval(_m(lam), np_cheb.chebfit(_m(lam), p, t - 1))
            assert np.abs(lower - p).max() > 1e-6 * np.abs(p).max(), t


def test_sobolev_optimal_residual_matches_a_high_precision_solve():
    """Float64 accuracy: against the monomial solve in 120-digit arithmetic, P_t*, P_t*'
    and the Jacobian factor P_t* - λP_t*' agree to 1e-12 relative to their maximum over
    the points, for all t <= 80. Measured with this reference at more digits: at most
    4e-12 up to T = 300 (κ = 20, 100, 1000); at T = 600 (κ = 20) 4e-11 for P, 6e-12 for
    P' and the factor. The Gauss weights are the Christoffel numbers of the orthonormal
    basis: SciPy's ``roots_gegenbauer`` weights lose 1e-10 at T = 300 (the error was
    then 2e-10)."""
    t_max, lam = 80, np.linspace(MU, L, 5)
    ref_P, ref_dP = _decimal_optimum(t_max, lam, ETA, digits=120)
    P, dP = map(np.asarray, polynomials.sobolev_optimal_residual(L, MU, t_max, lam, eta=ETA))
    for got, want in [(P, ref_P), (dP, ref_dP), (P - lam * dP, ref_P - lam * ref_dP)]:
        scale = np.abs(want).max(axis=1, keepdims=True)
        assert np.all(np.abs(got - want) <= 1e-12 * np.maximum(scale, 1e-300))


def test_sobolev_optimal_residual_has_the_least_sobolev_norm():
    """||P_t*||_η (α = 1, η = L/μ, an independent quadrature) is at most that of gradient
    descent (both steps), heavy ball, Chebyshev and the asymptotic Sobolev method of the
    same degree, equals the least-squares optimum over P = 1 + λq (1e-9), is
    non-increasing in t and at most ||1||_η = 1 (the "limited burn-in" argument)."""
    t_max = 30
    lam, w = _theta_rule(4 * t_max)
    norm = lambda P, dP: np.sqrt((np.asarray(P)**2 + ETA * np.asarray(dP)**2) @ w)  # noqa: E731
    best = norm(*polynomials.sobolev_optimal_residual(L, MU, t_max, lam, eta=ETA))
    h, m = _polyak(L, MU)
    others = {"GD 1/L": polynomials.gd_residual(1 / L, t_max, lam),
              "GD 2/(L+mu)": polynomials.gd_residual(2 / (L + MU), t_max, lam),
              "heavy ball": polynomials.residual_polynomials(
                  *polynomials.heavy_ball_coefficients(h, m, t_max), lam),
              "Chebyshev": polynomials.chebyshev_residual(L, MU, t_max, lam),
              "Sobolev (asymptotic)": polynomials.sobolev_residual(L, MU, t_max, lam)}
    for name, (P, dP) in others.items():
        assert np.all(best <= norm(P, dP) * (1 + 1e-12)), name
    lstsq = [norm(*(v[None] for v in _lstsq_optimum(t, lam, w, ETA)))[0]
             for t in range(1, t_max + 1)]
    np.testing.assert_allclose(best[1:], lstsq, rtol=1e-9)
    assert best[0] == pytest.approx(1.0, rel=1e-12)
    assert np.all(np.diff(best) <= 1e-12) and np.all(best <= 1 + 1e-12)


def test_sobolev_optimal_residual_tends_to_the_l2_optimum_as_eta_vanishes():
    """η → 0: P_t* tends to the L²(μ)-optimal residual, the kernel polynomial
    Σ U_i(m) U_i(m_0) / Σ U_i(m_0)² of the μ-orthogonal polynomials (Chebyshev U,
    SciPy's values). At η = 0 they agree to 1e-12 relative to max |P_t| on [MU, L], and
    both agree with an independent least-squares solve over P = 1 + λq to 1e-9 absolute
    (its cancellation: P_t is 1e-6 at t = 30); the gap is first order in η (measured:
    1.4e5 η at t = 30, the largest; asserted < 2e5 η) for η = 1e-6, 1e-8, 1e-10."""
    from scipy.special import eval_chebyu
    t_max, lam_eval = 30, np.linspace(MU, L, 9)
    U = eval_chebyu(np.arange(t_max + 1)[:, None], np.append(_m(0.0), _m(lam_eval))[None])
    kernel = np.cumsum(U[:, :1] * U[:, 1:], 0) / np.cumsum(U[:, :1] ** 2, 0)
    lam, w = _theta_rule(4 * t_max)
    for t in range(1, t_max + 1):
        P_ls = _lstsq_optimum(t, np.append(lam, lam_eval), np.append(w, 0 * lam_eval), 0.0)[0]
        assert np.abs(P_ls[lam.size:] - kernel[t]).max() < 1e-9, t
    for eta, tol in [(0.0, 1e-12), (1e-6, 2e-1), (1e-8, 2e-3), (1e-10, 2e-5)]:
        P, _ = polynomials.sobolev_optimal_residual(L, MU, t_max, lam_eval, eta=eta)
        gap = np.abs(np.asarray(P) - kernel).max(axis=1) / np.abs(kernel).max(axis=1)
        assert gap.max() < tol, eta


def test_sobolev_optimal_residual_derivative_matches_finite_differences():
    """dP equals the fourth-order central difference of P in λ (h = 1e-4) at points of
    [0, 1.2], to 1e-8 of max |P_t'| for each t <= 40 (measured: 1.1e-10)."""
    x, h = np.linspace(0.0, 1.2, 7), 1e-4
    P, dP = polynomials.sobolev_optimal_residual(
        L, MU, T, np.concatenate([x + k * h for k in (-2, -1, 0, 1, 2)]), eta=ETA)
    P, dP = np.asarray(P).reshape(T + 1, 5, 7), np.asarray(dP).reshape(T + 1, 5, 7)[:, 2]
    fd = (P[:, 0] - 8 * P[:, 1] + 8 * P[:, 3] - P[:, 4]) / (12 * h)
    assert np.all(np.abs(fd - dP)[1:].max(1) < 1e-8 * np.abs(dP)[1:].max(1))
    assert np.all(dP[0] == 0.0)
