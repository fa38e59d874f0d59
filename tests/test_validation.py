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
                       reverse_mode, sobolev)
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


@pytest.mark.parametrize("method", [chebyshev, sobolev])
def test_chebyshev_and_sobolev_need_0_lt_mu_lt_L(method):
    with pytest.raises(ValueError, match="L must be > mu"):
        method(RIDGE.f, 1.0, 2.0)
    with pytest.raises(ValueError, match="mu must be finite and > 0"):
        method(RIDGE.f, 1.0, 0.0)
    with pytest.raises(ValueError, match="L must be finite and > 0"):
        method(RIDGE.f, math.inf, 0.5)


def test_traced_hyperparameters_pass_under_jit_and_vmap():
    """Under jax.jit / jax.vmap the values are unknown: the checks must not raise."""
    def run(step, momentum, L, mu):
        hb = heavy_ball(RIDGE.f, step, momentum)
        cheb_update, init = chebyshev(RIDGE.f, L, mu)
        sob_update, sob_init = sobolev(RIDGE.f, L, mu)
        return (iterate(gradient_descent(RIDGE.f, step), X0, U, 3)[-1],
                iterate(hb, (X0, X0), U, 3)[-1],
                iterate(newton(RIDGE.f, step), X0, U, 3)[-1],
                iterate(cheb_update, init(X0), U, 3)[-1],
                iterate(sob_update, sob_init(X0), U, 3)[-1])
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
        data.least_squares_instance(key, 5, 6)
    with pytest.raises(ValueError, match="need 0 < N <= M"):
        data.least_squares_instance(key, 5, 0)
    with pytest.raises(ValueError, match="M must be a non-negative int"):
        data.least_squares_instance(key, -5, 2)
    with pytest.raises(TypeError, match="N must be a non-negative int"):
        data.least_squares_instance(key, 5, 2.0)


# --- array-likes a student will type: ints, floats, lists, integer arrays ----------------
# Taken as float arrays, as NumPy does: the same answer as the float call.

from unrolling import bilevel  # noqa: E402
from unrolling import Implicit, Unrolled, data  # noqa: E402

U_FLOAT = 1.0
AWKWARD_U = {"python int": 1, "numpy int": np.int64(1), "int array": np.array(1),
             "bool": True}
AWKWARD_X0 = {"list of ints": [0, 0, 0], "list of floats": [0.0, 0.0, 0.0],
              "int array": np.zeros(N, dtype=int), "bool array": np.zeros(N, dtype=bool)}
DERIVATIVES = {
    "iterate": lambda x0, u, **kw: iterate(UPDATE, x0, u, 4),
    "forward_mode": lambda x0, u, **kw: forward_mode(UPDATE, x0, u, 4, start=1),
    "forward_mode(v)": lambda x0, u, v=1.0, **kw: forward_mode(UPDATE, x0, u, 4, v=v),
    "reverse_mode": lambda x0, u, **kw: reverse_mode(UPDATE, x0, u, 4, stop=1),
    "reverse_mode(w)": lambda x0, u, w=(1.0, 0.0, 0.0), **kw:
        reverse_mode(UPDATE, x0, u, 4, w=jnp.asarray(w) if isinstance(w, tuple) else w),
    "implicit_jacobian": lambda x0, u, **kw: implicit_jacobian(UPDATE, x0, u),
    "one_step_jacobian": lambda x0, u, **kw: one_step_jacobian(UPDATE, x0, u),
}


def _reference(name):
    return DERIVATIVES[name](jnp.zeros(N), U_FLOAT)


@pytest.mark.parametrize("name", list(DERIVATIVES))
@pytest.mark.parametrize("kind", list(AWKWARD_U))
def test_integer_or_list_u_gives_the_float_answer(name, kind):
    got = DERIVATIVES[name](jnp.zeros(N), AWKWARD_U[kind])
    assert got.dtype == jnp.float64
    np.testing.assert_array_equal(np.ravel(got), np.ravel(_reference(name)))


@pytest.mark.parametrize("name", list(DERIVATIVES))
@pytest.mark.parametrize("kind", list(AWKWARD_X0))
def test_list_or_integer_x0_gives_the_float_answer(name, kind):
    got = DERIVATIVES[name](AWKWARD_X0[kind], U_FLOAT)
    assert got.dtype == jnp.float64
    np.testing.assert_array_equal(got, _reference(name))


