"""Chapter 4 exercise checkers: accept the right answer (derived independently here),
reject a wrong one, and print a verdict naming the exercise."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import (checks, derivatives, errors, forward_mode, methods, problems, profiling,
                       truncation)
from unrolling import data


@pytest.fixture(scope="module")
def demo():
    return truncation.demo_quadratic()


def test_ch4_reallocation(capsys):
    # K = 800, a quarter given up, omega = 2.5: 500 extra algorithm steps.
    assert checks.ch4_reallocation(800, 200, 2.5, (1300, 700))
    assert "[ch4_reallocation] correct" in capsys.readouterr().out
    assert not checks.ch4_reallocation(800, 200, 2.5, (1300, 200))
    assert not checks.ch4_reallocation(800, 200, 2.5, 1300)
    assert "not yet" in capsys.readouterr().out


def test_ch4_monotone_start_matches_the_closed_form(demo, capsys):
    # b_{k+1} <= b_k for all k iff rho^T' Gamma e0 <= (1 - rho) edot0 (worst at k = 0).
    T = int(np.ceil(np.log(demo.gamma * demo.e0 / ((1 - demo.rho) * demo.edot0))
                    / np.log(1 / demo.rho)))
    assert checks.ch4_monotone_start(demo.rho, demo.gamma, demo.e0, demo.edot0, T)
    assert not checks.ch4_monotone_start(demo.rho, demo.gamma, demo.e0, demo.edot0, T - 1)
    assert "ch4_monotone_start" in capsys.readouterr().out


def test_ch4_relaxed_optimum_by_an_independent_search(demo):
    K, omega = 200, 3.0
    T = np.linspace(0, K, 200001)                               # dense grid, step 1e-3
    h = (demo.rho ** (K - T) * demo.edot0
         + (K - T) * demo.rho ** (K + omega * T - 1) * demo.gamma * demo.e0)
    T_grid = float(T[np.argmin(h)])
    constants = (demo.rho, demo.gamma, demo.e0, demo.edot0)
    assert checks.ch4_relaxed_optimum(K, omega, *constants, T_grid)
    assert not checks.ch4_relaxed_optimum(K, omega, *constants, T_grid + 2.0)


def test_ch4_k_step_jacobian(demo):
    def last_steps(u):
        idle = jax.lax.fori_loop(0, 25, lambda _, x: demo.update(x, jax.lax.stop_gradient(u)),
                                 demo.x0)
        return jax.lax.fori_loop(0, 5, lambda _, x: demo.update(x, u), idle)
    answer = jax.jacfwd(last_steps)(demo.u)
    assert checks.ch4_k_step_jacobian(demo.update, demo.x0, demo.u, 30, 5, answer)
    full = forward_mode(demo.update, demo.x0, demo.u, 30)[-1]       # all steps: not 5
    assert not checks.ch4_k_step_jacobian(demo.update, demo.x0, demo.u, 30, 5, full)


def test_ch4_memory_slope(demo):
    w = jnp.ones(demo.c.size)
    high = profiling.reverse_memory_bytes(demo.update, demo.x0, demo.u, 100, 0, w)
    low = profiling.reverse_memory_bytes(demo.update, demo.x0, demo.u, 100, 50, w)
    slope = (high - low) / 50
    assert checks.ch4_memory_slope(demo.update, demo.x0, demo.u, 100, w, slope)
    assert not checks.ch4_memory_slope(demo.update, demo.x0, demo.u, 100, w, 8.0)


def test_ch4_convergence_order():
    quadratic = [1e-1, 1e-2, 1e-4, 1e-8, 1e-16]                 # e_{k+1} = e_k^2
    assert checks.ch4_convergence_order(quadratic, 2.0)
    assert not checks.ch4_convergence_order(quadratic, 1.0)
    linear = 0.5 ** np.arange(10.0)
    assert checks.ch4_convergence_order(linear, 1.0)
    with pytest.raises(ValueError):
        checks.ch4_convergence_order([1e-20, 1e-30], 2.0)


def test_order_of_the_one_step_estimator_for_newton():
    """The chapter's exercise: Newton's one-step errors converge with order about 2."""
    A, y = data.two_gaussians(jax.random.PRNGKey(1), 40, 2)
    problem = problems.weighted_logistic_regression(A, y)
    theta = jnp.ones(40)
    errs = errors.estimator_errors(methods.newton_line_search(problem.f), jnp.zeros(3), theta,
                                    8, problem.x_star(theta), problem.jacobian(theta))
    assert checks.ch4_convergence_order(errs.one_step, 2.0)


def test_ch4_curse_start_accepts_a_start_along_the_mean_and_rejects_the_origin(capsys):
    """The open-ended exercise: U(0, 1) entries and the constant start pass; the origin
    (the chapter's counter-case) and a start orthogonal to the mean direction do not."""
    assert checks.ch4_curse_start(jax.random.uniform)
    assert checks.ch4_curse_start(jnp.ones(40))
    assert not checks.ch4_curse_start(0.0)
    assert "[ch4_curse_start] not yet" in capsys.readouterr().out
    alternating = jnp.tile(jnp.array([1.0, -1.0]), 20)             # orthogonal to 1
    assert not checks.ch4_curse_start(alternating)


def test_ch4_checkers_reject_trivial_answers(demo):
    """Zeros, the inputs themselves and the interval's end points are not answers."""
    assert not checks.ch4_reallocation(800, 200, 2.5, (800, 200))      # the inputs
    assert not checks.ch4_reallocation(800, 200, 2.5, (0, 0))
    constants = (demo.rho, demo.gamma, demo.e0, demo.edot0)
    assert not checks.ch4_monotone_start(*constants, 0)
    assert not checks.ch4_relaxed_optimum(200, 3.0, *constants, 0.0)
    assert not checks.ch4_relaxed_optimum(200, 3.0, *constants, 200.0)
    assert not checks.ch4_k_step_jacobian(demo.update, demo.x0, demo.u, 60, 15,
                                          jnp.zeros(10))
    w = jnp.ones(demo.c.size)
    assert not checks.ch4_memory_slope(demo.update, demo.x0, demo.u, 100, w, 0.0)
    assert not checks.ch4_convergence_order([1e-1, 1e-2, 1e-4, 1e-8], 0.0)
