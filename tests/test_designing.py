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
LOWER = "lower bound (Prop. 1)"


def _xi(L, mu):
    return (1 - np.sqrt(mu / L)) / (1 + np.sqrt(mu / L))


@pytest.fixture(scope="module", params=[(10.0, 0.5), (1.0, 0.01)], ids=["kappa20", "kappa100"])
def rates(request):
    L, mu = request.param
    return L, mu, designing.worst_case_rates(L, mu, 150)


def test_worst_case_rates_hold_every_method_and_the_lower_bound(rates):
    *_, r = rates
    assert set(r) == {GD_SHORT, GD_LONG, HB, CHEB, SOB, LOWER}
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
    Sobolev's."""
    L, mu, r = rates
    kappa = L / mu
    peak = {name: (v.max(), int(v.argmax())) for name, v in r.items()}
    assert peak[GD_SHORT] == (1.0, 0)
    assert peak[GD_LONG][0] == pytest.approx(kappa / np.e, rel=0.01)
    assert abs(peak[GD_LONG][1] - kappa / 2) <= 1
    assert abs(peak[CHEB][1] - np.sqrt(kappa)) <= 1
    assert peak[GD_LONG][0] < peak[CHEB][0] <= peak[SOB][0] < 1.03 * peak[CHEB][0]
    assert peak[CHEB][1] - 1 <= peak[SOB][1] <= peak[CHEB][1]
    assert peak[HB][0] > 1.9 * peak[SOB][0] and peak[HB][1] > peak[SOB][1]


def test_chebyshev_and_sobolev_share_the_accelerated_tail(rates):
    """Both decay like √m^t = ξ^t (up to polynomial factors), GD like ρ^t: at t = 150 they
    agree with each other to 1e-3 relative and are far below the long GD step."""
    *_, r = rates
    assert r[SOB][-1] == pytest.approx(r[CHEB][-1], rel=1e-3)
    assert r[SOB][-1] < 1e-6 * r[GD_LONG][-1]


@pytest.fixture(scope="module")
def small_ridge():
    """The ridge instance of tests/test_methods.py (shares its compiled sampler)."""
    A, b = data.least_squares_instance(jax.random.PRNGKey(0), 12, 4)
    return A, b, 0.3, jnp.array([1.5, -2.0, 0.5, 3.0])


def test_jacobian_suboptimality_is_the_master_identity(small_ridge):
    """‖∂x_t − ∂x*‖_F / ‖∂x_0 − ∂x*‖_F from forward mode equals the master identity with
    each method's residual polynomials, ∂x_0 − ∂x* = −Dx* and G = x0 (the total
    derivative of ∇f(x0, u) = (AᵀA + uI)x0 − Aᵀb in u), to 1e-10 relative."""
    A, b, u, x0 = small_ridge
    T, H = 60, A.T @ A + u * jnp.eye(4)
    lam = np.linalg.eigvalsh(np.asarray(H))
    L, mu = float(lam[-1]), float(lam[0])
    got = designing.jacobian_suboptimality(A, b, u, x0, T)
    residuals = {GD_LONG: lambda lam_: polynomials.gd_residual(2 / (L + mu), T, lam_),
                 CHEB: lambda lam_: polynomials.chebyshev_residual(L, mu, T, lam_),
                 SOB: lambda lam_: polynomials.sobolev_residual(L, mu, T, lam_)}
    assert set(got) == set(residuals)
    jac = problems.ridge(A, b).jacobian(u)
    for name, residual in residuals.items():
        pred = np.linalg.norm(polynomials.master_identity(H, residual, -jac, x0[:, None]),
                              axis=(1, 2))
        np.testing.assert_allclose(got[name], pred / pred[0], rtol=1e-10, atol=1e-13)
        assert got[name][0] == pytest.approx(1.0, rel=1e-15)


def test_ridge_setups_show_the_burn_in_and_the_accelerated_tail():
    """On the three Fig. 4 problems (κ between 50 and 150): GD and Chebyshev rise above
    their start (GD by at least 30%, Chebyshev by at least 2x), the asymptotic Sobolev
    method peaks with Chebyshev (within 10%), and at T = 300 Chebyshev and Sobolev are
    at rounding level while GD is not."""
    setups = designing.ridge_setups(jax.random.PRNGKey(0))
    assert list(setups) == ["breast cancer", "diabetes", "synthetic"]
    for name, (A, b, u, x0) in setups.items():
        lam = np.linalg.eigvalsh(np.asarray(A.T @ A)) + u
        assert 50 < lam[-1] / lam[0] < 150, name
        r = designing.jacobian_suboptimality(A, b, u, x0, 300)
        assert r[GD_LONG].max() > 1.3 and r[CHEB].max() > 2.0, name
        assert r[CHEB].max() < r[SOB].max() < 1.1 * r[CHEB].max(), name
        assert max(r[CHEB][-1], r[SOB][-1]) < 1e-12 < r[GD_LONG][-1], name


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
