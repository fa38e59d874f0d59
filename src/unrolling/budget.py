r"""Reallocating a fixed compute budget between iterating and differentiating.

Mehmood et al. Sec. 4.3 (chapter 4). Without truncation, K algorithm steps and K
derivative steps cost :math:`K + \omega K` function evaluations, a derivative step
costing ω times an algorithm step. Dropping T derivative steps frees
:math:`\omega T`, spent on extra algorithm steps:

.. math:: K' = K + \omega T, \qquad T' = K' - (K - T) = T + \omega T,

so that the cost :math:`K' + \omega(K' - T') = K + \omega K` is unchanged.
"""
import math

from . import _validate

__all__ = ["reallocate"]


def reallocate(K, T, omega):
    """(K', T'): total algorithm steps and late-start index under the same budget.

    Args:
      K: derivative and algorithm steps without truncation (int >= 0).
      T: derivative steps given up (int in [0, K]).
      omega: cost of one derivative step in algorithm steps (finite, >= 0).

    Returns:
      ``(K_prime, T_prime)`` with ``K_prime - T_prime == K - T`` differentiated steps.
      When ``omega * T`` is not an integer it is rounded down, so the budget is
      never exceeded. Example 10 of Mehmood et al.: ``reallocate(500, 100, 3) == (800, 400)``.
    """
    K = _validate.num_steps(K, "K")
    T = _validate.index(T, K, "T", "K")
    _validate.in_range(omega, "omega", 0.0, math.inf, high_open=True)
    extra = math.floor(float(omega) * T + 1e-9)
    return K + extra, T + extra
