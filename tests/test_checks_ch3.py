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
    h, _ = curse.largest_monotone_step(problem, 0.0, jnp.zeros(8), 40)
    assert checks.ch3_monotone_step(problem, 0.0, jnp.zeros(8), 40, h * (1 + 1e-3))
    assert not checks.ch3_monotone_step(problem, 0.0, jnp.zeros(8), 40, 2**0.5 * 0.9)
    assert "not yet" in capsys.readouterr().out


@pytest.mark.parametrize("step", [0.01, 0.05])
def test_ch3_ridge_gamma(step):
    assert checks.ch3_ridge_gamma(step, step)
    assert not checks.ch3_ridge_gamma(step, 2 * step)
    assert not checks.ch3_ridge_gamma(step, 0.0)


def test_ch3_chebyshev_peak():
    kappa = 1e-3
    assert checks.ch3_chebyshev_peak(1.0, kappa, 1 / np.arctanh(kappa**0.5))
    assert checks.ch3_chebyshev_peak(1.0, kappa, kappa**-0.5)
    assert not checks.ch3_chebyshev_peak(1.0, kappa, 2 * kappa**-0.5)     # the paper's estimate


def test_ch3_top_component_peak():
    L, mu = 1.0, 0.01
    rho = (L - mu) / (L + mu)
    assert checks.ch3_top_component_peak(L, mu, 1 + 1 / np.log(1 / rho) - (1 + mu / L) / 2)
    assert not checks.ch3_top_component_peak(L, mu, L / mu)                # 1/κ is twice too late


def test_checkers_reject_non_scalar_answers():
    assert not checks.ch3_curse_peak(0.9, [9.0, 10.0])
    assert not checks.ch3_chebyshev_peak(1.0, 1e-2, np.array([10.0]))
