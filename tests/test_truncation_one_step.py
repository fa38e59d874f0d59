"""One-step differentiation (chapter 4): the stop_gradient estimators against the plain
recursions, Newton with a line search, the weighted problems' closed forms, the
estimator-error curves, Corollary 1 and the timed computations."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import (bounds, data, derivatives, errors, forward_mode, implicit_jacobian,
                       iterate, methods, one_step_jacobian, problems, profiling, reverse_mode)
from unrolling import truncation


@pytest.fixture(scope="module")
def ridge():
    """A small weighted ridge problem, GD with the optimal step, weights θ."""
    key_a, key_y, key_t = jax.random.split(jax.random.PRNGKey(4), 3)
    A = jax.random.normal(key_a, (20, 3))
    y = jax.random.normal(key_y, (20,))
    theta = 0.5 + jax.random.uniform(key_t, (20,))
    problem = problems.weighted_ridge(A, y, 0.5)
    L, mu = problem.smoothness(theta), problem.strong_convexity(theta)
    step = float(2 / (L + mu))
    return A, y, theta, problem, step, methods.gradient_descent(problem.f, step)


@pytest.fixture(scope="module")
def logistic():
    A, y = data.two_gaussians(jax.random.PRNGKey(1), 60, 3)
    problem = problems.weighted_logistic_regression(A, y)
    problem = problem._replace(x_star=jax.jit(problem.x_star),    # compile the solver once
                               jacobian=jax.jit(problem.jacobian))
    return A, y, jnp.ones(60), problem


def test_one_step_via_stop_gradient_equals_partial_derivative(ridge):
    _, _, theta, _, _, update = ridge
    x0 = jnp.zeros(3)
    J_os = jax.jacfwd(derivatives.truncated_solution(update, x0, 12, last=1))(theta)
    x_prev = iterate(update, x0, theta, 11)[-1]
    np.testing.assert_allclose(J_os, one_step_jacobian(update, x_prev, theta), rtol=1e-12)


def test_k_step_truncation_is_late_start_and_one_step_of_the_power_map(ridge):
    _, _, theta, _, _, update = ridge
    x0, K, k = jnp.zeros(3), 12, 4
    J_k = jax.jacfwd(derivatives.truncated_solution(update, x0, K, last=k))(theta)
    np.testing.assert_allclose(J_k, forward_mode(update, x0, theta, K, start=K - k)[-1],
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(J_k, reverse_mode(update, x0, theta, K, stop=K - k)[-1],
                               rtol=1e-10, atol=1e-14)
    J_power = jax.jacfwd(derivatives.truncated_solution(methods.power_map(update, k), x0, K // k,
                                                    last=1))(theta)
    np.testing.assert_allclose(J_k, J_power, rtol=1e-10, atol=1e-14)
    J_full = jax.jacrev(derivatives.truncated_solution(update, x0, K, last=K))(theta)
    np.testing.assert_allclose(J_full, forward_mode(update, x0, theta, K)[-1], rtol=1e-10,
                               atol=1e-14)


def test_truncated_solution_validates_last(ridge):
    update = ridge[-1]
    with pytest.raises(ValueError, match="last"):
        derivatives.truncated_solution(update, jnp.zeros(3), 5, last=0)
    with pytest.raises(ValueError, match="last"):
        derivatives.truncated_solution(update, jnp.zeros(3), 5, last=6)
    with pytest.raises(ValueError, match="k"):
        methods.power_map(update, 0)


def test_weighted_ridge_jacobian_closed_form(ridge):
    _, _, theta, problem, _, _ = ridge
    np.testing.assert_allclose(problem.jacobian(theta), jax.jacfwd(problem.x_star)(theta),
                               rtol=1e-10)
    d = jax.random.normal(jax.random.PRNGKey(9), theta.shape)
    h = 1e-6                                                     # central differences, O(h^2)
    fd = (problem.x_star(theta + h * d) - problem.x_star(theta - h * d)) / (2 * h)
    np.testing.assert_allclose(problem.jacobian(theta) @ d, fd, rtol=1e-6, atol=1e-9)


def test_logistic_solution_and_jacobian(logistic):
    _, _, theta, problem = logistic
    x = problem.x_star(theta)
    assert float(jnp.linalg.norm(jax.grad(problem.f)(x, theta))) < 1e-10
    d = jax.random.normal(jax.random.PRNGKey(2), theta.shape)
    h = 1e-5
    fd = (problem.x_star(theta + h * d) - problem.x_star(theta - h * d)) / (2 * h)
    np.testing.assert_allclose(problem.jacobian(theta) @ d, fd, rtol=1e-5, atol=1e-8)
    assert float(problem.strong_convexity(theta)) > 0


def test_implicit_from_gradient_matches_ift_on_the_update_map(ridge, logistic):
    _, _, theta, problem, _, update = ridge
    x = problem.x_star(theta)
    np.testing.assert_allclose(derivatives.implicit_from_gradient(problem.f, x, theta),
                               implicit_jacobian(update, x, theta), rtol=1e-9, atol=1e-12)
    w = jnp.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(derivatives.implicit_from_gradient(problem.f, x, theta, w=w),
                               w @ problem.jacobian(theta), rtol=1e-9, atol=1e-12)
    _, _, theta_l, problem_l = logistic
    x_l = problem_l.x_star(theta_l)
    newton_map = methods.newton_line_search(problem_l.f)
    np.testing.assert_allclose(derivatives.implicit_from_gradient(problem_l.f, x_l, theta_l),
                               implicit_jacobian(newton_map, x_l, theta_l), rtol=1e-6,
                               atol=1e-9)


def test_newton_jacobian_vanishes_and_one_step_is_exact_at_the_solution(logistic):
    _, _, theta, problem = logistic
    x = problem.x_star(theta)
    update = methods.newton_line_search(problem.f)
    assert float(jnp.abs(jax.jacfwd(update, 0)(x, theta)).max()) < 1e-8
    np.testing.assert_allclose(one_step_jacobian(update, x, theta), problem.jacobian(theta),
                               rtol=1e-7, atol=1e-10)


def test_line_search_backtracks_where_plain_newton_diverges():
    """Pseudo-Huber f(x) = sqrt(1 + x^2): plain Newton from x = 2 maps x to -x^3 and
    diverges; with backtracking every step satisfies Armijo and x -> 0."""
    f = lambda x, u: jnp.sum(jnp.sqrt(1 + x**2)) + 0 * u  # noqa: E731
    update = methods.newton_line_search(f, num_halvings=30)
    xs = iterate(update, jnp.array([2.0]), 0.0, 25)
    values = jax.vmap(lambda x: f(x, 0.0))(xs)
    assert np.all(np.diff(values) <= 0)
    assert float(jnp.abs(xs[-1]).max()) < 1e-8
    plain = iterate(methods.newton(f), jnp.array([2.0]), 0.0, 3)
    assert float(jnp.abs(plain[-1]).max()) > 2.0


@pytest.fixture(scope="module")
def chapter_data():
    """Chapter 4's logistic data: 4000 samples, 20 features, key 1 (first rows reused)."""
    return data.two_gaussians(jax.random.PRNGKey(1), 4000, 20)


