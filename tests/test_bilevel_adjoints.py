"""Tests for chapter 7's additions to unrolling.bilevel: the approximate adjoints as
estimators, warm-started adjoints (Arbel & Mairal 2022) and inner-tolerance schedules (HOAG).

References: the closed-form ridge hypergradient (task.hypergradient), the estimators'
own ``.vjp`` on the same inner solve, and single outer steps recomputed with
:func:`bilevel.hypergradient`.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import ConjugateGradientAdjoint, FixedPointAdjoint, Implicit, Unrolled
from unrolling import bilevel as bl
from unrolling.data import synthetic_regression

N = 4       # features of the small synthetic task (as in test_bilevel.py)
CAP = 5000  # one inner cap, so that each estimator compiles once


@pytest.fixture(scope="module")
def task():
    return bl.ridge_task(*synthetic_regression(jax.random.PRNGKey(3), num_train=8, num_val=6,
                                               num_features=N, noise=1.0, condition=10.0))


def _descent(task, **kwargs):
    args = dict(step_size=0.05, num_outer=20, eps=1e-8, max_inner=CAP,
                reference=task.hypergradient, timed=False)
    args.update(kwargs)
    return bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0, **args)


# ------------------------------------------------------------------ the estimators
@pytest.mark.parametrize("estimator", [FixedPointAdjoint(500), ConjugateGradientAdjoint(N)])
def test_adjoints_reach_the_closed_form_hypergradient(task, estimator):
    u = jnp.asarray(0.3)
    d, _, K = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), u,
                               estimator=estimator, eps=1e-12, max_inner=CAP)
    assert K < CAP
    exact = float(task.hypergradient(u))
    assert abs(float(d) - exact) <= 1e-8 * abs(exact)
    # fewer fixed-point steps are further off (geometric convergence in the steps)
    d_few, _, _ = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), u,
                                   estimator=type(estimator)(1), eps=1e-12, max_inner=CAP)
    assert abs(float(d_few) - exact) > 1e-3 * abs(exact)


@pytest.mark.parametrize("estimator", [FixedPointAdjoint(1), FixedPointAdjoint(30),
                                       ConjugateGradientAdjoint(2)])
def test_bilevel_estimate_equals_the_estimators_vjp(task, estimator):
    """d = grad_u ell + estimator.vjp(update, x0, u, K, grad_x ell(x^(K))) on the same solve
    (here grad_u ell = 0)."""
    x0, u = jnp.ones(N), jnp.asarray(0.3)
    d, x, K = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=estimator,
                               eps=1e-4, max_inner=CAP)
    grad_x = jax.grad(task.outer_loss)(x, u)
    np.testing.assert_allclose(d, estimator.vjp(task.update, x0, u, K, grad_x), rtol=1e-10)


# ------------------------------------------------------------------ warm-started adjoints
@pytest.mark.parametrize("estimator", [FixedPointAdjoint(1), ConjugateGradientAdjoint(1)])
def test_warm_adjoint_drives_the_hypergradient_error_down(task, estimator):
    """One adjoint iteration per outer step: carried across steps (Arbel & Mairal 2022), y
    tracks y*(u^(r)) and the error falls below 1e-6 within 200 steps (measured: ~1e-7 for
    fixed point, ~1e-10 for CG); restarted from 0 it stays O(1) (measured: ~2) and the
    descent stops at a wrong u."""
    kwargs = dict(num_outer=200, eps=1e-10, estimator=estimator)
    warm, cold = _descent(task, warm_adjoint=True, **kwargs), _descent(task, **kwargs)
    assert warm.hypergradient_error[-1] < 1e-6
    assert warm.hypergradient_error[-1] < 1e-4 * warm.hypergradient_error[0]
    assert np.all(cold.hypergradient_error[-50:] > 0.1)
    assert abs(float(task.hypergradient(warm.u[-1, 0]))) < 1e-6
    assert abs(float(task.hypergradient(cold.u[-1, 0]))) > 0.1


def test_warm_adjoint_timed_and_untimed_agree_and_cold_adjoint_is_hypergradient(task):
    kwargs = dict(num_outer=6, estimator=FixedPointAdjoint(2))
    fast = _descent(task, warm_adjoint=True, **kwargs)
    timed = _descent(task, warm_adjoint=True, timed=True, **kwargs)
    for field in ("u", "hypergradient", "x", "hypergradient_error"):
        np.testing.assert_allclose(getattr(fast, field), getattr(timed, field), rtol=1e-12,
                                   atol=1e-14, err_msg=field)
    np.testing.assert_array_equal(fast.inner_steps, timed.inner_steps)
    cold = _descent(task, **kwargs)
    assert not np.allclose(cold.hypergradient, fast.hypergradient, rtol=1e-6)
    d, _, K = bl.hypergradient(task.update, task.outer_loss, jnp.asarray(cold.x[2]),
                               cold.u[3, 0], estimator=FixedPointAdjoint(2), eps=1e-8,
                               max_inner=CAP)
    assert K == cold.inner_steps[3] and np.isclose(float(d), cold.hypergradient[3, 0],
                                                   rtol=1e-12)


# ------------------------------------------------------------------ tolerance schedules
def test_eps_schedule_sets_each_inner_solve(task):
    """Cold starts, eps_r = 1e-2 2^-r: each K_r is the one of a single solve with eps_r, and
    tighter tolerances take more inner steps."""
    schedule = lambda r: 1e-2 * 0.5 ** r  # noqa: E731
    hist = _descent(task, eps=schedule, warm_start=False, estimator=Implicit())
    for r in (0, 7, 19):
        _, _, K = bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), hist.u[r, 0],
                                   estimator=Implicit(), eps=schedule(r), max_inner=CAP)
        assert K == hist.inner_steps[r]
    assert np.all(np.diff(hist.inner_steps) >= 0)
    assert hist.inner_steps[-1] > 2 * hist.inner_steps[0]


@pytest.mark.parametrize("timed", [False, True])
def test_constant_schedule_reproduces_the_constant_run(task, timed):
    kwargs = dict(num_outer=5, estimator=FixedPointAdjoint(3), warm_adjoint=True, timed=timed)
    const = _descent(task, eps=1e-6, **kwargs)
    sched = _descent(task, eps=lambda r: 1e-6, **kwargs)
    for field in ("u", "hypergradient", "x", "inner_steps", "outer_loss"):
        np.testing.assert_array_equal(getattr(sched, field), getattr(const, field), field)


# ------------------------------------------------------------------ invalid input
@pytest.mark.parametrize("kwargs, error, words", [
    (dict(warm_adjoint=True), ValueError, "warm_adjoint"),                     # Unrolled()
    (dict(warm_adjoint=True, estimator=Implicit()), ValueError, "warm_adjoint"),
    (dict(warm_adjoint="yes", estimator=FixedPointAdjoint(1)), TypeError, "warm_adjoint"),
    (dict(eps=lambda r: 1e-6 if r < 2 else 0.0), ValueError, r"eps\(2\)"),
    (dict(eps=lambda r: -1e-3), ValueError, r"eps\(0\)"),
    (dict(eps=lambda r: float("nan")), ValueError, r"eps\(0\)"),
    (dict(estimator=FixedPointAdjoint), TypeError, "estimator"),
])
def test_invalid_inputs_raise_clear_errors(task, kwargs, error, words):
    args = dict(step_size=0.1, num_outer=3, eps=1e-6, max_inner=100, estimator=Unrolled())
    args.update(kwargs)
    with pytest.raises(error, match=words):
        bl.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 0.0, **args)


def test_single_step_needs_a_number_for_eps(task):
    with pytest.raises(TypeError, match="eps"):
        bl.hypergradient(task.update, task.outer_loss, jnp.zeros(N), 0.0,
                         estimator=FixedPointAdjoint(1), eps=lambda r: 1e-6, max_inner=10)
