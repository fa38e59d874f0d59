"""Tests of unrolling.profiling: the measured estimators compute the right derivatives,
timings are positive and finite, and compiled memory behaves as Bolte et al.'s Table 2
predicts (reverse mode grows with K, the other estimators do not)."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import unrolling as U
from unrolling import problems, profiling
from unrolling import data


@pytest.fixture
def setup(key):
    """GD on least squares in its data u = (A, b), with random directions v, w."""
    key_u, key_v, key_w = jax.random.split(key, 3)
    u = data.least_squares_instance(key_u, 8, 3)
    update = U.gradient_descent(problems.least_squares().f, 1.0 / problems.least_squares().smoothness(u))
    v = (jax.random.normal(key_v, (8, 3)), jax.random.normal(key_v, (8,)))
    w = jax.random.normal(key_w, (3,))
    return update, jnp.zeros(3), u, v, w


def test_estimators_compute_the_library_derivatives(setup):
    update, x0, u, v, w = setup
    K = 15
    est = profiling.estimators(update, x0, u, K, v=v, w=w)
    assert tuple(est) == profiling._ESTIMATORS
    xs = U.iterate(update, x0, u, K)
    expected = {
        "solve": xs[-1],
        "forward": U.forward_mode(update, x0, u, K, v=v)[-1],
        "reverse": U.reverse_mode(update, x0, u, K, w=w)[-1],
        "implicit": U.implicit_jacobian(update, xs[-1], u, w=w),
        "one-step": U.one_step_jacobian(update, xs[-2], u, w=w),
    }
    for name, fn in est.items():
        np.testing.assert_allclose(ravel_pytree(jax.jit(fn)(u))[0], expected[name],
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def test_forward_and_reverse_estimators_agree_on_w_J_v(setup):
    """w^T (J v) from forward mode equals (w^T J) v from reverse mode."""
    update, x0, u, v, w = setup
    est = profiling.estimators(update, x0, u, 30, v=v, w=w)
    wJv_forward = jnp.dot(w, est["forward"](u))
    wJv_reverse = jnp.dot(ravel_pytree(est["reverse"](u))[0], ravel_pytree(v)[0])
    np.testing.assert_allclose(wJv_forward, wJv_reverse, rtol=1e-10)


def test_estimators_validate_arguments(setup):
    update, x0, u, v, w = setup
    with pytest.raises(ValueError, match="num_steps"):
        profiling.estimators(update, x0, u, 0)
    with pytest.raises(ValueError, match="w must have"):
        profiling.estimators(update, x0, u, 5, w=jnp.ones(4))
    with pytest.raises(ValueError, match="v must have"):
        profiling.estimators(update, x0, u, 5, v=jnp.ones(3))
    with pytest.raises(ValueError, match="repeats"):
        profiling._median_time(jnp.sin, 1.0, repeats=0)


def test_profile_returns_positive_finite_times_and_bytes(setup):
    update, x0, u, v, w = setup
    steps = (2, 6)
    prof = profiling.profile_estimators(update, x0, u, steps, v=v, w=w, repeats=2)
    np.testing.assert_array_equal(prof.steps, steps)
    assert tuple(prof.seconds) == tuple(prof.bytes) == profiling._ESTIMATORS
    for name in profiling._ESTIMATORS:
        assert prof.seconds[name].shape == prof.bytes[name].shape == (len(steps),)
        assert all(math.isfinite(t) and t > 0 for t in prof.seconds[name]), name
        assert all(b > 0 for b in prof.bytes[name]), name


def test_median_time_is_positive_and_finite():
    t = profiling._median_time(jax.jit(jnp.sin), jnp.ones(3), repeats=3)
    assert math.isfinite(t) and t > 0


def test_peak_memory_of_compiled_equals_peak_memory_of_function(setup):
    update, x0, u, v, w = setup
    fn = profiling.estimators(update, x0, u, 20, v=v, w=w)["reverse"]
    compiled = jax.jit(fn).lower(u).compile()
    assert profiling._peak_memory(compiled) == profiling._peak_memory(fn, u) > 0


def test_reverse_memory_grows_with_K_and_the_others_do_not(setup):
    """Compiled memory is deterministic: reverse mode stores at least one iterate
    (n numbers) per step; solve, forward, implicit and one-step keep O(1) in K."""
    update, x0, u, v, w = setup
    K1, K2, n = 50, 400, 3
    mem = {K: {name: profiling._peak_memory(fn, u)
               for name, fn in profiling.estimators(update, x0, u, K, v=v, w=w).items()}
           for K in (K1, K2)}
    itemsize = jnp.zeros((), dtype=x0.dtype).dtype.itemsize
    assert mem[K2]["reverse"] - mem[K1]["reverse"] >= (K2 - K1) * n * itemsize
    for name in ("solve", "forward", "implicit", "one-step"):
        assert mem[K2][name] == mem[K1][name], name


def test_compile_all_keeps_the_order_of_the_jobs():
    """Programs compiled in threads come back in job order and compute their own function."""
    x = jnp.linspace(0.1, 1.0, 5)
    fns = [jnp.sin, jnp.cos, jnp.exp, lambda y: y ** 3, jnp.log]
    programs = profiling._compile_all([(fn, x) for fn in fns], workers=2)
    for fn, program in zip(fns, programs):
        np.testing.assert_allclose(program(x), fn(x), rtol=1e-14)


def test_compile_all_rejects_no_workers():
    with pytest.raises(ValueError, match="workers"):
        profiling._compile_all([(jnp.sin, jnp.ones(2))], workers=0)


# --- estimator_costs (the practitioner's guide) ---------------------------------------

COSTED = (U.Unrolled(), U.Truncated(4), U.OneStep(), U.Implicit(), U.FixedPointAdjoint(5),
          U.ConjugateGradientAdjoint(3), U.Adaptive())


def test_estimator_costs_return_each_estimators_own_vjp(setup):
    update, x0, u, _, w = setup
    K = 30
    costs = profiling.estimator_costs(COSTED, update, x0, u, K, w, repeats=1)
    assert list(costs) == [str(est) for est in COSTED]
    for est in COSTED:
        seconds, nbytes, value = costs[str(est)]
        expected = est.vjp(update, x0, u, K, w)
        np.testing.assert_allclose(ravel_pytree(value)[0], ravel_pytree(expected)[0],
                                   rtol=1e-10, atol=1e-12, err_msg=str(est))
        assert math.isfinite(seconds) and seconds > 0
        assert isinstance(nbytes, int) and nbytes > 0


def test_estimator_costs_memory_grows_with_K_for_unrolling_only(setup):
    update, x0, u, _, w = setup
    small, large = (profiling.estimator_costs([U.Unrolled(), U.FixedPointAdjoint(5)],
                                              update, x0, u, K, w, repeats=1)
                    for K in (20, 200))
    grown = {name: large[name].bytes - small[name].bytes for name in small}
    assert grown["Unrolled()"] >= 180 * 3 * 8 // 2     # about one iterate per step
    assert grown["FixedPointAdjoint(steps=5)"] == 0


@pytest.mark.parametrize("estimators, num_steps, error, match", [
    ([], 5, ValueError, "at least one"),
    (["unrolled"], 5, TypeError, "estimator values"),
    ([U.Unrolled()], 0, ValueError, "num_steps"),
    ([U.Unrolled()], 2.5, TypeError, "num_steps"),
])
def test_estimator_costs_refuse_bad_arguments(setup, estimators, num_steps, error, match):
    update, x0, u, _, w = setup
    with pytest.raises(error, match=match):
        profiling.estimator_costs(estimators, update, x0, u, num_steps, w)