@pytest.mark.parametrize("v", [1, np.int64(1), np.array(1), True])
def test_integer_or_list_tangent_v(v):
    np.testing.assert_array_equal(DERIVATIVES["forward_mode(v)"](jnp.zeros(N), U_FLOAT, v=v),
                                  _reference("forward_mode(v)"))
    np.testing.assert_array_equal(implicit_jacobian(UPDATE, jnp.zeros(N), U_FLOAT, v=v),
                                  implicit_jacobian(UPDATE, jnp.zeros(N), U_FLOAT, v=1.0))


@pytest.mark.parametrize("w", [[1, 0, 0], np.array([1, 0, 0]), [True, False, False]])
def test_integer_or_list_cotangent_w(w):
    for call in (lambda w_: reverse_mode(UPDATE, X0, U_FLOAT, 4, w=w_),
                 lambda w_: implicit_jacobian(UPDATE, X0, U_FLOAT, w=w_),
                 lambda w_: one_step_jacobian(UPDATE, X0, U_FLOAT, w=w_)):
        np.testing.assert_array_equal(call(w), call(jnp.array([1.0, 0.0, 0.0])))


def test_pytree_of_lists_for_heavy_ball_and_a_callable_x0():
    hb = heavy_ball(RIDGE.f, 0.01, 0.5)
    np.testing.assert_array_equal(iterate(hb, ([0, 0, 0], [0, 0, 0]), 1, 3),
                                  iterate(hb, (jnp.zeros(N), jnp.zeros(N)), 1.0, 3))
    np.testing.assert_array_equal(forward_mode(UPDATE, lambda u: [0, 0, 0], 1, 3),
                                  forward_mode(UPDATE, lambda u: jnp.zeros(N), 1.0, 3))


@pytest.mark.parametrize("factory, state, float_state", [
    (lambda f: gradient_descent(f, 1), [1, 2, 3], jnp.array([1.0, 2.0, 3.0])),
    (lambda f: newton(f), np.array([1, 2, 3]), jnp.array([1.0, 2.0, 3.0])),
    (lambda f: heavy_ball(f, 1, 0), ([1, 2, 3], [0, 0, 0]),
     (jnp.array([1.0, 2.0, 3.0]), jnp.zeros(N)))], ids=["gd", "newton", "heavy ball"])
def test_update_maps_called_directly_with_integers(factory, state, float_state):
    """An update map called by hand with ints or lists answers as with floats."""
    update = factory(RIDGE.f)
    got, expected = update(state, 1), update(float_state, 1.0)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        assert g.dtype == jnp.float64
        np.testing.assert_array_equal(g, e)


def test_chebyshev_init_takes_a_list():
    update, init = chebyshev(RIDGE.f, RIDGE.smoothness(U), RIDGE.strong_convexity(U))
    np.testing.assert_array_equal(iterate(update, init([0, 0, 0]), 1, 3),
                                  iterate(update, init(jnp.zeros(N)), 1.0, 3))


def test_float32_input_keeps_its_dtype():
    """Only integers and booleans are converted: float32 is not silently promoted."""
    ridge32 = problems.ridge(A_DATA.astype(np.float32), B_DATA.astype(np.float32))
    got = iterate(gradient_descent(ridge32.f, 0.01), np.zeros(N, np.float32), np.float32(1.0), 2)
    assert got.dtype == jnp.float32


@pytest.mark.parametrize("bad, name", [("abc", "x0"), ([0, "a", 0], "x0"), (object(), "x0")])
def test_non_numeric_x0(bad, name):
    with pytest.raises(TypeError, match=rf"{name} must be an array-like of numbers"):
        iterate(UPDATE, bad, U, 2)


def test_non_numeric_u():
    for call in (lambda: forward_mode(UPDATE, X0, "0.5", 2),
                 lambda: implicit_jacobian(UPDATE, X0, "0.5")):
        with pytest.raises(TypeError, match="u must be an array-like of numbers"):
            call()


def test_bilevel_takes_integers_and_lists():
    task = bilevel.ridge_task(A_DATA, B_DATA, A_DATA, B_DATA)
    kw = dict(estimator=Unrolled(), eps=1e-8, max_inner=200)
    d_int, x_int, K_int = bilevel.hypergradient(task.update, task.outer_loss, [0, 0, 0], 1, **kw)
    d, x, K = bilevel.hypergradient(task.update, task.outer_loss, jnp.zeros(N), 1.0, **kw)
    assert K_int == K
    np.testing.assert_array_equal(d_int, d)
    hist_int = bilevel.hypergradient_descent(task.update, task.outer_loss, [0, 0, 0], 1,
                                             step_size=1, num_outer=2, timed=False, **kw)
    hist = bilevel.hypergradient_descent(task.update, task.outer_loss, jnp.zeros(N), 1.0,
                                         step_size=1.0, num_outer=2, timed=False, **kw)
    np.testing.assert_array_equal(hist_int.u, hist.u)


