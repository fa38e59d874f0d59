"""Bad input raises a ValueError / TypeError that names the argument (and its valid range).

Every check happens in Python before anything is traced, so the messages are ours,
never a raw XLA error. Traced values (step sizes under ``jax.jit`` / ``jax.vmap``)
cannot be checked and must pass through.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import (bounds, chebyshev, errors, forward_mode, gradient_descent, heavy_ball,
                       implicit_jacobian, iterate, newton, one_step_jacobian, problems,
                       reverse_mode)
from unrolling.budget import reallocate

N = 3
A_DATA = np.arange(1.0, 13.0).reshape(4, N) / 10 + np.eye(4, N)
B_DATA = np.linspace(-1.0, 1.0, 4)
RIDGE = problems.ridge(A_DATA, B_DATA)
UPDATE = gradient_descent(RIDGE.f, 0.01)
X0, U = jnp.zeros(N), 0.5
LOOPS = {"iterate": lambda K, **kw: iterate(UPDATE, X0, U, K),
         "forward_mode": lambda K, **kw: forward_mode(UPDATE, X0, U, K, **kw),
         "reverse_mode": lambda K, **kw: reverse_mode(UPDATE, X0, U, K, **kw)}


# --- num_steps, start, stop ------------------------------------------------------

@pytest.mark.parametrize("loop", list(LOOPS))
def test_negative_num_steps(loop):
    with pytest.raises(ValueError, match=r"num_steps must be a non-negative int \(>= 0\), got -1"):
        LOOPS[loop](-1)


@pytest.mark.parametrize("loop", list(LOOPS))
@pytest.mark.parametrize("bad", [2.0, True, "3", None, jnp.array(3)])
def test_non_integer_num_steps(loop, bad):
    with pytest.raises(TypeError, match="num_steps must be a non-negative int"):
        LOOPS[loop](bad)


@pytest.mark.parametrize("loop", list(LOOPS))
def test_numpy_integer_num_steps_are_accepted(loop):
    assert LOOPS[loop](np.int64(3)).shape[0] == 4
    assert LOOPS[loop](np.int32(0)).shape[0] == 1


@pytest.mark.parametrize("name, loop", [("start", "forward_mode"), ("stop", "reverse_mode")])
@pytest.mark.parametrize("bad", [-1, 6])
def test_start_and_stop_outside_the_range(name, loop, bad):
    with pytest.raises(ValueError, match=rf"{name} must lie in \[0, num_steps\] = \[0, 5\]"):
        LOOPS[loop](5, **{name: bad})


@pytest.mark.parametrize("name, loop", [("start", "forward_mode"), ("stop", "reverse_mode")])
@pytest.mark.parametrize("bad", [1.5, True, None])
def test_start_and_stop_not_integers(name, loop, bad):
    with pytest.raises(TypeError, match=rf"{name} must be an int in \[0, num_steps\]"):
        LOOPS[loop](5, **{name: bad})


@pytest.mark.parametrize("name, loop", [("start", "forward_mode"), ("stop", "reverse_mode")])
def test_start_and_stop_at_the_ends_are_accepted(name, loop):
    assert LOOPS[loop](5, **{name: 0}).shape[0] == 6
    assert LOOPS[loop](5, **{name: np.int64(5)}).shape[0] == 1


# --- step sizes and momentum --------------------------------------------------------

METHODS = {"gradient_descent": lambda s: gradient_descent(RIDGE.f, s),
           "heavy_ball": lambda s: heavy_ball(RIDGE.f, s, 0.5),
           "newton": lambda s: newton(RIDGE.f, s)}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -0.1, jnp.array(-1.0)])
def test_bad_step_size(method, bad):
    with pytest.raises(ValueError, match="step_size must be finite and > 0"):
        METHODS[method](bad)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bad", [jnp.ones(2), "0.1", None])
def test_non_scalar_step_size(method, bad):
    with pytest.raises(TypeError, match="step_size must be a finite scalar > 0"):
        METHODS[method](bad)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan])
def test_momentum_outside_the_unit_interval(bad):
    with pytest.raises(ValueError, match=r"momentum must lie in \[0.0, 1.0\)"):
        heavy_ball(RIDGE.f, 0.1, bad)


def test_chebyshev_needs_0_lt_mu_lt_L():
    with pytest.raises(ValueError, match="L must be > mu"):
        chebyshev(RIDGE.f, 1.0, 2.0)
    with pytest.raises(ValueError, match="mu must be finite and > 0"):
        chebyshev(RIDGE.f, 1.0, 0.0)
    with pytest.raises(ValueError, match="L must be finite and > 0"):
        chebyshev(RIDGE.f, math.inf, 0.5)


def test_traced_hyperparameters_pass_under_jit_and_vmap():
    """Under jax.jit / jax.vmap the values are unknown: the checks must not raise."""
    def run(step, momentum, L, mu):
        hb = heavy_ball(RIDGE.f, step, momentum)
        cheb_update, init = chebyshev(RIDGE.f, L, mu)
        return (iterate(gradient_descent(RIDGE.f, step), X0, U, 3)[-1],
                iterate(hb, (X0, X0), U, 3)[-1],
                iterate(newton(RIDGE.f, step), X0, U, 3)[-1],
                iterate(cheb_update, init(X0), U, 3)[-1])
    L, mu = RIDGE.smoothness(U), RIDGE.strong_convexity(U)
    jitted = jax.jit(run)(0.1, 0.5, L, mu)
    batched = jax.jit(jax.vmap(run, in_axes=(0, None, None, None)))(
        jnp.array([0.05, 0.1]), 0.5, L, mu)
    for got, expected in zip(batched, jitted):
        assert got.shape == (2,) + expected.shape
        np.testing.assert_allclose(got[1], expected, rtol=1e-12)


# --- shapes of v, w and of the update map -----------------------------------------------

LS = problems.least_squares()
LS_U = (jnp.asarray(A_DATA), jnp.asarray(B_DATA))
LS_UPDATE = gradient_descent(LS.f, 0.01)
BAD_V = {"wrong shape": (jnp.ones((4, 2)), jnp.ones(4)),
         "wrong structure": jnp.ones(4 * N + 4),
         "missing leaf": (jnp.ones((4, N)),)}
BAD_W = {"wrong shape": jnp.ones(N + 1), "wrong structure": (jnp.ones(N),)}


@pytest.mark.parametrize("bad", list(BAD_V))
def test_tangent_v_must_have_the_shape_of_u(bad):
    v = BAD_V[bad]
    calls = [lambda: forward_mode(LS_UPDATE, X0, LS_U, 3, v=v),
             lambda: implicit_jacobian(LS_UPDATE, X0, LS_U, v=v),
             lambda: one_step_jacobian(LS_UPDATE, X0, LS_U, v=v)]
    for call in calls:
        with pytest.raises(ValueError, match="v must have the structure and shapes of u"):
            call()


@pytest.mark.parametrize("bad", list(BAD_W))
def test_cotangent_w_must_have_the_shape_of_x(bad):
    w = BAD_W[bad]
    calls = [lambda: reverse_mode(LS_UPDATE, X0, LS_U, 3, w=w),
             lambda: reverse_mode(LS_UPDATE, lambda u: X0, LS_U, 3, w=w),
             lambda: implicit_jacobian(LS_UPDATE, X0, LS_U, w=w),
             lambda: one_step_jacobian(LS_UPDATE, X0, LS_U, w=w)]
    for call in calls:
        with pytest.raises(ValueError, match="w must have the structure and shapes of x"):
            call()


@pytest.mark.parametrize("loop", list(LOOPS))
def test_update_must_return_the_shape_of_x0(loop):
    def bad_update(x, u):
        return jnp.concatenate([x, x])
    call = {"iterate": lambda: iterate(bad_update, X0, U, 2),
            "forward_mode": lambda: forward_mode(bad_update, X0, U, 2),
            "reverse_mode": lambda: reverse_mode(bad_update, X0, U, 2)}[loop]
    with pytest.raises(ValueError, match=r"update\(x0, u\) must have the structure and shapes of x0"):
        call()


@pytest.mark.parametrize("estimator", [implicit_jacobian, one_step_jacobian])
def test_update_must_return_the_shape_of_x(estimator):
    with pytest.raises(ValueError, match=r"update\(x0, u\) must have the structure"):
        estimator(lambda x, u: (x, x), X0, U)


# --- budget and bounds ------------------------------------------------------------------

@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_bad_omega(bad):
    with pytest.raises(ValueError, match="omega must lie in"):
        reallocate(10, 2, bad)


def test_truncation_index_outside_0_K():
    with pytest.raises(ValueError, match=r"T must lie in \[0, K\] = \[0, 10\], got 11"):
        reallocate(10, 11, 3)
    with pytest.raises(ValueError, match=r"T must lie in \[0, K\]"):
        reallocate(10, -1, 3)
    with pytest.raises(TypeError, match="T must be an int"):
        reallocate(10, 2.0, 3)
    with pytest.raises(ValueError, match="K must be a non-negative int"):
        reallocate(-1, 0, 3)
    with pytest.raises(ValueError, match="K must be a non-negative int"):
        bounds.optimal_truncation(-1, 3, 0.9, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, math.nan])
def test_contraction_factor_outside_0_1(bad):
    with pytest.raises(ValueError, match="rho must lie in"):
        bounds.gamma(1.0, 1.0, 1.0, bad)
    with pytest.raises(ValueError, match="rho must lie in"):
        bounds.one_step_bound(bad, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"rho must lie in \(0.0, 1.0\)"):
        bounds.optimal_truncation_relaxed(10, 3, bad, 1.0, 1.0, 1.0)


def test_relaxed_truncation_needs_rho_positive():
    with pytest.raises(ValueError, match=r"rho must lie in \(0.0, 1.0\)"):
        bounds.optimal_truncation_relaxed(10, 3, 0.0, 1.0, 1.0, 1.0)


def test_bad_norm_name():
    with pytest.raises(ValueError, match='norm must be "fro" or "op"'):
        errors.derivative_errors(jnp.ones((2, 3, 1)), jnp.ones((3, 1)), norm="l1")


# --- problem constructors ----------------------------------------------------------------

def test_quadratic_shapes():
    with pytest.raises(ValueError, match=r"H0 must be \(n, n\) and c \(n,\)"):
        problems.quadratic(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match=r"H0 must be \(n, n\)"):
        problems.quadratic(np.ones((3, 2)), np.ones(3))


def test_ridge_shapes():
    with pytest.raises(ValueError, match=r"A must be \(M, N\) and b \(M,\)"):
        problems.ridge(np.ones((5, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"A must be \(M, N\)"):
        problems.ridge(np.ones(5), np.ones(5))


def test_logistic_regression_shapes():
    with pytest.raises(ValueError, match=r"X must be \(M, N\) and y \(M,\)"):
        problems.logistic_regression(np.ones((5, 3)), np.ones(3))


def test_spectral_quadratic_arguments(key):
    with pytest.raises(ValueError, match="eigenvalues must be a 1-d array of positive numbers"):
        problems.spectral_quadratic(key, jnp.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="eigenvalues must be a 1-d array"):
        problems.spectral_quadratic(key, jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="solution_weights must have the structure and shapes"):
        problems.spectral_quadratic(key, jnp.ones(3), jnp.ones(2))


def test_least_squares_instance_sizes(key):
    with pytest.raises(ValueError, match="need 0 < N <= M"):
        problems.least_squares_instance(key, 5, 6)
    with pytest.raises(ValueError, match="need 0 < N <= M"):
        problems.least_squares_instance(key, 5, 0)
    with pytest.raises(ValueError, match="M must be a non-negative int"):
        problems.least_squares_instance(key, -5, 2)
    with pytest.raises(TypeError, match="N must be a non-negative int"):
        problems.least_squares_instance(key, 5, 2.0)
