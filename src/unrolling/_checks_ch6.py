"""Chapter 6's exercise checkers (private; listed in :mod:`unrolling.checks`)."""
import numpy as np

from . import _adaptive, bounds, polynomials
from ._verdicts import _close, _near, _report


def ch6_polyak_parameters(L, mu, answer):
    r"""Chapter 6: Polyak's step and momentum ``(h, m)`` for the spectrum [mu, L]:
    :math:`h = (2/(\sqrt L + \sqrt\mu))^2`, :math:`m = ((\sqrt L - \sqrt\mu)/(\sqrt L + \sqrt\mu))^2`.

    Reference: these formulas (``tests/test_checks_ch6.py`` checks independently that
    with them the heavy-ball iteration matrix has spectral radius :math:`\sqrt m` at both
    ends of the spectrum, and a larger one for nearby pairs).
    """
    sl, sm = np.sqrt(float(L)), np.sqrt(float(mu))
    reference = np.array([(2 / (sl + sm)) ** 2, ((sl - sm) / (sl + sm)) ** 2])
    return _report("ch6_polyak_parameters", _close(answer, reference, rtol=1e-8),
                   "Polyak's heavy ball makes both ends of [mu, L] contract at the same rate "
                   "sqrt(m); solve for (h, m) from the roots of z² - (1 + m - hλ) z + m = 0")


def ch6_lower_bound(L, mu, t, answer):
    r"""Chapter 6: Scieur et al.'s Prop. 1 factor :math:`2/(\xi^t + \xi^{-t})`,
    :math:`\xi = (1-\sqrt\kappa)/(1+\sqrt\kappa)`, κ = mu/L (reference:
    :func:`unrolling.bounds.scieur_lower` with unit initial error)."""
    reference = float(bounds.scieur_lower(int(t), float(L), float(mu), 1.0))
    return _report("ch6_lower_bound", _near(answer, reference, 1e-9, 0.0),
                   "Scieur's κ is mu/L (small), ξ = (1 - sqrt κ)/(1 + sqrt κ) < 1")


def _sobolev_peak(L, mu, num_steps=400, num_grid=4001):
    lam = np.linspace(float(mu), float(L), num_grid)
    P, dP = polynomials.sobolev_residual(float(L), float(mu), num_steps, lam)
    a, _ = polynomials.worst_case_factors(P, dP, lam)
    a = np.asarray(a)
    return int(np.argmax(a)), float(a.max())


def ch6_sobolev_peak(L, mu, answer):
    r"""Chapter 6: ``(t, height)`` of the peak of the asymptotic Sobolev method's worst-case
    Jacobian factor :math:`\max_{\lambda\in[\mu, L]}|P_t(\lambda) - \lambda P_t'(\lambda)|`.

    Reference: :func:`unrolling.polynomials.sobolev_residual` and
    :func:`unrolling.polynomials.worst_case_factors` on a grid of 4001 points; the height
    is accepted within 1 % (the grid), t exactly."""
    t, height = _sobolev_peak(L, mu)
    ok = np.shape(answer) == (2,) and int(answer[0]) == t and _near(answer[1], height, 1e-2, 0.0)
    return _report("ch6_sobolev_peak", ok, "take the worst case over a fine grid of [mu, L] "
                   "at each t, then the largest over t; answer (t, height)")


def ch6_rate_estimate(path, window, answer):
    r"""Chapter 6: the rule's estimate :math:`\hat\rho_K = (\|\Delta_K\|/\|\Delta_{K-w}\|)^{1/w}`
    at the last step K of ``path`` (shape (K+1, n)), w = min(window, K - 1).

    Reference: the estimate :class:`unrolling.Adaptive` computes (``unrolling._adaptive``)."""
    path = np.asarray(path, dtype=float)
    obs = _adaptive.observables(path)
    rho, _ = _adaptive._estimates(*obs, window=int(window))
    return _report("ch6_rate_estimate", _near(answer, float(rho[-1]), 1e-9, 1e-12),
                   "Δ_k = x_k - x_(k-1); the ratio of ‖Δ_K‖ to ‖Δ_(K-w)‖ is about ρ^w")


def ch6_reversing_share(path, answer):
    r"""Chapter 6: the reversing share :math:`s_K = \|\Delta_K - \Delta_{K-1}\|^2 /
    (2\|\Delta_K\|^2 + 2\|\Delta_{K-1}\|^2)` at the last step of ``path`` (K >= 2).

    Reference: ``unrolling._adaptive.observables``; refused where the motion is so plain
    that s is 0 or 1 whatever the formula's details."""
    path = np.asarray(path, dtype=float)
    share = float(_adaptive.observables(path)[1][-1])
    if min(share, 1 - share) < 1e-3:
        return _report("ch6_reversing_share", False, "take a path whose last two steps are "
                       "neither parallel nor opposite (s strictly between 0 and 1)")
    return _report("ch6_reversing_share", _near(answer, share, 1e-9, 0.0),
                   "s is 0 when two successive steps are equal, 1 when they are opposite")