# --- (I - d_x A)^-1 that does not exist ----------------------------------------------------

def _drift(x, u):
    """x + u: d_x A = I, so I - d_x A = 0 everywhere (no fixed point, no contraction)."""
    return x + u


def _nearly_identity(x, u):
    """d_x A = diag(1, 1 - 1e-17, 0.5): I - d_x A is singular in float64."""
    return jnp.array([1.0, 1.0 - 1e-17, 0.5]) * x + u


@pytest.mark.parametrize("update", [_drift, _nearly_identity], ids=["singular", "numerically"])
@pytest.mark.parametrize("direction", [{}, {"v": 1.0}, {"w": jnp.ones(N)}])
def test_implicit_jacobian_of_a_non_contraction_raises(update, direction):
    with pytest.raises(ValueError, match="the map is not a contraction at x: I - d_x A"):
        implicit_jacobian(update, jnp.zeros(N), 1.0, **direction)


def test_implicit_jacobian_under_jit_marks_a_singular_matrix_with_nan():
    """Under jax.jit nothing can be raised: the answer is NaN, never inf or a wrong number."""
    J = jax.jit(lambda u: implicit_jacobian(_drift, jnp.zeros(N), u))(1.0)
    assert np.all(np.isnan(J))


def test_implicit_jacobian_of_an_expansion_is_still_defined():
    """(I - B)^-1 exists for B = 2I (not a contraction, but not singular): no error."""
    J = implicit_jacobian(lambda x, u: 2.0 * x + u, jnp.zeros(N), 1.0)
    np.testing.assert_allclose(J, -np.ones((N, 1)), rtol=1e-15)


def test_bilevel_implicit_hypergradient_of_a_non_contraction_raises():
    def outer_loss(x, u):
        return jnp.sum(x ** 2)
    kw = dict(estimator=Implicit(), eps=1e-8, max_inner=5)
    with pytest.raises(ValueError, match="Implicit\\(\\): the map is not a contraction"):
        bilevel.hypergradient(_drift, outer_loss, jnp.zeros(N), 1.0, **kw)
    with pytest.raises(ValueError, match="outer step r = 0"):
        bilevel.hypergradient_descent(_drift, outer_loss, jnp.zeros(N), 1.0, step_size=0.1,
                                      num_outer=2, **kw)


# --- paths too large for memory ------------------------------------------------------------

HUGE = 10 ** 12


@pytest.mark.parametrize("call", [
    lambda: iterate(UPDATE, X0, U, HUGE),
    lambda: forward_mode(UPDATE, X0, U, HUGE),
    lambda: forward_mode(UPDATE, X0, U, HUGE, v=1.0),
    lambda: reverse_mode(UPDATE, X0, U, HUGE),
    lambda: reverse_mode(UPDATE, X0, U, HUGE, w=jnp.ones(N))],
    ids=["iterate", "forward", "forward(v)", "reverse", "reverse(w)"])
def test_a_path_larger_than_memory_is_refused_before_xla(call):
    with pytest.raises(MemoryError, match=rf"num_steps = {HUGE}: .* would need [\d.]+ [TP]iB"):
        call()


def test_a_late_start_needs_no_path_memory():
    """Idle iterations store nothing: start = num_steps is accepted for any num_steps
    (checked without running the loop, through the shapes alone)."""
    out = jax.eval_shape(lambda u: forward_mode(UPDATE, X0, u, HUGE, start=HUGE - 2), 1.0)
    assert out.shape == (3, N, 1)


def test_bilevel_ring_buffer_larger_than_memory_is_refused():
    task = bilevel.ridge_task(A_DATA, B_DATA, A_DATA, B_DATA)
    with pytest.raises(MemoryError, match=rf"max_inner = {HUGE}: the {HUGE} stored inner"):
        bilevel.hypergradient(task.update, task.outer_loss, X0, 1.0,
                              estimator=Unrolled(), eps=1e-8, max_inner=HUGE)
