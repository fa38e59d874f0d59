"""Chapter 5 exercise checkers: each accepts an independently computed correct answer,
rejects a wrong one, and prints a one-line verdict."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from scipy.optimize import minimize_scalar

from unrolling import bilevel as bl
from unrolling import checks
from unrolling.data import synthetic_regression


@pytest.fixture(scope="module")
def data():
    return tuple(np.asarray(a) for a in synthetic_regression(
        jax.random.PRNGKey(5), num_train=12, num_val=10, num_features=3, noise=2.0))


@pytest.fixture(scope="module")
def task(data):
    return bl.ridge_task(*data)


def _closed_form(data, u):
    """x*(u), Dx*(u) and h, grad h by hand with numpy (log weight u)."""
    A, b, A_val, b_val = data
    lam = math.exp(u)
    H = A.T @ A + lam * np.eye(A.shape[1])
    x = np.linalg.solve(H, A.T @ b)
    r = A_val @ x - b_val
    return 0.5 * r @ r, -lam * np.linalg.solve(H, x) @ (A_val.T @ r)


def test_ch5_ridge_hypergradient(data, capsys):
    _, grad = _closed_form(data, 1.0)
    assert checks.ch5_ridge_hypergradient(*data, 1.0, grad)
    assert "correct" in capsys.readouterr().out
    assert not checks.ch5_ridge_hypergradient(*data, 1.0, grad + 0.1)
    assert not checks.ch5_ridge_hypergradient(*data, 1.0, np.array([grad, grad]))
    assert "not yet" in capsys.readouterr().out


def test_ch5_adjoint_hypergradient(task):
    x, u = jnp.ones(3), jnp.asarray(0.5)
    B = jax.jacfwd(task.update, argnums=0)(x, u)
    y = jnp.linalg.solve(jnp.eye(3) - B.T, jax.grad(task.outer_loss)(x, u))
    answer = jax.vjp(lambda v: task.update(x, v), u)[1](y)[0]
    assert checks.ch5_adjoint_hypergradient(task.update, task.outer_loss, x, u, answer)
    assert not checks.ch5_adjoint_hypergradient(task.update, task.outer_loss, x, u, answer * 1.01)


def test_one_step_hypergradient_matches_stop_gradient_implementation(task):
    x0, K = jnp.zeros(3), 8

    def loss(u):
        frozen = lambda _, x: task.update(lax.stop_gradient(x), lax.stop_gradient(u))  # noqa: E731
        x = lax.fori_loop(0, K - 1, frozen, x0)
        return task.outer_loss(task.update(x, u), u)

    def unrolled(u):
        return task.outer_loss(lax.fori_loop(0, K, lambda _, x: task.update(x, u), x0), u)
    assert checks.ch5_one_step_hypergradient(task.update, task.outer_loss, x0, 0.2, K,
                                         jax.grad(loss)(0.2))
    assert not checks.ch5_one_step_hypergradient(task.update, task.outer_loss, x0, 0.2, K,
                                             jax.grad(unrolled)(0.2))
    with pytest.raises(ValueError, match="num_steps"):
        checks.ch5_one_step_hypergradient(task.update, task.outer_loss, x0, 0.2, 0, 0.0)


def test_ch5_criticality_constants():
    consts = dict(rho=0.5, L_F=1.0, L_J=0.0, l_g=math.sqrt(5), l_grad=1.0)
    eps = 0.5 / 0.5 * (math.sqrt(5) + 2.0 * 0.5 ** 2)      # M = 2, k = 4
    tau = 1.0 / (1.0 / 0.5) ** 2                             # 1 / (l_grad (L_F/(1-rho))^2)
    assert checks.ch5_criticality_constants(consts, 2.0, 4, (eps, tau))
    assert not checks.ch5_criticality_constants(consts, 2.0, 4, (tau, eps))
    assert not checks.ch5_criticality_constants(consts, 2.0, 4, (eps,))


def _brute_force_peaks(rho):
    values = [k * rho ** (k - 1) for k in range(1, 2000)]
    best = max(values)
    return [k for k, v in enumerate(values, start=1) if math.isclose(v, best, rel_tol=1e-12)]


@pytest.mark.parametrize("rho", [0.5, 0.75, 0.9, 0.97])
def test_ch5_transient_peak(rho):
    peaks = _brute_force_peaks(rho)
    for k in peaks:
        assert checks.ch5_transient_peak(rho, k)
    assert not checks.ch5_transient_peak(rho, max(peaks) + 1)
    assert not checks.ch5_transient_peak(rho, min(peaks) - 1)
    with pytest.raises(ValueError, match="rho"):
        checks.ch5_transient_peak(1.0, 3)


def test_transient_peak_tie_is_accepted():
    # rho / (1 - rho) = 3 is an integer: k = 3 and k = 4 give the same factor
    assert _brute_force_peaks(0.75) == [3, 4]


def test_ch5_optimal_log_weight(data):
    best = minimize_scalar(lambda u: _closed_form(data, u)[0], bounds=(-10.0, 10.0),
                           method="bounded", options={"xatol": 1e-9})
    assert abs(_closed_form(data, best.x)[1]) < 1e-5         # an interior minimum
    assert checks.ch5_optimal_log_weight(*data, best.x)
    assert not checks.ch5_optimal_log_weight(*data, best.x + 0.05)


# --- Trivial answers: an input, a neighbouring formula, another estimator -------------

def test_ridge_hypergradient_rejects_the_value_and_the_lambda_gradient(data, task):
    _, grad = _closed_form(data, 1.0)
    for wrong in (float(task.value(1.0)),          # h(u) instead of its gradient
                  grad / math.e,                    # d/d lambda instead of d/du
                  _closed_form(data, 0.0)[1],       # the gradient at another u
                  1.0, 0.0):                        # the input u, zero
        assert not checks.ch5_ridge_hypergradient(*data, 1.0, wrong), wrong


def test_adjoint_hypergradient_rejects_other_estimators(task):
    x0, u = 5.0 * jnp.ones(3), jnp.asarray(0.5)
    xs = lax.fori_loop(0, 6, lambda _, x: task.update(x, u), x0)   # not converged
    grad_x = jax.grad(task.outer_loss)(xs, u)
    one_step = jax.vjp(lambda v: task.update(xs, v), u)[1](grad_x)[0]

    def unrolled(v):
        return task.outer_loss(lax.fori_loop(0, 6, lambda _, x: task.update(x, v), x0), v)
    for wrong in (task.hypergradient(u),            # the exact value at x*(u), not at x
                  jax.grad(unrolled)(u),            # the unrolled value from the same solve
                  one_step,                         # C^T grad ell: (I - B) forgotten
                  u, 0.0):
        assert not checks.ch5_adjoint_hypergradient(task.update, task.outer_loss, xs, u,
                                                    wrong), wrong


def test_one_step_hypergradient_rejects_a_wrong_number_of_steps(task):
    x0, u, K = 5.0 * jnp.ones(3), 0.2, 8

    def one_step(num_steps, grad_at_last=True):
        x_prev = lax.fori_loop(0, num_steps - 1, lambda _, x: task.update(x, u), x0)
        x_K = task.update(x_prev, u)
        grad_x = jax.grad(task.outer_loss)(x_K if grad_at_last else x_prev, u)
        return jax.vjp(lambda v: task.update(x_prev, v), u)[1](grad_x)[0]
    assert checks.ch5_one_step_hypergradient(task.update, task.outer_loss, x0, u, K,
                                             one_step(K))
    for wrong in (one_step(K - 1), one_step(K + 1), one_step(K, grad_at_last=False),
                  task.hypergradient(u), 0.0):
        assert not checks.ch5_one_step_hypergradient(task.update, task.outer_loss, x0, u,
                                                     K, wrong), wrong


def test_criticality_constants_reject_neighbouring_formulas():
    # rho = 0.8, as in the exercise: rho / (1 - rho) = 4 (at 0.5 it would be 1, and
    # forgetting the factor would pass unnoticed)
    consts = dict(rho=0.8, L_F=1.0, L_J=0.0, l_g=math.sqrt(5), l_grad=1.0)
    eps = 4.0 * (math.sqrt(5) + 2.0 * 0.8 ** 2)
    tau = 1.0 / 25.0
    assert checks.ch5_criticality_constants(consts, 2.0, 4, (eps, tau))
    for wrong in ((eps / 4.0, tau),                                  # no rho/(1-rho)
                  (4.0 * (math.sqrt(5) + 2.0 * 0.8 ** 3), tau),     # rho^(k-1)
                  (4.0 * math.sqrt(5), tau),                         # the k -> oo limit
                  (eps, 25.0),                                       # L_h, not 1/L_h
                  (eps, 1.0 / 5.0)):                                 # L_F/(1-rho) unsquared
        assert not checks.ch5_criticality_constants(consts, 2.0, 4, wrong), wrong


def test_transient_peak_rejects_the_unrounded_and_the_inputs():
    rho = 0.97                                     # the peak is k = 33
    for wrong in (rho / (1 - rho), 1 / (1 - rho), round(rho / (1 - rho)), rho, 1):
        assert not checks.ch5_transient_peak(rho, wrong), wrong


def test_optimal_log_weight_rejects_the_start_and_two_decimals_off(data):
    best = minimize_scalar(lambda u: _closed_form(data, u)[0], bounds=(-10.0, 10.0),
                           method="bounded", options={"xatol": 1e-9}).x
    assert checks.ch5_optimal_log_weight(*data, best + 5e-4)      # three decimals
    for wrong in (0.0, best + 2e-3, best - 2e-3):  # the start u = 0, two decimals off
        assert not checks.ch5_optimal_log_weight(*data, wrong), wrong
