"""Chapter 3 exercise checkers: each accepts the answer the chapter derives and rejects
a wrong one, printing a one-line verdict (the reference comes from the library)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import checks, curse, problems
from unrolling import data


def test_ch3_curse_peak(capsys):
    rho = 0.98
    assert checks.ch3_curse_peak(rho, round(1 / np.log(1 / rho)))
    assert checks.ch3_curse_peak(rho, 1 / np.log(1 / rho))          # the real maximizer passes
    assert not checks.ch3_curse_peak(rho, 1 / (1 - rho) * 2)
    assert "[ch3_curse_peak] correct" in capsys.readouterr().out


def test_ch3_monotone_step(capsys):
    lam = data.geometric_spectrum(1.0, 0.01, 8)
    problem = problems.spectral_quadratic(jax.random.PRNGKey(0), lam,
                                          data.flat_derivative_weights(lam))
    h, _ = curse._largest_monotone_step(problem, 0.0, jnp.zeros(8), 40)
    assert checks.ch3_monotone_step(problem, 0.0, jnp.zeros(8), 40, h * (1 + 1e-3))
    assert not checks.ch3_monotone_step(problem, 0.0, jnp.zeros(8), 40, 2**0.5 * 0.9)
    assert "not yet" in capsys.readouterr().out
    # the worst-case bound, the optimal step, a safe short step and 2/L are all wrong
    for wrong in (2**0.5, 2 / 1.01, 1.0, 2.0, 0.0):
        assert not checks.ch3_monotone_step(problem, 0.0, jnp.zeros(8), 40, wrong)


@pytest.fixture(scope="module")
def ridge_problem():
    A = np.cos(np.arange(60.0)).reshape(15, 4) + np.eye(15, 4)
    problem = problems.ridge(A, np.sin(np.arange(15.0)))
    u = 0.1
    step = 2 / float(problem.smoothness(u) + problem.strong_convexity(u))
    return problem, u, step


def test_ch3_ridge_gamma(ridge_problem, capsys):
    problem, u, step = ridge_problem
    assert checks.ch3_ridge_gamma(problem, u, (0.0, step, step))
    assert "[ch3_ridge_gamma] correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [
    lambda step, u, rho: (0.0, 0.0, 0.0),                # the placeholder
    lambda step, u, rho: (step, step, step),             # M_x confused with M_u
    lambda step, u, rho: (0.0, step, 2 * step),          # Gamma = M_x + M_u doubled
    lambda step, u, rho: (0.0, u, u),                    # an input, not the step
    lambda step, u, rho: (0.0, step, step / (1 - rho)),  # kappa_u / (1 - rho) kept
    lambda step, u, rho: (0.0, 1.0, 1.0),                # forgot the step
])
def test_ch3_ridge_gamma_rejects_trivial_answers(ridge_problem, wrong):
    problem, u, step = ridge_problem
    L, mu = float(problem.smoothness(u)), float(problem.strong_convexity(u))
    assert not checks.ch3_ridge_gamma(problem, u, wrong(step, u, (L - mu) / (L + mu)))
    assert not checks.ch3_ridge_gamma(problem, u, step)          # a scalar is not enough


def test_ch3_chebyshev_peak():
    kappa = 1e-3
    assert checks.ch3_chebyshev_peak(1.0, kappa, 1 / np.arctanh(kappa**0.5))
    assert checks.ch3_chebyshev_peak(1.0, kappa, kappa**-0.5)
    assert not checks.ch3_chebyshev_peak(1.0, kappa, 2 * kappa**-0.5)     # the paper's estimate
    assert not checks.ch3_chebyshev_peak(1.0, kappa, 1 / kappa)           # gradient descent's
    assert not checks.ch3_chebyshev_peak(1.0, kappa, 0)


def test_ch3_top_component_peak():
    L, mu = 1.0, 0.01
    kappa, rho = L / mu, (L - mu) / (L + mu)
    t_star = 1 + 1 / np.log(1 / rho) - (1 + mu / L) / 2
    t = np.arange(1, 200)
    g = rho ** (t - 1) * (1 + 2 * (t - 1) * kappa / (kappa + 1))
    assert checks.ch3_top_component_peak(L, mu, (round(t_star), g[round(t_star) - 1]))
    assert checks.ch3_top_component_peak(L, mu, (t_star, kappa / np.e))   # large-κ value
    assert not checks.ch3_top_component_peak(L, mu, (L / mu, kappa / np.e))  # 1/κ: twice too late
    bound = rho ** (t - 1) * (2 * t - 1)              # Scieur et al.'s upper bound, not the value
    assert not checks.ch3_top_component_peak(L, mu, (t[bound.argmax()], bound.max()))
    assert not checks.ch3_top_component_peak(L, mu, round(t_star))   # the value is missing
    assert not checks.ch3_top_component_peak(L, mu, (0, 0))


def test_checkers_reject_non_scalar_answers():
    assert not checks.ch3_curse_peak(0.9, [9.0, 10.0])
    assert not checks.ch3_chebyshev_peak(1.0, 1e-2, np.array([10.0]))
    assert not checks.ch3_curse_peak(0.9, 0.9)                           # an input


def test_ch3_curse_peak_rejects_the_papers_kappa():
    rho = 0.98
    kappa = (1 + rho) / (1 - rho)
    assert not checks.ch3_curse_peak(rho, kappa)
    assert not checks.ch3_curse_peak(rho, 0)
