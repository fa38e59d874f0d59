"""Error curves of chapter 3 (unrolling.curse) and the bounds the chapter draws over them.

Every bound drawn in ``book/03_curse.ipynb`` is checked here to dominate the measured
error it bounds, in the chapter's own setups and on random instances:

* iterate bound (8) and Theorem 7 (Γ = α for gradient descent on ridge) over
  :math:`e^{(k)}` and :math:`\\dot e^{(k)}`; Lemma 4's sum over :math:`\\dot e^{(k)}`;
* Scieur et al.'s Thm 2, Cor. 1 (both steps) and Thm 3 over the Jacobian errors of
  gradient descent and Chebyshev, with G from ``curse.scieur_constants``;
* the explorer's two bounds for several slider settings.

"Dominates" allows float64 roundoff: measured <= bound (1 + 1e-9) + 1e-12 scale.
"""
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unrolling import (bounds, chebyshev, curse, errors, forward_mode, gradient_descent,
                       heavy_ball, implicit_jacobian, polynomials, problems)
from unrolling import data

matplotlib.use("Agg")
PROPERTY = settings(max_examples=5, deadline=None, database=None, derandomize=True)
seeds = st.integers(0, 2**31 - 1)
K = 60


def dominated(measured, bound, scale):
    measured, bound = np.asarray(measured), np.asarray(bound)
    return bool(np.all(measured <= bound * (1 + 1e-9) + 1e-12 * scale))


def _ridge_data(seed, M=12, N=5):
    A, b = data.least_squares_instance(jax.random.PRNGKey(seed), M, N)
    return A, b, A.T @ A, A.T @ b


@pytest.fixture(scope="module")
def flat():
    """The chapter's running problem, smaller: flat-derivative quadratic, spectrum [0.01, 1]."""
    lam = data.geometric_spectrum(1.0, 0.01, 12)
    problem = problems.spectral_quadratic(jax.random.PRNGKey(0), lam,
                                          data.flat_derivative_weights(lam))
    H0, c = curse.quadratic_data(problem)
    return problem, lam, H0, c


# --- error_curves and its compiled quadratic version --------------------------------

def test_error_curves_consistency(flat):
    problem, lam, H0, c = flat
    x0 = jnp.zeros(12)
    curves = curse.quadratic_error_curves(H0, c, x0, 2 / 1.01, K)
    jac_norm = float(jnp.linalg.norm(problem.jacobian(0.0)))
    assert curves.forward[0] == pytest.approx(jac_norm)           # Dx0 = 0
    assert curves.reverse[K] == pytest.approx(jac_norm)           # empty sweep
    assert curves.reverse[0] == pytest.approx(curves.forward[K], rel=1e-9)   # both Dx^(K)
    assert curves.iterate[0] == pytest.approx(float(jnp.linalg.norm(problem.x_star(0.0))))
    assert int(curves.k_dot) == int(np.argmax(curves.forward))
    assert int(curves.k_bar) == int(np.argmin(curves.reverse))
    assert np.all(curves.objective >= -1e-9 * curves.objective[0])


@pytest.mark.parametrize("method", [gradient_descent, heavy_ball, chebyshev],
                         ids=["gd", "heavy_ball", "chebyshev"])
def test_quadratic_error_curves_match_generic_error_curves(flat, method):
    problem, lam, H0, c = flat
    x0 = jnp.linspace(-1.0, 1.0, 12)
    fast = curse.quadratic_error_curves(H0, c, x0, 1.5, K, momentum=0.3, method=method,
                                        reverse=False)
    if method is gradient_descent:
        update, state = gradient_descent(problem.f, 1.5), x0
    elif method is heavy_ball:
        update, state = heavy_ball(problem.f, 1.5, 0.3), (x0, x0)
    else:
        update, init = chebyshev(problem.f, float(lam[-1]), float(lam[0]))
        state = init(x0)
    slow = curse._error_curves(problem, update, state, 0.0, K, reverse=False)
    for name in ("iterate", "forward", "objective"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-7,
                                   atol=1e-10 * float(np.max(getattr(slow, name))))


def test_reverse_curve_is_late_start_forward(flat):
    """reverse[k] is the error of the derivative through steps k..K-1 only (truncation)."""
    problem, lam, H0, c = flat
    update = gradient_descent(problem.f, 1.9)
    curves = curse._error_curves(problem, update, jnp.zeros(12), 0.0, 30)
    for k in (0, 7, 29):
        late = forward_mode(update, jnp.zeros(12), 0.0, 30, start=k)[-1]
        expected = float(jnp.linalg.norm(late - problem.jacobian(0.0)))
        assert float(curves.reverse[k]) == pytest.approx(expected, rel=1e-9)


