"""Strict numerics for every test: float64, no implicit rank promotion, warnings are errors."""
import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    """An explicit PRNG key: tests never draw from global random state."""
    return jax.random.PRNGKey(0)
