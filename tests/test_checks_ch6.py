"""Chapter 6 exercise checkers: each accepts an independently computed correct answer,
rejects a wrong one, and prints a one-line verdict."""
import numpy as np
import pytest

from unrolling import checks

L, MU = 10.0, 0.5


def _polyak(L, mu):
    sl, sm = np.sqrt(L), np.sqrt(mu)
    return (2 / (sl + sm)) ** 2, ((sl - sm) / (sl + sm)) ** 2


def _heavy_ball_radius(h, m, lam):
    return max(abs(np.linalg.eigvals(np.array([[1 + m - h * lam_i, -m], [1.0, 0.0]]))).max()
               for lam_i in lam)


def test_ch6_polyak_parameters(capsys):
    h, m = _polyak(L, MU)
    ends = np.array([MU, L])
    # independent: the pair gives spectral radius sqrt(m) at both ends, nearby pairs worse
    assert np.isclose(_heavy_ball_radius(h, m, ends), np.sqrt(m), rtol=1e-6)
    for dh, dm in ((0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)):
        worse = _heavy_ball_radius(h * (1 + dh), m * (1 + dm), np.linspace(MU, L, 200))
        assert worse > np.sqrt(m)
    assert checks.ch6_polyak_parameters(L, MU, (h, m))
    assert not checks.ch6_polyak_parameters(L, MU, (2 / (L + MU), m))
    assert not checks.ch6_polyak_parameters(L, MU, h)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[ch6_polyak_parameters] correct" and "not yet" in out[1]


def test_ch6_lower_bound(capsys):
    xi = (1 - np.sqrt(MU / L)) / (1 + np.sqrt(MU / L))
    t = 7
    by_cosh = 1 / np.cosh(t * np.log(1 / xi))
    assert checks.ch6_lower_bound(L, MU, t, by_cosh)
    assert not checks.ch6_lower_bound(L, MU, t, xi ** t)
    assert capsys.readouterr().out.splitlines()[0] == "[ch6_lower_bound] correct"


def _sobolev_factor(L, mu, T, lam):
    """max over lam of |P_t - λ P_t'| for t <= T, by a numpy recursion and central
    differences in λ (independent of the library)."""
    h, m = _polyak(L, mu)

    def P(lam):
        q_prev, q = np.ones_like(lam), np.ones_like(lam)            # Q_{t-1}, Q_t
        q_prev2 = np.ones_like(lam)                                   # Q_{t-2}
        x = np.ones_like(lam)
        out = [x]
        for t in range(1, T + 1):
            q_next = (1 + m - h * lam) * q - m * q_prev if t > 1 else (1 - h * lam) * q
            q_prev2, q_prev, q = q_prev, q, q_next
            x = q + m * (x - q_prev2)
            out.append(x)
        return np.array(out)
    d = 1e-6
    dP = (P(lam + d) - P(lam - d)) / (2 * d)
    return np.abs(P(lam) - lam * dP).max(-1)


def test_ch6_sobolev_peak(capsys):
    factor = _sobolev_factor(L, MU, 400, np.linspace(MU, L, 4001))
    t, height = int(np.argmax(factor)), float(factor.max())
    assert checks.ch6_sobolev_peak(L, MU, (t, height))
    assert not checks.ch6_sobolev_peak(L, MU, (t + 3, height))
    assert not checks.ch6_sobolev_peak(L, MU, (t, 2 * height))
    assert capsys.readouterr().out.splitlines()[0] == "[ch6_sobolev_peak] correct"


def test_ch6_rate_estimate(capsys):
    rng = np.random.default_rng(0)
    path = np.cumsum(rng.normal(size=(25, 3)) * 0.9 ** np.arange(25)[:, None], axis=0)
    K, w = 24, 5
    by_hand = (np.linalg.norm(path[K] - path[K - 1])
               / np.linalg.norm(path[K - w] - path[K - w - 1])) ** (1 / w)
    assert checks.ch6_rate_estimate(path, w, by_hand)
    assert not checks.ch6_rate_estimate(path, w, by_hand ** w)
    assert capsys.readouterr().out.splitlines()[0] == "[ch6_rate_estimate] correct"


def test_ch6_reversing_share(capsys):
    path = np.array([[0.0, 0.0], [1.0, 0.0], [0.4, 0.5]])
    d1, d0 = path[2] - path[1], path[1] - path[0]
    by_hand = np.sum((d1 - d0) ** 2) / (2 * (d1 @ d1 + d0 @ d0))
    assert checks.ch6_reversing_share(path, by_hand)
    assert not checks.ch6_reversing_share(path, 1 - by_hand)
    straight = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])       # s = 0 whatever
    assert not checks.ch6_reversing_share(straight, 0.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[ch6_reversing_share] correct" and "strictly between" in out[2]