# --- the chapter's claims -------------------------------------------------------------

def test_flat_derivative_weights_make_the_jacobian_flat(flat):
    problem, lam, H0, c = flat
    comps = curse.eigen_errors(H0, jnp.zeros((1, 12, 1)), problem.jacobian(0.0))[0]
    np.testing.assert_allclose(comps, 1.0 / float(lam[0]), rtol=1e-8)


def test_quadratic_data_recovers_the_problem(flat):
    problem, lam, H0, c = flat
    np.testing.assert_allclose(jnp.linalg.eigvalsh(H0), lam, rtol=1e-10)
    np.testing.assert_allclose(jnp.linalg.solve(H0, c), problem.x_star(0.0), rtol=1e-9)


def test_eigen_formula_matches_forward_mode(flat):
    """|v_λᵀ(Ẋ^(k) - Dx*)| = |(1-hλ)^(k-1)(1+(k-1)hλ)| |Dx*_λ| from x0 = 0 (the
    chapter's per-eigenvalue formula)."""
    problem, lam, H0, c = flat
    h = 2 / 1.01
    jac = forward_mode(gradient_descent(problem.f, h), jnp.zeros(12), 0.0, K)
    measured = curse.eigen_errors(H0, jac, problem.jacobian(0.0))
    factor, _ = polynomials.jacobian_factors(*polynomials.gd_residual(h, K, lam), lam)
    np.testing.assert_allclose(measured, np.abs(factor) / float(lam[0]), rtol=1e-6,
                               atol=1e-10 * float(measured.max()))


def test_curse_shows_in_the_flat_derivative_setup_and_not_with_a_flat_solution(flat):
    problem, lam, H0, c = flat
    x0 = jnp.zeros(12)
    curse_run = curse.quadratic_error_curves(H0, c, x0, 2 / 1.01, K)
    assert curse_run.forward.max() > 2 * curse_run.forward[0]
    assert np.all(np.diff(curse_run.iterate) <= 0)                   # iterates monotone
    flat_solution = curse.quadratic_data(problems.spectral_quadratic(jax.random.PRNGKey(0), lam))
    quiet = curse.quadratic_error_curves(*flat_solution, x0, 2 / 1.01, K)
    assert quiet.forward.max() <= quiet.forward[0] * (1 + 1e-12)


@given(seeds)
@PROPERTY
def test_linear_parameter_has_no_curse(seed):
    """Scaling the linear term (Γ = 0): the Jacobian error never increases, and the
    problem's closed-form Jacobian matches the implicit function theorem."""
    A, b, H0, c = _ridge_data(seed)
    eig = jnp.linalg.eigvalsh(H0)
    x0 = jax.random.normal(jax.random.PRNGKey(seed + 1), (5,))
    run = curse.quadratic_error_curves(H0, c, x0, 2 / float(eig[0] + eig[-1]), K,
                                       problem=problems.target_scale_quadratic, reverse=False)
    assert np.all(np.diff(run.forward) <= 1e-12 * run.forward[0])
    problem = problems.target_scale_quadratic(H0, c)
    update = gradient_descent(problem.f, 0.01)
    np.testing.assert_allclose(problem.jacobian(0.2),
                               implicit_jacobian(update, problem.x_star(0.2), 0.2), rtol=1e-8)


@given(seeds, st.floats(0.05, 1.0))
@PROPERTY
def test_short_steps_never_increase_the_jacobian_error(seed, fraction):
    """Scieur et al. Cor. 2 on measured errors: x0 = 0 (G = 0) and h <= sqrt(2)/L."""
    A, b, H0, c = _ridge_data(seed)
    L_ = float(jnp.linalg.eigvalsh(H0)[-1]) + 0.1
    run = curse.quadratic_error_curves(H0, c, jnp.zeros(5), fraction * 2**0.5 / L_, K, u=0.1,
                                       reverse=False)
    assert np.all(np.diff(run.forward) <= 1e-12 * run.forward[0])