@pytest.mark.parametrize("M", [200, pytest.param(1000, marks=pytest.mark.slow),
                               pytest.param(4000, marks=pytest.mark.slow)])
def test_line_search_takes_full_steps_on_the_chapter_data(chapter_data, M):
    """Chapter 4 times plain Newton steps because the line search accepts every full
    step on its data: the iterates coincide."""
    A, y = chapter_data
    problem = problems.weighted_logistic_regression(A[:M], y[:M])
    x0, theta = jnp.zeros(21), jnp.ones(M)
    np.testing.assert_array_equal(iterate(methods.newton_line_search(problem.f), x0, theta, 10),
                                  iterate(methods.newton(problem.f), x0, theta, 10))


def test_two_gaussians_design():
    A, y = data.two_gaussians(jax.random.PRNGKey(0), 50, 4)
    assert A.shape == (50, 5) and y.shape == (50,)
    np.testing.assert_array_equal(A[:, 0], 1.0)
    assert set(np.unique(np.asarray(y))) <= {-1.0, 1.0}
    A2, y2 = data.two_gaussians(jax.random.PRNGKey(0), 50, 4)
    np.testing.assert_array_equal(A, A2)
    np.testing.assert_array_equal(y, y2)


def test_estimator_errors_match_the_library_estimators(ridge):
    _, _, theta, problem, _, update = ridge
    x0, K, block = jnp.zeros(3), 10, 4
    J_star = problem.jacobian(theta)
    errs = errors.estimator_errors(update, x0, theta, K, problem.x_star(theta), J_star,
                                    block=block)
    xs = iterate(update, x0, theta, K)
    fwd = forward_mode(update, x0, theta, K)
    norm = lambda J: float(jnp.linalg.norm(J - J_star))  # noqa: E731
    for k in range(K + 1):
        np.testing.assert_allclose(errs.unrolled[k], norm(fwd[k]), rtol=1e-10)
        np.testing.assert_allclose(errs.implicit[k], norm(implicit_jacobian(update, xs[k], theta)),
                                   rtol=1e-9)
        if k:
            np.testing.assert_allclose(errs.one_step[k],
                                       norm(one_step_jacobian(update, xs[k - 1], theta)),
                                       rtol=1e-10)
    for k in (4, 8):
        late = forward_mode(update, x0, theta, k, start=k - block)[-1]
        np.testing.assert_allclose(errs.truncated[k], norm(late), rtol=1e-10)
    assert np.isnan(errs.truncated[[0, 1, 2, 3, 5, 9]]).all() and np.isnan(errs.one_step[0])
    batched = errors.ridge_estimator_errors(ridge[0], ridge[1], 0.5, theta, ridge[4], K, block)
    for name in errs._fields:
        np.testing.assert_allclose(getattr(batched, name), getattr(errs, name), rtol=1e-9)


