"""Chapter 7 (``unrolling.implicit``): implicit differentiation in practice.

Each estimate is checked against an independent reference: the value-function errors
against closed forms on ridge and reverse mode through the loop; the hypergradients of
the many-hyperparameter ridge against each other and the closed form at x*; the
logistic task's hypergradient against central finite differences. The rates asserted
are the measured ones (Ablin et al.'s super-efficiency: an exponent that tends to 2,
slowly, because of a factor k).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import Implicit, bilevel, data, implicit, iterate, problems
from unrolling.derivatives import truncated_solution
from unrolling.methods import gradient_descent

LABELS = ("analytic", "unrolled", "implicit")


# ------------------------------------------------------------ part 1: when unrolling wins
@pytest.fixture(scope="module")
def ridge_case():
    A, b = data.least_squares_instance(jax.random.PRNGKey(0), 50, 10)
    p, u = problems.ridge(A, b), 10.0
    L, mu = float(p.smoothness(u)), float(p.strong_convexity(u))
    errors = implicit.value_function_errors(p.f, jnp.zeros(10), u, 200, 1.0 / L)
    return A, b, p, u, L, 1.0 - mu / L, errors


@pytest.fixture(scope="module")
def logistic_case():
    X, y = data.two_gaussians(jax.random.PRNGKey(1), 100, 5)
    p, u = problems.logistic_regression(X, y), 0.0
    L = float(p.smoothness(u))
    lam = np.linalg.eigvalsh(np.asarray(jax.hessian(p.f)(p.x_star(u), u)))
    errors = implicit.value_function_errors(p.f, jnp.zeros(6), u, 100, 1.0 / L)
    return np.max(np.abs(1.0 - lam / L)), errors


def _window(errors, low=1e-9, high=1e-2):
    """The k where e1 lies in [low, high] and e2, e3 are above rounding (k >= 1)."""
    e1, e2, e3 = (errors[name] for name in LABELS)
    k = np.arange(e1.size)
    return k[(k >= 1) & (e1 >= low) & (e1 <= high) & (e2 > 1e-13) & (e3 > 1e-13)]


def test_value_function_errors_are_three_curves_from_the_same_start(ridge_case):
    *_, errors = ridge_case
    assert list(errors) == list(LABELS)
    assert all(e.shape == (201,) for e in errors.values())
    assert errors["analytic"][0] == errors["unrolled"][0] == errors["implicit"][0]


def test_value_function_errors_match_closed_forms_on_ridge(ridge_case):
    """g1 = ||x_k||²/2, g2 by reverse mode through the k steps (jax.grad), g3 with
    J = -H^{-1} x_k, and ∇h = ||x*||²/2 with x* in closed form."""
    A, _, p, u, L, _, errors = ridge_case
    H = A.T @ A + u * jnp.eye(10)
    grad_h = 0.5 * p.x_star(u) @ p.x_star(u)
    update = gradient_descent(p.f, 1.0 / L)
    for k in (1, 5, 40):
        x_k_of = truncated_solution(update, jnp.zeros(10), k, last=k)    # u -> x_k(u)
        x_k = x_k_of(u)
        g1 = 0.5 * x_k @ x_k
        g2 = jax.grad(lambda u_, x_of=x_k_of: p.f(x_of(u_), u_))(u)
        g3 = g1 - jnp.linalg.solve(H, x_k) @ jax.grad(p.f)(x_k, u)
        for name, g in zip(LABELS, (g1, g2, g3)):
            assert errors[name][k] == pytest.approx(abs(float(g - grad_h)), rel=1e-8, abs=1e-14)


def test_analytic_error_is_linear_at_rate_rho(ridge_case, logistic_case):
    """e1(k+1)/e1(k) -> ρ = max|1 - λ/L| over the Hessian at x* (1 - μ/L on ridge)."""
    *_, rho, errors = ridge_case
    k = _window(errors)[-20:]
    rate = (errors["analytic"][k[-1]] / errors["analytic"][k[0]]) ** (1.0 / (k[-1] - k[0]))
    assert rate == pytest.approx(rho, rel=1e-3)                  # measured 0.91997 vs 0.92035
    rho, errors = logistic_case
    k = _window(errors)[-20:]
    rate = (errors["analytic"][k[-1]] / errors["analytic"][k[0]]) ** (1.0 / (k[-1] - k[0]))
    assert rate == pytest.approx(rho, rel=0.015)


@pytest.mark.parametrize("case", ["ridge_case", "logistic_case"])
def test_unrolled_error_is_about_the_square_of_the_analytic(case, request):
    """Super-efficiency (Ablin et al.): e2 = O(k ρ^{2k}) = O(k e1²). The exponent
    log e2 / log e1 rises towards 2 (from 1 at k = 0), slowly because of the factor k:
    it is 1.66 (ridge) and 1.77 (logistic) when e1 is about 1e-7. With the factor k
    taken out, the fitted exponent of e2/k against e1 is 2 (measured 2.01 and 1.98)."""
    errors = request.getfixturevalue(case)[-1]
    k = _window(errors)
    e1, e2 = errors["analytic"][k], errors["unrolled"][k]
    exponent = np.log(e2) / np.log(e1)
    assert exponent[-1] > exponent[len(k) // 4] > 1.2
    assert 1.6 < exponent[-1] < 2.0
    slope = np.polyfit(np.log(e1), np.log(e2 / k), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("case", ["ridge_case", "logistic_case"])
def test_implicit_error_is_quadratic_without_the_factor_k(case, request):
    """e3 = O(e1²): the fitted exponent is 2 (measured 1.99 and 1.97), and
    log e3 / log e1 is within 0.15 of 2 at the end of the window (1.87, 2.00)."""
    errors = request.getfixturevalue(case)[-1]
    k = _window(errors)
    e1, e3 = errors["analytic"][k], errors["implicit"][k]
    assert np.polyfit(np.log(e1), np.log(e3), 1)[0] == pytest.approx(2.0, abs=0.05)
    assert np.log(e3[-1]) / np.log(e1[-1]) == pytest.approx(2.0, abs=0.15)
    assert np.all(e3 < errors["unrolled"][k])                   # no factor k


def test_value_function_errors_rejects_a_matrix_start(ridge_case):
    _, _, p, u, L, *_ = ridge_case
    with pytest.raises(ValueError, match="x0"):
        implicit.value_function_errors(p.f, jnp.zeros((2, 5)), u, 3, 1.0 / L)


# ------------------------------------------------------------ part 2: many hyperparameters
def _per_feature_data(m):
    return map(np.asarray, data.synthetic_regression(jax.random.PRNGKey(0), 100, 100, m))


def test_hypergradients_agree_with_the_closed_form_at_a_converged_K():
    """At x*: ∇h = -e^u ⊙ x* ⊙ H^{-1}∇ℓ(x*), H = AᵀA + diag(e^u), u = 0."""
    A, b, A_val, b_val = _per_feature_data(5)
    H = A.T @ A + np.eye(5)
    x_star = np.linalg.solve(H, A.T @ b)
    exact = -x_star * np.linalg.solve(H, A_val.T @ (A_val @ x_star - b_val))
    fns = implicit._hypergradients(A, b, A_val, b_val, 3000)
    for name, fn in fns.items():
        np.testing.assert_allclose(jax.jit(fn)(np.zeros(5)), exact, rtol=1e-9, err_msg=name)


@pytest.fixture(scope="module")
def costs():
    return implicit.hyperparameter_costs([4, 16, 64], 50, jax.random.PRNGKey(0))


def test_hyperparameter_costs_table(costs):
    assert list(costs.ms) == [4, 16, 64]
    for column in (costs.seconds, costs.bytes):
        assert set(column) == {"forward", "reverse", "implicit"}
        assert all(v.shape == (3,) and np.all(v > 0) for v in column.values())
    assert np.all(costs.gaps["reverse"] <= 1e-10)                # forward == reverse mode
    assert costs.gaps["implicit"][-1] > 1e-3                     # K = 50: not converged


def test_forward_mode_memory_grows_faster_than_reverse_modes(costs):
    """Forward mode carries the (n, m) Jacobian (m² here, n = m); reverse mode stores
    K iterates (K m). Compiled bytes are deterministic: from m = 16 to 64 (K = 50),
    forward's grow 7.8-fold (19464 to 151176), reverse mode's 3.4-fold (8776 to 30024)."""
    fwd, rev = costs.bytes["forward"], costs.bytes["reverse"]
    assert np.all(np.diff(fwd) > 0) and np.all(np.diff(fwd / rev) > 0)
    assert fwd[-1] / fwd[-2] > 6 and rev[-1] / rev[-2] < 4       # 4x more m: ~ m² vs ~ m


def test_implicit_is_close_at_a_converged_K():
    close = implicit.hyperparameter_costs([2, 5], 3000, jax.random.PRNGKey(0), repeats=1)
    assert np.all(close.gaps["implicit"] <= 1e-8)
    assert np.all(close.gaps["reverse"] <= 1e-10)


def test_hyperparameter_costs_rejects_empty_ms():
    with pytest.raises(ValueError, match="ms"):
        implicit.hyperparameter_costs([], 10, jax.random.PRNGKey(0))


# ------------------------------------------------------------ part 3: a logistic bilevel task
@pytest.fixture(scope="module")
def gaussian_task():
    A, y = data.two_gaussians(jax.random.PRNGKey(2), 200, 5)
    return A[:100], y[:100], implicit.logistic_task(A[:100], y[:100], A[100:], y[100:])


@pytest.fixture(scope="module")
def breast_cancer_task():
    from sklearn.datasets import load_breast_cancer
    A, b, A_val, b_val = data.standardized_split(jax.random.PRNGKey(0),
                                                 *load_breast_cancer(return_X_y=True))
    return implicit.logistic_task(A, np.sign(b), A_val, np.sign(b_val))


@pytest.mark.parametrize("u", [-2.0, 0.0, 1.0])
def test_logistic_hypergradient_matches_central_differences(gaussian_task, breast_cancer_task,
                                                            u):
    for task in (gaussian_task[-1], breast_cancer_task):
        h = 1e-5
        fd = (task.value(u + h) - task.value(u - h)) / (2 * h)
        assert float(task.value(u)) == pytest.approx(
            float(task.outer_loss(task.x_star(u), u)), rel=1e-14)
        assert abs(float(task.hypergradient(u) - fd)) <= 1e-6      # measured <= 5e-10


def test_logistic_task_solution_and_step(gaussian_task):
    """x* is stationary; the objective is problems.logistic_regression's; the gradient
    step contracts at u = max_log_weight (0) and fixes x*."""
    A, y, task = gaussian_task
    f = problems.logistic_regression(A, y).f
    x = task.x_star(0.0)
    assert float(jnp.linalg.norm(jax.grad(f)(x, 0.0))) < 1e-12
    assert float(task.update.args[0](x, 0.3)) == pytest.approx(float(f(x, 0.3)), rel=1e-14)
    np.testing.assert_allclose(task.update(x, 0.0), x, atol=1e-14)
    step = jax.jacfwd(task.update)(x, 0.0)
    assert np.max(np.abs(np.linalg.eigvals(np.asarray(step)))) < 1.0


def test_logistic_task_runs_in_bilevel(gaussian_task):
    """Algorithm 1's Implicit() estimate at a converged inner solve is the exact one."""
    task = gaussian_task[-1]
    d, _, _ = bilevel.hypergradient(task.update, task.outer_loss, jnp.zeros(6), 0.0,
                                    estimator=Implicit(), eps=1e-12, max_inner=5000)
    assert float(d) == pytest.approx(float(task.hypergradient(0.0)), rel=1e-8)