def test_largest_monotone_step_brackets_the_threshold(flat):
    problem, lam, H0, c = flat
    h, tol = curse._largest_monotone_step(problem, 0.0, jnp.zeros(12), 60)
    assert h >= 2**0.5 * (1 - 1e-9) and tol < 1e-6          # Cor. 2: at least sqrt(2)/L
    below = curse.quadratic_error_curves(H0, c, jnp.zeros(12), h, 60, reverse=False).forward
    above = curse.quadratic_error_curves(H0, c, jnp.zeros(12), h + 10 * tol + 1e-6, 60,
                                         reverse=False).forward
    assert np.all(np.diff(below) <= 1e-12 * below[0])
    assert np.any(np.diff(above) > 1e-12 * above[0])


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.98, 0.999])
def test_curse_peak_is_next_to_one_over_log(rho):
    k_real = 1 / np.log(1 / rho)
    assert curse._curse_peak(rho) in (np.floor(k_real), np.ceil(k_real))


def test_lemma6_holds_with_equality_on_ridge(key):
    A, b, _, _ = _ridge_data(3)
    problem = problems.ridge(A, b)
    ratios = curse.lemma6_ratios(problem, gradient_descent(problem.f, 0.02), jnp.ones(5), 0.1, 30)
    np.testing.assert_allclose(ratios, 0.02, rtol=1e-7)


def test_scieur_constants_for_ridge():
    A, b, _, _ = _ridge_data(4)
    problem, x0 = problems.ridge(A, b), jnp.arange(5.0)
    jac0, G = curse.scieur_constants(problem, 0.2, x0)
    assert G == pytest.approx(float(jnp.linalg.norm(x0)))
    assert jac0 == pytest.approx(float(jnp.linalg.norm(problem.jacobian(0.2))))


def test_with_solution_gd_curves_and_hessian_eigenvalues():
    X, y = data.least_squares_instance(jax.random.PRNGKey(5), 40, 4)
    logistic, u = problems.logistic_regression(X - 0.5, jnp.sign(y)), -1.0
    fixed = curse.with_solution(logistic, u)
    x_star, jac = jax.jit(lambda u_: (logistic.x_star(u_), logistic.jacobian(u_)))(u)
    np.testing.assert_allclose(fixed.x_star(123.0), x_star, rtol=1e-10)
    np.testing.assert_allclose(fixed.jacobian(123.0), jac, rtol=1e-8)
    curv = curse.hessian_eigenvalues(fixed, u)
    np.testing.assert_allclose(curv, jnp.linalg.eigvalsh(jax.hessian(logistic.f)(x_star, u)),
                               rtol=1e-10)
    steps = [0.1, 2 / (curv[0] + curv[-1])]
    runs = curse.gd_curves(fixed, jnp.zeros(4), u, steps, 40)
    reference = jax.jit(lambda h: curse._error_curves(
        fixed, gradient_descent(fixed.f, h), jnp.zeros(4), u, 40, reverse=False))
    for step, run in zip(steps, runs):
        expected = reference(step).forward
        np.testing.assert_allclose(run.forward, expected, rtol=1e-7,
                                   atol=1e-12 * float(expected[0]))


def test_huber_curves_converge_to_the_implicit_jacobian():
    A, b = data.huber_instance(jax.random.PRNGKey(6), 40, 6)
    u = 0.03 * float(jnp.linalg.norm(A, 2)) ** 2
    step = 1 / (float(jnp.linalg.norm(A, 2)) ** 2 + u)
    curves, ratios = curse._huber_curves(A, b, 0.5, u, jnp.zeros(6), step, 400, gamma_steps=50)
    assert curves.forward[-1] < 1e-4 * curves.forward[0]
    assert np.all(np.isfinite(ratios)) and ratios.min() > 0


def test_loss_comparison_squared_loss_has_gamma_alpha_run():
    A, b = data.huber_instance(jax.random.PRNGKey(7), 40, 6)
    u = 0.03 * float(jnp.linalg.norm(A, 2)) ** 2
    curves, gammas = curse.loss_comparison(A, b, u, (1.0,), 100)
    assert set(curves) == {"squared loss", "Huber, δ = 1"} and set(gammas) == {1.0}
    assert np.isfinite(gammas[1.0]) and gammas[1.0] > 0
    assert curves["squared loss"].forward[-1] < curves["squared loss"].forward[0]


def _weighted_ridge_instance(seed=0, M=15, N=4):
    A, b = data.least_squares_instance(jax.random.PRNGKey(seed), M, N)
    lam = 1e-2 * float(jnp.linalg.norm(A, 2)) ** 2
    return A, b, lam, problems.weighted_ridge(A, b, lam)


