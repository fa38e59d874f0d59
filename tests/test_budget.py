"""``budget.reallocate``: Mehmood et al. Sec. 4.3 and Example 10."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unrolling.budget import reallocate


def test_example_10():
    """K = 500, 20% fewer derivative steps (T = 100), ω = 3: K' = 800 (and T' = 400)."""
    assert reallocate(500, 100, 3) == (800, 400)


def test_no_truncation_changes_nothing():
    assert reallocate(37, 0, 2.5) == (37, 0)
    assert reallocate(37, 10, 0) == (37, 10)


@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(K=st.integers(0, 10_000), frac=st.floats(0.0, 1.0), omega=st.floats(0.0, 10.0))
def test_reallocation_keeps_the_cost_and_the_differentiated_steps(K, frac, omega):
    T = int(frac * K)
    K_prime, T_prime = reallocate(K, T, omega)
    assert isinstance(K_prime, int) and isinstance(T_prime, int)
    assert K_prime - T_prime == K - T                      # same number of derivative steps
    assert 0 <= T_prime <= K_prime
    budget = K + omega * K
    cost = K_prime + omega * (K_prime - T_prime)
    assert cost <= budget + 1e-9          # never over budget (ωT within 1e-9 of an integer
    #                                       counts as that integer: float roundoff)
    assert budget - cost < 1.0                             # rounding loses less than one step
    if float(omega * T).is_integer():
        assert math.isclose(cost, budget, rel_tol=1e-12)   # ωT integer: exactly the budget


@settings(max_examples=25, deadline=None, database=None, derandomize=True)
@given(K=st.integers(0, 1000), T=st.integers(0, 1000), omega=st.integers(0, 6))
def test_integer_omega_spends_the_budget_exactly(K, T, omega):
    T = min(T, K)
    K_prime, T_prime = reallocate(K, T, omega)
    assert (K_prime, T_prime) == (K + omega * T, T + omega * T)
    assert K_prime + omega * (K_prime - T_prime) == K + omega * K


def test_rounding_is_down():
    """ω T = 2.5 steps freed: only 2 extra iterations fit in the budget."""
    assert reallocate(10, 1, 2.5) == (12, 3)


@pytest.mark.parametrize("omega", [0.1 * 3, 1 / 3])
def test_float_roundoff_does_not_lose_a_step(omega):
    """ω T that is an integer up to float roundoff (0.3 * 10 = 3.0000000000000004,
    (1/3) * 30 = 10.000000000000002 or 9.999999999999998) counts as that integer."""
    T = 10 if omega > 0.2 else 30
    K_prime, T_prime = reallocate(100, T, omega)
    assert K_prime - 100 == round(omega * T)
