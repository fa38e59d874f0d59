"""Tests for unrolling.bilevel: Algorithm 1, the hypergradient estimators, the tasks, Bolte Cor. 5.

Each estimator is compared with an independent reference: jax.grad through the
unrolled loop (lax.fori_loop with a static trip count), the library's reverse_mode /
one_step_jacobian / implicit_jacobian, and the closed-form ridge hypergradient.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from jax import lax

from unrolling import bilevel as bl
from unrolling import forward_mode, implicit_jacobian, one_step_jacobian, reverse_mode
from unrolling import Implicit, OneStep, Truncated, Unrolled, bounds
from unrolling.data import synthetic_regression

N = 4      # features of the small synthetic task
CAP = 5000  # one inner cap for all tests, so that each estimator compiles once


@pytest.fixture(scope="module")
def data():
    return synthetic_regression(jax.random.PRNGKey(3), num_train=8, num_val=6,
                                   num_features=N, noise=1.0, condition=10.0)


@pytest.fixture(scope="module")
def task(data):
    return bl.ridge_task(*data)


def _grad_ell(task, x, u):
    return jax.grad(task.outer_loss, argnums=0)(x, u)


def _unrolled_value(task, x0, num_steps, stop=0):
    """u -> ell(x^(K)(u)), gradients stopped through the first ``stop`` steps."""
    def value(u):
        x = lax.fori_loop(0, stop, lambda _, x: task.update(lax.stop_gradient(x),
                                                            lax.stop_gradient(u)), x0)
        x = lax.fori_loop(0, num_steps - stop, lambda _, x: task.update(x, u), x)
        return task.outer_loss(x, u)
    return value


# ------------------------------------------------------------------ closed form (ridge)
def test_ridge_hypergradient_matches_chain_rule_by_hand(data, task):
    A, b, A_val, b_val = (np.asarray(a) for a in data)
    u = 0.7
    lam = math.exp(u)
    H = A.T @ A + lam * np.eye(N)
    x = np.linalg.solve(H, A.T @ b)
    dx = -lam * np.linalg.solve(H, x)
    expected = dx @ (A_val.T @ (A_val @ x - b_val))
    assert np.isclose(float(task.hypergradient(u)), expected, rtol=1e-10)
    assert np.allclose(task.x_star(u), x, rtol=1e-10)


def test_ridge_hypergradient_matches_finite_differences_of_value(task):
    # central differences of h(u) = ell(x*(u)); error O(h^2) ~ 1e-10 relative
    for u in (-1.0, 0.5, 2.0):
        h = 1e-5
        fd = (float(task.value(u + h)) - float(task.value(u - h))) / (2 * h)
        assert np.isclose(float(task.hypergradient(u)), fd, rtol=1e-6, atol=1e-9)
        assert np.isclose(float(task.hypergradient(u)), float(jax.grad(task.value)(u)), rtol=1e-9)


# ------------------------------------------------------------------ estimators
@pytest.fixture(scope="module")
def inner_run(task):
    """A cold-start inner solve at u = 0.3 with a loose tolerance (K moderate)."""
    x0, u = jnp.ones(N), jnp.asarray(0.3)
    d, x, K = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=Unrolled(),
                               eps=1e-3, max_inner=CAP)
    return x0, u, d, x, K


def test_unrolled_equals_jax_grad_through_the_loop(task, inner_run):
    x0, u, d, x, K = inner_run
    assert 5 < K < 500
    by_grad = jax.jit(jax.grad(_unrolled_value(task, x0, K)))(u)
    assert np.isclose(float(d), float(by_grad), rtol=1e-10)
    xs = jax.jit(lambda u: lax.fori_loop(0, K, lambda _, x: task.update(x, u), x0))(u)
    assert np.allclose(x, xs, rtol=1e-12, atol=1e-14)


def test_unrolled_equals_library_reverse_mode(task, inner_run):
    x0, u, d, x, K = inner_run
    ref = reverse_mode(task.update, x0, u, K, w=_grad_ell(task, x, u))[-1]
    assert np.allclose(d, ref, rtol=1e-10)


@pytest.mark.parametrize("steps", [1, 10])
def test_truncated_equals_stop_gradient_and_truncated_reverse_mode(task, inner_run, steps):
    x0, u, _, x, K = inner_run
    d, _, K2 = bl.hypergradient(task.update, task.outer_loss, x0, u,
                                estimator=Truncated(steps), eps=1e-3, max_inner=CAP)
    assert K2 == K
    by_grad = jax.jit(jax.grad(_unrolled_value(task, x0, K, stop=K - steps)))(u)
    by_reverse = reverse_mode(task.update, x0, u, K, stop=K - steps, w=_grad_ell(task, x, u))[-1]
    assert np.isclose(float(d), float(by_grad), rtol=1e-10)
    assert np.allclose(d, by_reverse, rtol=1e-10)


def test_truncated_longer_than_solve_equals_unrolled(task, inner_run):
    x0, u, d, _, K = inner_run
    d_long, _, _ = bl.hypergradient(task.update, task.outer_loss, x0, u,
                                    estimator=Truncated(K + 7), eps=1e-3, max_inner=CAP)
    assert np.isclose(float(d_long), float(d), rtol=1e-12)


def test_one_step_equals_library_one_step_jacobian_and_truncated_one(task, inner_run):
    x0, u, _, x, K = inner_run
    d, _, _ = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=OneStep(),
                               eps=1e-3, max_inner=CAP)
    x_prev = lax.fori_loop(0, K - 1, lambda _, x: task.update(x, u), x0)
    ref = one_step_jacobian(task.update, x_prev, u, w=_grad_ell(task, x, u))
    d1, _, _ = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=Truncated(1),
                                eps=1e-3, max_inner=CAP)
    assert np.allclose(d, ref, rtol=1e-10)
    assert np.isclose(float(d), float(d1), rtol=1e-12)


def test_implicit_equals_library_implicit_jacobian(task, inner_run):
    x0, u, _, x, _ = inner_run
    d, _, _ = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=Implicit(),
                               eps=1e-3, max_inner=CAP)
    assert np.allclose(d, implicit_jacobian(task.update, x, u, w=_grad_ell(task, x, u)), rtol=1e-10)


@pytest.mark.parametrize("estimator", [Unrolled(), Implicit(), Truncated(CAP)])
def test_consistent_estimators_converge_to_closed_form(task, estimator):
    u = jnp.asarray(0.3)
    d, _, K = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), u,
                               estimator=estimator, eps=1e-12, max_inner=CAP)
    assert K < CAP
    assert np.isclose(float(d), float(task.hypergradient(u)), rtol=1e-6, atol=1e-8)


def test_pytree_outer_variable_matches_scalar(task):
    """u = {"log_weight": u} gives the same estimate as the scalar u."""
    def update(x, u):
        return task.update(x, u["log_weight"])

    def loss(x, u):
        return task.outer_loss(x, u["log_weight"])
    d_tree, _, _ = bl.hypergradient(update, loss, jnp.zeros(N), {"log_weight": 0.3},
                                    estimator=Unrolled(), eps=1e-6, max_inner=CAP)
    d, _, _ = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), 0.3,
                               estimator=Unrolled(), eps=1e-6, max_inner=CAP)
    assert np.isclose(float(d_tree["log_weight"]), float(d), rtol=1e-12)


def test_direct_term_of_outer_loss_is_added(task):
    """ell(x, u) + u^2/2 adds u to every estimate."""
    loss = lambda x, u: task.outer_loss(x, u) + 0.5 * u ** 2  # noqa: E731
    for est in (Unrolled(), OneStep(), Implicit()):
        d0, _, _ = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), 0.3,
                                    estimator=est, eps=1e-6, max_inner=CAP)
        d1, _, _ = bl.hypergradient(task.update, loss, jnp.zeros(N), 0.3,
                                    estimator=est, eps=1e-6, max_inner=CAP)
        assert np.isclose(float(d1 - d0), 0.3, rtol=1e-10)


# ------------------------------------------------------------------ Algorithm 1
def test_history_records_algorithm_1(task):
    x0, tau = jnp.ones(N), 0.05
    hist = bl.hypergradient_descent(task.update, task.outer_loss, x0, 0.0, step_size=tau,
                                    num_outer=6, eps=1e-6, max_inner=CAP,
                                    reference=task.hypergradient)
    R = 6
    assert hist.u.shape == (R + 1, 1) and hist.hypergradient.shape == (R, 1)
    assert hist.x.shape == (R, N) and hist.inner_steps.shape == (R,)
    assert np.all(hist.wall_time > 0) and np.all(hist.converged)
    # the outer step u^(r+1) = u^(r) - tau d^(r)
    assert np.allclose(hist.u[1:], hist.u[:-1] - tau * hist.hypergradient, rtol=1e-14)
    # the reference error column
    ref = np.array([float(task.hypergradient(u)) for u in hist.u[:-1, 0]])
    assert np.allclose(hist.hypergradient_error, np.abs(ref - hist.hypergradient[:, 0]))
    # the outer loss column is ell at the last inner iterate
    assert np.allclose(hist.outer_loss, [task.outer_loss(x, 0.0) for x in hist.x])
    # warm start: step r restarts from x^(K_{r-1}); recomputing it gives the same d and K
    for r in (1, 4):
        d, x, K = bl.hypergradient(task.update, task.outer_loss, jnp.asarray(hist.x[r - 1]),
                                   hist.u[r, 0], estimator=Unrolled(), eps=1e-6,
                                   max_inner=CAP)
        assert K == hist.inner_steps[r] and np.isclose(float(d), hist.hypergradient[r, 0])


def test_cold_start_restarts_from_x0(task):
    x0 = jnp.ones(N)
    hist = bl.hypergradient_descent(task.update, task.outer_loss, x0, 0.0, step_size=0.05,
                                    num_outer=3, eps=1e-6, max_inner=CAP, warm_start=False)
    d, _, K = bl.hypergradient(task.update, task.outer_loss, x0, hist.u[2, 0],
                               estimator=Unrolled(), eps=1e-6, max_inner=CAP)
    assert K == hist.inner_steps[2] and np.isclose(float(d), hist.hypergradient[2, 0])
    assert hist.hypergradient_error is None


@pytest.mark.parametrize("warm_start, estimator", [(True, Unrolled()), (False, Unrolled()),
                                                    (True, Implicit())])
def test_untimed_single_loop_computes_the_same_history(task, warm_start, estimator):
    """timed=False (all outer steps in one compiled scan) gives the step-by-step iterates."""
    kwargs = dict(step_size=lambda r: 0.05 / (1 + r), num_outer=5, eps=1e-6, max_inner=CAP,
                  warm_start=warm_start, estimator=estimator, reference=task.hypergradient)
    timed = bl.hypergradient_descent(task.update, task.outer_loss, jnp.ones(N), 0.0, **kwargs)
    fast = bl.hypergradient_descent(task.update, task.outer_loss, jnp.ones(N), 0.0,
                                    timed=False, **kwargs)
    for field in ("u", "outer_loss", "hypergradient", "x", "hypergradient_error"):
        np.testing.assert_allclose(getattr(fast, field), getattr(timed, field), rtol=1e-12,
                                   atol=1e-14, err_msg=field)
    np.testing.assert_array_equal(fast.inner_steps, timed.inner_steps)
    np.testing.assert_array_equal(fast.converged, timed.converged)
    assert np.all(np.isnan(fast.wall_time)) and fast.wall_time.shape == (5,)


def test_untimed_zero_outer_steps(task):
    hist = bl.hypergradient_descent(task.update, task.outer_loss, jnp.ones(N), 0.0,
                                    step_size=0.05, num_outer=0, eps=1e-6, max_inner=CAP,
                                    timed=False)
    assert hist.u.shape == (1, 1) and hist.inner_steps.shape == (0,)


def test_warm_start_reduces_inner_iterations(task):
    kwargs = dict(step_size=0.05, num_outer=15, eps=1e-8, max_inner=CAP)
    cold = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                                    warm_start=False, **kwargs)
    warm = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                                    warm_start=True, **kwargs)
    assert warm.inner_steps[0] == cold.inner_steps[0]
    assert np.all(warm.inner_steps[1:] < cold.inner_steps[1:])
    assert warm.inner_steps.sum() < 0.8 * cold.inner_steps.sum()
    # both reach the same outer iterate up to the inner tolerance's effect
    assert np.isclose(warm.u[-1, 0], cold.u[-1, 0], atol=1e-3)


def test_descent_reaches_the_closed_form_minimizer(task):
    hist = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                                    step_size=0.05, num_outer=150, eps=1e-10, max_inner=CAP,
                                    estimator=Implicit())
    assert abs(float(task.hypergradient(hist.u[-1, 0]))) < 1e-4


def test_cap_on_inner_iterations_is_reported(task):
    hist = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                                    step_size=0.05, num_outer=2, eps=1e-12, max_inner=3)
    assert np.all(hist.inner_steps == 3) and not np.any(hist.converged)


def test_step_size_schedule_is_used(task):
    hist = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                                    step_size=lambda r: 0.1 / (r + 1), num_outer=4, eps=1e-6,
                                    max_inner=CAP)
    taus = 0.1 / (np.arange(4) + 1)
    assert np.allclose(hist.u[1:, 0], hist.u[:-1, 0] - taus * hist.hypergradient[:, 0])


def test_zero_outer_steps(task):
    hist = bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.5,
                                    step_size=0.1, num_outer=0, eps=1e-6, max_inner=10)
    assert hist.u.shape == (1, 1) and hist.inner_steps.shape == (0,)


def test_plain_function_update_works():
    """Un-wrapped Python functions are accepted (wrapped in Partial internally)."""
    update = lambda x, u: 0.5 * x + u  # noqa: E731  x* = 2u
    loss = lambda x, u: 0.5 * (x - 1.0) ** 2  # noqa: E731  h(u) = (2u - 1)^2 / 2
    hist = bl.hypergradient_descent(update, loss, 0.0, 0.0, step_size=0.2, num_outer=40,
                                    eps=1e-12, max_inner=200, estimator=Implicit(),
                                    reference=lambda u: 2 * (2 * u - 1))
    assert np.isclose(hist.u[-1, 0], 0.5, atol=1e-8)
    assert np.all(hist.hypergradient_error < 1e-9)


# ------------------------------------------------------------------ invalid input
@pytest.mark.parametrize("kwargs, error, words", [
    (dict(eps=0.0), ValueError, "eps"),
    (dict(eps=-1e-3), ValueError, "eps"),
    (dict(eps=float("nan")), ValueError, "eps"),
    (dict(max_inner=0), ValueError, "max_inner"),
    (dict(max_inner=2.5), TypeError, "max_inner"),
    (dict(step_size=float("inf")), ValueError, "step_size"),
    (dict(step_size=float("nan")), ValueError, "step_size"),
    (dict(step_size=-0.1), ValueError, "step_size"),
    (dict(step_size=lambda r: 0.1 if r < 2 else float("nan")), ValueError, "step_size(2)"),
    (dict(num_outer=-1), ValueError, "num_outer"),
    (dict(estimator="unrolled"), TypeError, "estimator"),
])
def test_invalid_inputs_raise_clear_errors(task, kwargs, error, words):
    args = dict(step_size=0.1, num_outer=3, eps=1e-6, max_inner=100)
    args.update(kwargs)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0, **args)


def test_invalid_estimator_arguments_and_shapes(task):
    with pytest.raises(ValueError, match="Truncated.steps"):
        Truncated(0)
    with pytest.raises(TypeError, match="Truncated.steps"):
        Truncated(2.0)
    with pytest.raises(ValueError, match="x0"):
        bl.hypergradient(lambda x, u: task.update(x, u)[:-1], task.outer_loss, jnp.zeros(N),
                         0.0, estimator=Unrolled(), eps=1e-6, max_inner=10)
    with pytest.raises(ValueError, match="A_val"):
        bl.ridge_task(jnp.ones((5, 3)), jnp.ones(5), jnp.ones((4, 2)), jnp.ones(4))


# ------------------------------------------------------------------ hypergradient_path
def test_hypergradient_path_matches_grad_through_the_loop(task):
    x0, u, K = jnp.ones(N), jnp.asarray(0.3), 12
    path_fn = jax.jit(bl._hypergradient_path, static_argnames=("num_steps", "start"))
    path = path_fn(task.update, task.outer_loss, x0, u, num_steps=K)
    assert path.shape == (K + 1, 1)
    for k in (1, K):
        by_grad = jax.jit(jax.grad(_unrolled_value(task, x0, k)))(u)
        assert np.isclose(float(path[k, 0]), float(by_grad), rtol=1e-10, atol=1e-14)
    late = path_fn(task.update, task.outer_loss, x0, u, num_steps=K, start=4)
    assert late.shape == (K - 4 + 1, 1)
    by_grad = jax.jit(jax.grad(_unrolled_value(task, x0, K, stop=4)))(u)
    assert np.isclose(float(late[-1, 0]), float(by_grad), rtol=1e-10)


def test_transient_identity_for_ridge_in_log_weight(task, data):
    r"""Chapter 5's identity for GD on ridge in u = log(lambda), x0 a constant:
    Xdot^(k) - Dx* = -B^k Dx* - k alpha e^u B^(k-1) (x0 - x*), B = I - alpha (A^T A + e^u I)."""
    A = np.asarray(data[0])
    u, K = 0.4, 30
    alpha = 1.0 / np.linalg.norm(A, 2) ** 2
    lam = math.exp(u)
    B = np.eye(N) - alpha * (A.T @ A + lam * np.eye(N))
    x0 = 3.0 * np.ones(N)
    x_star, Dx = np.asarray(task.x_star(u)), np.asarray(jax.jacfwd(task.x_star)(u))
    X_dot = np.asarray(forward_mode(task.update, jnp.asarray(x0), u, K))[:, :, 0]
    for k in range(1, K + 1):
        Bk, Bk1 = np.linalg.matrix_power(B, k), np.linalg.matrix_power(B, k - 1)
        predicted = -Bk @ Dx - k * alpha * lam * Bk1 @ (x0 - x_star)
        assert np.allclose(X_dot[k] - Dx, predicted, rtol=1e-9, atol=1e-12)


def test_synthetic_regression_has_an_interior_optimal_weight():
    task = bl.ridge_task(*synthetic_regression(jax.random.PRNGKey(1)))
    at_ends = bl.evaluate_along(task.hypergradient, jnp.array([-2.0, 6.0]))
    assert at_ends[0] < 0 < at_ends[1]


def test_evaluate_along_matches_a_loop(task):
    us = np.linspace(-1.0, 2.0, 5)
    assert np.allclose(bl.evaluate_along(task.value, us), [float(task.value(u)) for u in us])


def test_linear_task_constants_are_exact():
    rho = 0.7
    task, c = bl.linear_task(jax.random.PRNGKey(0), rho, num_features=5, num_params=2)
    x, u = jnp.ones(5), jnp.ones(2)
    B = jax.jacfwd(task.update, 0)(x, u)
    C = jax.jacfwd(task.update, 1)(x, u)
    assert np.isclose(np.linalg.norm(B, 2), rho, rtol=1e-10)               # contraction factor
    assert np.isclose(np.linalg.norm(C, 2), c["L_F"], rtol=1e-10) and c["L_J"] == 0.0
    # the exact hypergradient against finite differences of the exact value
    h = 1e-6
    fd = [(float(task.value(u + h * e)) - float(task.value(u - h * e))) / (2 * h)
          for e in jnp.eye(2)]
    assert np.allclose(task.hypergradient(u), fd, rtol=1e-6, atol=1e-9)
    # |grad g| <= l_g and ||Hess g|| <= l_grad on random points
    pts = 10.0 * jax.random.normal(jax.random.PRNGKey(1), (50, 5))
    grads = jax.jit(jax.vmap(jax.grad(task.outer_loss), in_axes=(0, None)))(pts, u)
    hess = jax.jit(jax.vmap(jax.hessian(task.outer_loss), in_axes=(0, None)))(pts, u)
    assert np.all(np.linalg.norm(grads, axis=1) <= c["l_g"])
    assert np.all(np.linalg.norm(hess, 2, axis=(1, 2)) <= c["l_grad"] + 1e-12)


# ------------------------------------------------------------------ Bolte et al. Cor. 4-5
def test_cor5_epsilon_matches_cor4_with_geometric_iterate_errors():
    """eps = rho/(1-rho) (L_F l_g + (L_J l_g + L_F l_grad) M rho^(k-2)) equals Cor. 4's
    bound with ||x_j - xbar|| replaced by rho^j M / (1 - rho)."""
    rho, L_F, L_J, l_g, l_grad, M, k = 0.6, 1.3, 0.4, 2.0, 0.7, 3.0, 5
    cor4 = (rho * L_F * l_g / (1 - rho) + L_J * l_g * rho ** (k - 1) * M / (1 - rho)
            + L_F * l_grad * rho ** k * M / (1 - rho))
    eps = bounds.one_step_criticality(rho, L_F, L_J, l_g, l_grad, M, k)
    assert eps >= cor4 - 1e-12                     # rho^k <= rho^(k-1) in the last term
    assert np.isclose(eps, cor4 + L_F * l_grad * M * (rho ** (k - 1) - rho ** k) / (1 - rho))


@settings(max_examples=5, deadline=None)
@given(rho=st.floats(0.05, 0.9), seed=st.integers(0, 2 ** 16), k=st.sampled_from([2, 4]))
def test_one_step_descent_obeys_cor4_and_cor5(rho, seed, k):
    task, c = bl.linear_task(jax.random.PRNGKey(seed), rho)
    x0, u0, R = jnp.zeros(5), jnp.ones(2), 40
    L_h = bounds.one_step_smoothness(**c)
    hist = bl.hypergradient_descent(task.update, task.outer_loss, x0, u0, step_size=1.0 / L_h,
                                    num_outer=R, eps=1e-300, max_inner=k,
                                    estimator=OneStep(), warm_start=False,
                                    reference=task.hypergradient)
    assert np.all(hist.inner_steps == k)
    M = max(float(jnp.linalg.norm(task.update(x0, u) - x0)) for u in hist.u[:-1])
    eps = bounds.one_step_criticality(**c, M=M, k=k)
    assert np.all(hist.hypergradient_error <= eps * (1 + 1e-9))          # Cor. 4
    grads = bl.evaluate_along(task.hypergradient, jnp.asarray(hist.u[:-1]))
    gap = float(task.value(u0))                                            # g >= 0 = g*
    assert np.min(np.sum(grads ** 2, axis=1)) <= bounds.criticality_bound(eps, L_h, gap, R - 1)


@settings(max_examples=3, deadline=None)
@given(rho=st.floats(0.05, 0.95), seed=st.integers(0, 2 ** 16))
def test_one_step_smoothness_bounds_the_hypergradient_lipschitz_constant(rho, seed):
    task, c = bl.linear_task(jax.random.PRNGKey(seed), rho)
    pts = 3.0 * jax.random.normal(jax.random.PRNGKey(seed + 1), (40, 2))
    grads = bl.evaluate_along(task.hypergradient, pts)
    diffs = np.linalg.norm(grads[:20] - grads[20:], axis=1)
    dists = np.linalg.norm(np.asarray(pts[:20] - pts[20:]), axis=1)
    assert np.all(diffs <= bounds.one_step_smoothness(**c) * dists * (1 + 1e-9))


def test_cor5_inputs_are_checked():
    with pytest.raises(ValueError, match="rho"):
        bounds.one_step_criticality(1.0, 1, 0, 1, 1, 1, 3)
    with pytest.raises(ValueError, match="k"):
        bounds.one_step_criticality(0.5, 1, 0, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="rho"):
        bl.linear_task(jax.random.PRNGKey(0), 1.2)


def test_outer_minimizer_finds_the_zero_of_the_hypergradient(task):
    u_star = bl.outer_minimizer(task.hypergradient, -3.0, 8.0, tol=1e-10)
    assert abs(float(task.hypergradient(u_star))) < 1e-6
    # it is the minimizer of h on a fine grid around it
    grid = np.linspace(u_star - 0.1, u_star + 0.1, 201)
    assert abs(grid[np.argmin(bl.evaluate_along(task.value, grid))] - u_star) <= 1e-3
    with pytest.raises(ValueError, match="hypergradient"):
        bl.outer_minimizer(task.hypergradient, 6.0, 8.0)