def test_along_direction_matches_jacfwd_of_the_solution_and_of_the_loop():
    """The restricted problem's Dx*(s) is jacfwd of x*(θ + s w); its forward-mode curve
    equals jax.jacfwd through the unrolled loop."""
    A, b, lam, wr = _weighted_ridge_instance()
    theta, w = jnp.ones(15), jnp.linspace(-1.0, 2.0, 15)
    line = curse.along_direction(wr, theta, w)
    assert np.allclose(line.jacobian(0.3)[:, 0],
                       jax.jacfwd(lambda s: wr.x_star(theta + s * w))(0.3), rtol=1e-9)
    assert line.smoothness(0.0) == pytest.approx(float(wr.smoothness(theta)))
    update, x0, k = gradient_descent(line.f, 1.0 / float(line.smoothness(0.0))), jnp.zeros(4), 30
    def x_k(s):
        return jax.lax.fori_loop(0, k, lambda _, x: update(x, s), x0)
    tangents = forward_mode(update, x0, 0.0, k)
    assert np.allclose(tangents[-1][:, 0], jax.jacfwd(x_k)(0.0), rtol=1e-9, atol=1e-12)


def test_visibility_predicts_the_burn_in(flat):
    """V = |η_L x*_L| / (e μ ‖Dx*‖): on the flat-derivative problem it is the measured
    height of the burn-in (to a few per cent); for the ridge weight η_L = 1."""
    problem, lam, H0, c = flat
    curves = curse.quadratic_error_curves(H0, c, jnp.zeros(12), 2 / 1.01, 300, reverse=False)
    height = float(curves.forward.max() / curves.forward[0])
    assert curse.visibility(problem, 0.0) == pytest.approx(height, rel=0.03)
    top = float(jnp.linalg.eigh(H0)[1][:, -1] @ problem.x_star(0.0))
    assert curse.visibility(problem, 0.0) == pytest.approx(
        abs(top) / (np.e * 0.01 * float(jnp.linalg.norm(problem.jacobian(0.0)))), rel=1e-9)


def test_visibility_of_a_common_sample_weight_is_sigma_over_lambda_times_the_ridge_one():
    """Scaling all sample weights together moves x* along the ridge path (weight
    λ/(1+s)), so Dx* = λ H⁻¹x*; the driving term has ∂_sH = AᵀA, so η_L = σ_L
    (top eigenvalue of AᵀA): V(sample weights) = V(ridge) · σ_L / λ."""
    A, b, lam, wr = _weighted_ridge_instance()
    common = curse.along_direction(wr, jnp.ones(15), jnp.ones(15))
    sigma_top = float(jnp.linalg.eigvalsh(A.T @ A)[-1])
    assert curse.visibility(common, 0.0) == pytest.approx(
        curse.visibility(problems.ridge(A, b), lam) * sigma_top / lam, rel=1e-8)
    [run] = curse.gd_curves(common, jnp.zeros(4), 0.0,
                            [2 / float(common.smoothness(0.0) + common.strong_convexity(0.0))],
                            400)
    assert float(run.forward.max() / run.forward[0]) == pytest.approx(
        curse.visibility(common, 0.0), rel=0.1)


# --- every bound the chapter draws dominates the measured error -------------------------

def _gd_ridge_run(seed, step_fraction, start):
    A, b, H0, c = _ridge_data(seed)
    u = 0.1
    problem = problems.ridge(A, b)
    L_, m = float(problem.smoothness(u)), float(problem.strong_convexity(u))
    x0 = (jnp.zeros(5) if start == "zero"
          else 3 * jax.random.normal(jax.random.PRNGKey(seed + 7), (5,)))
    h = step_fraction * 2 / L_
    run = curse.quadratic_error_curves(H0, c, x0, h, K, u=u, reverse=False)
    return problem, u, L_, m, x0, h, run


@pytest.mark.parametrize("start", ["zero", "random"])
@given(seeds, st.floats(0.05, 0.99))
@PROPERTY
def test_iterate_bound_theorem7_and_lemma4_dominate(start, seed, step_fraction):
    problem, u, L_, m, x0, h, run = _gd_ridge_run(seed, step_fraction, start)
    c7 = curse.gd_quadratic_constants(problem, u, h, x0)
    k = np.arange(K + 1)
    scale = float(c7.edot0 + c7.e0)
    assert dominated(run.iterate, bounds.iterate_bound(k, c7.rho, c7.e0), scale)
    assert dominated(run.forward, bounds.theorem7(k, c7.rho, c7.gamma, c7.e0, c7.edot0), scale)
    assert dominated(run.forward, bounds.lemma4_bound(c7.rho, c7.gamma, c7.edot0, run.iterate),
                     scale)