def test_corollary1_dominates_the_one_step_error(ridge):
    A, y, theta, _, _, _ = ridge
    lams = np.array([0.1, 1.0, 10.0, 100.0, 1.0, 1.0])
    powers = np.array([1, 1, 1, 1, 3, 9])
    eig = np.linalg.eigvalsh(np.asarray(A.T @ (theta[:, None] * A)))
    steps = 2 / (eig[-1] + eig[0] + 2 * lams)
    measured, bound, rho = truncation.ridge_one_step_errors(A, y, theta, lams, steps, powers)
    assert np.all(bound >= measured)
    for i in (1, 5):                                  # measured value, independently
        problem = problems.weighted_ridge(A, y, lams[i])
        update = methods.power_map(methods.gradient_descent(problem.f, steps[i]), int(powers[i]))
        B = one_step_jacobian(update, problem.x_star(theta), theta)
        np.testing.assert_allclose(measured[i], np.linalg.norm(B - problem.jacobian(theta), 2),
                                   rtol=1e-9)
        np.testing.assert_allclose(rho[i], np.max(np.abs(1 - steps[i] * (eig + lams[i])))
                                   ** powers[i], rtol=1e-9)


def test_corollary1_with_the_distance_term(ridge):
    """Away from the solution: ‖J^OS x_k - J‖ <= ρ L_F/(1-ρ) + L_J ‖x_{k-1} - x̄‖ with
    L_F = ‖∂θF(x̄)‖ and L_J = α ‖A‖₂ max_i ‖a_i‖ (x ↦ ∂θF(x) = α Aᵀ diag(y - Ax))."""
    A, y, theta, problem, step, update = ridge
    x_bar, J = problem.x_star(theta), problem.jacobian(theta)
    H = A.T @ (theta[:, None] * A) + 0.5 * jnp.eye(3)
    rho = float(jnp.max(jnp.abs(1 - step * jnp.linalg.eigvalsh(H))))
    L_F = float(jnp.linalg.norm(one_step_jacobian(update, x_bar, theta), 2))
    L_J = step * float(jnp.linalg.norm(A, 2) * jnp.linalg.norm(A, axis=1).max())
    xs = iterate(update, jnp.zeros(3), theta, 15)
    for k in range(1, 16):
        err = float(jnp.linalg.norm(one_step_jacobian(update, xs[k - 1], theta) - J, 2))
        dist = float(jnp.linalg.norm(xs[k - 1] - x_bar))
        assert err <= float(bounds.one_step_bound(rho, L_F, L_J, dist)) * (1 + 1e-12)


def test_hypergradient_functions_agree_with_their_definitions(logistic):
    _, _, theta, problem = logistic
    newton = methods.newton(problem.f)
    fns = profiling.hypergradient_functions(problem.f, newton, jnp.zeros(4), 10)
    x = jax.jit(fns["solve"])(theta)
    np.testing.assert_allclose(x, problem.x_star(theta), rtol=1e-10, atol=1e-12)
    exact = problem.jacobian(theta).T @ problem.x_star(theta)      # ∇θ ½‖x̄(θ)‖²
    for name in ("unrolled", "implicit", "one-step"):
        np.testing.assert_allclose(jax.jit(fns[name])(theta), exact, rtol=1e-7, atol=1e-10)
    unrolled = jax.grad(lambda th: 0.5 * jnp.sum(iterate(newton, jnp.zeros(4), th, 10)[-1] ** 2))
    np.testing.assert_allclose(jax.jit(fns["unrolled"])(theta), jax.jit(unrolled)(theta),
                               rtol=1e-10, atol=1e-13)


def test_time_hypergradients_returns_a_time_per_case(logistic):
    _, _, theta, problem = logistic
    case = (problem.f, methods.newton(problem.f), jnp.zeros(4), theta)
    seconds = profiling.time_hypergradients([case, case], num_steps=3, repeats=1, workers=1)
    assert set(seconds) == {"solve", "unrolled", "implicit", "one-step"}
    assert all(len(v) == 2 and min(v) > 0 for v in seconds.values())