def test_logistic_task_rejects_labels_other_than_plus_minus_one():
    A, y = data.two_gaussians(jax.random.PRNGKey(2), 20, 3)
    with pytest.raises(ValueError, match="y_val"):
        implicit.logistic_task(A, y, A, (y + 1) / 2)


# ------------------------------------------------------------------ matched cost (ITD / AID)
def test_matched_cost_equals_the_estimators_run_one_budget_at_a_time():
    from unrolling import ConjugateGradientAdjoint, FixedPointAdjoint, Unrolled
    from unrolling import bilevel as bl
    A, b, A_val, b_val = data.synthetic_regression(jax.random.PRNGKey(1))
    task = bl.ridge_task(A, b, A_val, b_val)
    x0, u = 3.0 * jnp.ones(A.shape[1]), 0.2
    errs = implicit.matched_cost(task, x0, u, [3, 40])
    ref = float(task.hypergradient(u))
    for i, t in enumerate((3, 40)):
        x_t = iterate(task.update, x0, u, t)[-1]
        w = jax.grad(task.outer_loss)(x_t, u)
        for label, est in zip(implicit.MATCHED_LABELS,
                              (Unrolled(), FixedPointAdjoint(t), ConjugateGradientAdjoint(t))):
            d = float(est.vjp(task.update, x0, u, t, w)[0])
            assert np.isclose(errs[label][i], abs(d - ref), rtol=1e-9, atol=1e-12), label


def test_matched_cost_errors_vanish_with_the_budget():
    from unrolling import bilevel as bl
    task = bl.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(1)))
    errs = implicit.matched_cost(task, jnp.zeros(10), 0.0, [1, 2000])
    for label, e in errs.items():
        assert e[-1] < 1e-8 * e[0], label
    with pytest.raises(ValueError, match="steps"):
        implicit.matched_cost(task, jnp.zeros(10), 0.0, [0, 5])