@pytest.mark.parametrize("start", ["zero", "random"])
@given(seeds, st.floats(0.05, 0.99))
@PROPERTY
def test_scieur_gradient_descent_bounds_dominate(start, seed, step_fraction):
    problem, u, L_, m, x0, h, run = _gd_ridge_run(seed, step_fraction, start)
    jac0, G = curse.scieur_constants(problem, u, x0)
    t = np.arange(K + 1)
    assert dominated(run.forward, bounds._scieur_gd(t, h, L_, m, jac0, G), jac0 + G)
    A, b, H0, c = _ridge_data(seed)
    for step, bound in ((1 / L_, bounds.scieur_gd_short_step),
                        (2 / (L_ + m), bounds.scieur_gd_long_step)):
        run = curse.quadratic_error_curves(H0, c, x0, step, K, u=u, reverse=False)
        assert dominated(run.forward, bound(t, L_, m, jac0, G), jac0 + G)


@pytest.mark.parametrize("start", ["zero", "random"])
@given(seeds)
@PROPERTY
def test_scieur_chebyshev_bound_dominates(start, seed):
    A, b, H0, c = _ridge_data(seed)
    u = 0.1
    problem = problems.ridge(A, b)
    L_, m = float(problem.smoothness(u)), float(problem.strong_convexity(u))
    x0 = jnp.zeros(5) if start == "zero" else jax.random.normal(jax.random.PRNGKey(seed), (5,))
    run = curse.quadratic_error_curves(H0, c, x0, 0.0, K, u=u, method=chebyshev, reverse=False)
    jac0, G = curse.scieur_constants(problem, u, x0)
    assert dominated(run.forward, bounds.scieur_chebyshev(np.arange(K + 1), L_, m, jac0, G),
                     jac0 + G)


def test_bounds_dominate_in_the_chapter_setups(flat):
    """The chapter's figures: Cor. 1 on the flat-derivative problem, Thm 7 with K = 200."""
    problem, lam, H0, c = flat
    x0, L_, m = jnp.zeros(12), float(lam[-1]), float(lam[0])
    jac0, G = curse.scieur_constants(problem, 0.0, x0)
    t = np.arange(201)
    for step, bound in ((1 / L_, bounds.scieur_gd_short_step),
                        (2 / (L_ + m), bounds.scieur_gd_long_step)):
        run = curse.quadratic_error_curves(H0, c, x0, step, 200)
        assert dominated(run.forward, bound(t, L_, m, jac0, G), jac0)
        c7 = curse.gd_quadratic_constants(problem, 0.0, step, x0)
        assert dominated(run.forward, bounds.theorem7(t, c7.rho, c7.gamma, c7.e0, c7.edot0), jac0)


@pytest.mark.parametrize("values", [dict(step_scale=1.9, log10_cond=2.0, init_scale=1.0),
                                    dict(step_scale=0.3, log10_cond=3.0, init_scale=10.0),
                                    dict(step_scale=1.98, log10_cond=1.0, init_scale=0.0)])
def test_explorer_bounds_dominate(values):
    run = jax.jit(curse._explorer_curves, static_argnames=("num_steps", "dim"))
    data = run(jax.random.PRNGKey(0), **values, num_steps=200, dim=10)
    scale = float(data["forward"][0] + data["iterate"][0])
    assert dominated(data["iterate"], data["iterate_bound"], scale)
    assert dominated(data["forward"], data["theorem7"], scale)


def test_invalid_arguments_are_rejected(flat):
    problem, lam, H0, c = flat
    with pytest.raises(TypeError, match="method must be one of the factories"):
        curse.quadratic_error_curves(H0, c, jnp.zeros(12), 1.0, 5, method="gd")
    with pytest.raises(TypeError, match="problem must be problems.quadratic"):
        curse.quadratic_error_curves(H0, c, jnp.zeros(12), 1.0, 5, problem=problems.ridge)
    with pytest.raises(ValueError, match="rho"):
        curse._curse_peak(1.0)
    with pytest.raises(TypeError, match="num_steps"):
        curse.quadratic_error_curves(H0, c, jnp.zeros(12), 1.0, 2.5)


def test_derivative_errors_of_the_reverse_curve_use_the_same_norm(flat):
    problem, lam, H0, c = flat
    update = gradient_descent(problem.f, 1.0)
    curves = curse._error_curves(problem, update, jnp.zeros(12), 0.0, 10, norm="op")
    fwd = errors.derivative_errors(forward_mode(update, jnp.zeros(12), 0.0, 10),
                                   problem.jacobian(0.0), "op")
    np.testing.assert_allclose(curves.forward, fwd, rtol=1e-12)


