"""Chapter 6, part 1 (``unrolling.designing``): Scieur et al.'s Figs. 3 and 4.

The worst-case curves are checked against Prop. 1's lower bound and against the peak
heights and positions derived in chapter 3 (GD: about κ/e near κ/2; Chebyshev: near
√κ); the Jacobian errors of the unrolled methods against the master identity
(Scieur et al. Thm 1) evaluated with each method's residual polynomials.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import (Adaptive, data, designing, forward_mode, methods, polynomials,
                       problems, truncation)

GD_SHORT, GD_LONG = r"GD, $h = 1/L$", r"GD, $h = 2/(L+\mu)$"
HB, CHEB, SOB = "heavy ball (Polyak)", "Chebyshev", "Sobolev (asymptotic)"
SOB_OPT, SOB_FIG4 = "Sobolev (η = L/ℓ)", "Sobolev (η = 1)"     # non-asymptotic (Prop. 3)
LOWER = "lower bound (Prop. 1)"


def _xi(L, mu):
    return (1 - np.sqrt(mu / L)) / (1 + np.sqrt(mu / L))


@pytest.fixture(scope="module", params=[(10.0, 0.5), (1.0, 0.01)], ids=["kappa20", "kappa100"])
def rates(request):
    L, mu = request.param
    return L, mu, designing.worst_case_rates(L, mu, 150)


def test_worst_case_rates_hold_every_method_and_the_lower_bound(rates):
    *_, r = rates
    assert set(r) == {GD_SHORT, GD_LONG, HB, CHEB, SOB, SOB_OPT, LOWER}
    assert list(r)[-1] == LOWER
    assert all(v.shape == (151,) for v in r.values())


def test_lower_bound_is_below_every_method_at_every_t(rates):
    """Prop. 1: P_t - λP_t' has degree t and value 1 at 0, so its maximum over [mu, L]
    is at least 2/(ξ^t + ξ^-t). The grid maximum is at most the maximum over the
    interval, so checking it on the grid is stricter than the proposition; the
    tolerance 1e-12 covers rounding only: at t = 0 both sides are exactly 1, and for
    t >= 1 the smallest margin, at t = 1 (every method's factor is 1 there), is
    (ξ + 1/ξ)/2 - 1 (0.105 for κ = 20)."""
    L, mu, r = rates
    lower = r[LOWER]
    for name, v in r.items():
        assert np.all(v >= (1 - 1e-12) * lower), name
        assert v[0] == 1.0 == lower[0]
        if name == LOWER:
            continue
        margin = np.min(v[1:] / lower[1:])
        assert margin == pytest.approx((_xi(L, mu) + 1 / _xi(L, mu)) / 2, rel=1e-9), name


def test_peak_heights_and_positions(rates):
    """Measured and derived: the short GD step never rises (Scieur Cor. 2); the long
    step peaks at about κ/e near t = κ/2; Chebyshev near √κ, higher than GD; the
    asymptotic Sobolev method within 3% of Chebyshev's peak (not below it), at most
    one step earlier; heavy ball's peak about twice (κ = 20) to four times (κ = 100)
    Sobolev's. The non-asymptotic Sobolev method (η = L/μ) has the limited burn-in:
    peak 1.671 at t = 7 (κ = 20, L = 10) and 1.122 at t = 27 (κ = 100, L = 1), so the
    true order of the peaks is GD 1/L (1, at t = 0) < Sobolev η = L/μ < GD 2/(L+μ)
    (7.37, 36.8) < Chebyshev (10.5, 53.1) < asymptotic Sobolev (10.6, 54.1) < heavy
    ball (20.8, 225)."""
    L, mu, r = rates
    kappa = L / mu
    peak = {name: (v.max(), int(v.argmax())) for name, v in r.items()}
    order = [GD_SHORT, SOB_OPT, GD_LONG, CHEB, SOB, HB]
    assert np.all(np.diff([peak[name][0] for name in order]) > 0)
    height, position = {20: (1.671, 7), 100: (1.122, 27)}[round(kappa)]
    assert peak[SOB_OPT][0] == pytest.approx(height, abs=1e-3)
    assert peak[SOB_OPT][1] == position
    assert peak[GD_SHORT] == (1.0, 0)
    assert peak[GD_LONG][0] == pytest.approx(kappa / np.e, rel=0.01)
    assert abs(peak[GD_LONG][1] - kappa / 2) <= 1
    assert abs(peak[CHEB][1] - np.sqrt(kappa)) <= 1
    assert peak[GD_LONG][0] < peak[CHEB][0] <= peak[SOB][0] < 1.03 * peak[CHEB][0]
    assert peak[CHEB][1] - 1 <= peak[SOB][1] <= peak[CHEB][1]
    assert peak[HB][0] > 1.9 * peak[SOB][0] and peak[HB][1] > peak[SOB][1]


def test_chebyshev_and_sobolev_share_the_accelerated_tail(rates):
    """Both decay like √m^t = ξ^t (up to polynomial factors), GD like ρ^t: at t = 150 they
    agree with each other to 1e-3 relative and are far below the long GD step. The
    non-asymptotic Sobolev method is accelerated too: at t = 150 its factor is below
    Chebyshev's (measured: 2.8 times for κ = 20, 5.7 times for κ = 100)."""
    *_, r = rates
    assert r[SOB][-1] == pytest.approx(r[CHEB][-1], rel=1e-3)
    assert r[SOB][-1] < 1e-6 * r[GD_LONG][-1]
    assert 2 * r[SOB_OPT][-1] < r[CHEB][-1]


@pytest.fixture(scope="module")
def small_ridge():
    """The ridge instance of tests/test_methods.py (shares its compiled sampler)."""
    A, b = data.least_squares_instance(jax.random.PRNGKey(0), 12, 4)
    return A, b, 0.3, jnp.array([1.5, -2.0, 0.5, 3.0])


def test_jacobian_suboptimality_is_the_master_identity(small_ridge):
    """‖∂x_t − ∂x*‖_F / ‖∂x_0 − ∂x*‖_F from forward mode equals the master identity with
    each method's residual polynomials, ∂x_0 − ∂x* = −Dx* and G = x0 (the total
    derivative of ∇f(x0, u) = (AᵀA + uI)x0 − Aᵀb in u), to 1e-10 relative. (The
    non-asymptotic Sobolev curve is computed by this identity; it is checked against
    the derivative of its iterates in the next test.)"""
    A, b, u, x0 = small_ridge
    T, H = 60, A.T @ A + u * jnp.eye(4)
    lam = np.linalg.eigvalsh(np.asarray(H))
    L, mu = float(lam[-1]), float(lam[0])
    got = designing.jacobian_suboptimality(A, b, u, x0, T)
    residuals = {GD_LONG: lambda lam_: polynomials.gd_residual(2 / (L + mu), T, lam_),
                 CHEB: lambda lam_: polynomials.chebyshev_residual(L, mu, T, lam_),
                 SOB: lambda lam_: polynomials.sobolev_residual(L, mu, T, lam_),
                 SOB_FIG4: lambda lam_: polynomials.sobolev_optimal_residual(L, mu, T, lam_)}
    assert set(got) == set(residuals)
    jac = problems.ridge(A, b).jacobian(u)
    for name, residual in residuals.items():
        pred = np.linalg.norm(polynomials.master_identity(H, residual, -jac, x0[:, None]),
                              axis=(1, 2))
        np.testing.assert_allclose(got[name], pred / pred[0], rtol=1e-10, atol=1e-13)
        assert got[name][0] == pytest.approx(1.0, rel=1e-15)


def test_non_asymptotic_sobolev_curve_is_the_derivative_of_its_iterates(small_ridge):
    """Independently of the master identity: the iterates of the method with residual
    P_t* are x_t(u) = x*(u) + P_t*(H(u))(x0 − x*(u)) (Scieur et al. eq. 4), and with
    H(u) = AᵀA + uI the eigenvectors do not move with u, so ∂x_t is forward-mode
    autodiff of x*(u) + V P_t*(λ + u) Vᵀ(x0 − x*(u)), with [mu, L] held at u's. The
    relative errors agree with jacobian_suboptimality's curve to 1e-9."""
    A, b, u, x0 = small_ridge
    T, H0 = 60, np.asarray(A.T @ A)
    lam, V = np.linalg.eigh(H0)
    L, mu = float(lam[-1]) + u, float(lam[0]) + u

    def iterates(v):
        x_star = jnp.linalg.solve(H0 + v * jnp.eye(4), A.T @ b)
        P, _ = polynomials.sobolev_optimal_residual(L, mu, T, lam + v, eta=1.0)
        return x_star[None] + (P * (V.T @ (x0 - x_star))[None]) @ V.T

    dx = jax.jacfwd(iterates)(u)
    err = np.linalg.norm(np.asarray(dx - problems.ridge(A, b).jacobian(u)[:, 0][None]), axis=1)
    got = designing.jacobian_suboptimality(A, b, u, x0, T)[SOB_FIG4]
    np.testing.assert_allclose(got, err / err[0], rtol=1e-9, atol=1e-14)


def test_ridge_setups_show_the_burn_in_and_the_accelerated_tail():
    """On the three Fig. 4 problems (κ between 50 and 150): GD and Chebyshev rise above
    their start (GD by at least 30%, Chebyshev by at least 2x), the asymptotic Sobolev
    method peaks with Chebyshev (within 10%), and at T = 300 Chebyshev and Sobolev are
    at rounding level while GD is not. The non-asymptotic Sobolev method with the
    paper's η = 1 (α = 1) still has a burn-in: η(2/(L − μ))² < 1e-4 on these spectra,
    so it is nearly the η = 0 optimum. Measured peaks (height, t) —
    breast cancer: GD 7.66 (42), Chebyshev 11.5 (9), asymptotic 11.8 (9), η = 1 8.50
    (14); diabetes: 3.78 (37), 5.56 (7), 5.79 (7), 2.90 (11); synthetic: 1.45 (12),
    2.44 (5), 2.63 (5), 1.51 (6). So it peaks below Chebyshev, above GD on breast
    cancer and synthetic, below it on diabetes; its tail (the master identity, no
    rounding floor) is below 1e-20 at T = 300."""
    setups = designing.ridge_setups(jax.random.PRNGKey(0))
    assert list(setups) == ["breast cancer", "diabetes", "synthetic"]
    measured = {"breast cancer": 8.50, "diabetes": 2.90, "synthetic": 1.51}
    for name, (A, b, u, x0) in setups.items():
        lam = np.linalg.eigvalsh(np.asarray(A.T @ A)) + u
        assert 50 < lam[-1] / lam[0] < 150 and (2 / (lam[-1] - lam[0]))**2 < 1e-4, name
        r = designing.jacobian_suboptimality(A, b, u, x0, 300)
        assert r[GD_LONG].max() > 1.3 and r[CHEB].max() > 2.0, name
        assert r[CHEB].max() < r[SOB].max() < 1.1 * r[CHEB].max(), name
        assert max(r[CHEB][-1], r[SOB][-1]) < 1e-12 < r[GD_LONG][-1], name
        assert r[SOB_FIG4].max() == pytest.approx(measured[name], abs=0.01), name
        assert 1.3 < r[SOB_FIG4].max() < r[CHEB].max() and r[SOB_FIG4][-1] < 1e-20, name
        assert (r[SOB_FIG4].max() < r[GD_LONG].max()) == (name == "diabetes"), name


# ------------------------------------------------------------ part 2: adaptive truncation
def _long(L, m):
    return 2 / (L + m)


def test_adaptive_sweep_fixed_fractions_and_oracle_match_the_chapter_4_sweep():
    key = jax.random.PRNGKey(4)
    res = designing.adaptive_sweep(key, 5, _long, jax.random.uniform, num_draws=6)
    ref = truncation.truncation_sweep(key, 5, _long, jax.random.uniform, num_draws=6)
    assert np.allclose(res.forward_final, ref.forward_final, rtol=1e-10)
    assert np.allclose(res.reverse_final, ref.reverse_final, rtol=1e-10)
    assert np.isclose(res.oracle_fraction, ref.best_fraction_bound, rtol=1e-12)


def test_adaptive_sweep_applies_the_estimators_rule_to_each_draw():
    """With ω = 0 (no reallocation) the sweep's T per draw is Adaptive().start on the
    draw's gradient-descent run, and its final error is forward mode started there."""
    key, N, D = jax.random.PRNGKey(5), 5, 3
    res = designing.adaptive_sweep(key, N, _long, jax.random.uniform, num_draws=D,
                                   omega=0.0)
    A, b, v, w = data.appendix_c_draws(key, D, 50, N)
    x0s = jax.random.uniform(jax.random.fold_in(key, 1), (D, N))
    f = lambda x, u: 0.5 * jnp.sum((u[0] @ x - u[1]) ** 2)  # noqa: E731
    finals = []
    for d in range(D):
        lam = np.linalg.eigvalsh(A[d].T @ A[d])
        update = methods.gradient_descent(f, _long(lam[-1], lam[0]))
        u, K = (A[d], b[d]), int(res.K[d])
        T = Adaptive().start(update, x0s[d], u, K)
        assert T == res.adaptive_T[d]
        tangent = (v[0][d], v[1][d])
        jvp = forward_mode(update, x0s[d], u, K, start=T, v=tangent)[-1]
        H = A[d].T @ A[d]
        x_star = np.linalg.solve(H, A[d].T @ b[d])
        dH = tangent[0].T @ A[d] + A[d].T @ tangent[0]
        dc = tangent[0].T @ b[d] + A[d].T @ tangent[1]
        finals.append(np.linalg.norm(jvp - np.linalg.solve(H, dc - dH @ x_star)))
    assert np.isclose(res.adaptive[0], np.median(finals), rtol=1e-8)
