"""unrolling.data: every random instance is a function of its explicit key."""
import jax
import numpy as np
import pytest

from unrolling import data

KEY, OTHER = jax.random.PRNGKey(0), jax.random.PRNGKey(1)
DRAWS = {
    "least_squares_instance": lambda key: data.least_squares_instance(key, 8, 3),
    "huber_instance": lambda key: data.huber_instance(key, 12, 3),
    "two_gaussians": lambda key: data.two_gaussians(key, 10, 2),
    "appendix_c_draws": lambda key: data.appendix_c_draws(key, 3, M=6, N=2, N_max=4),
    "synthetic_regression": lambda key: data.synthetic_regression(key, 5, 4, 3),
}


@pytest.mark.parametrize("name", list(DRAWS))
def test_same_key_same_draw_other_key_other_draw(name):
    first, again, other = (jax.tree.leaves(DRAWS[name](k)) for k in (KEY, KEY, OTHER))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other)
                   if np.asarray(a).dtype.kind == "f")


def test_geometric_spectrum_and_flat_weights():
    lam = np.asarray(data.geometric_spectrum(10.0, 0.1, 5))
    np.testing.assert_allclose(lam, [0.1, 0.1 * 10 ** 0.5, 1.0, 10 ** 0.5, 10.0], rtol=1e-14)
    np.testing.assert_allclose(data.flat_derivative_weights(lam), lam / 0.1, rtol=1e-14)



# ------------------------------------------------------------------ tasks and data
def test_standardized_split_is_deterministic_and_standardized():
    X = np.random.default_rng(0).normal(size=(40, 3)) * [1.0, 5.0, 0.1] + [2.0, -1.0, 0.0]
    y = X @ np.array([1.0, 2.0, 3.0])
    A, b, A_val, b_val = data.standardized_split(jax.random.PRNGKey(0), X, y, val_fraction=0.25)
    again = data.standardized_split(jax.random.PRNGKey(0), X, y, val_fraction=0.25)
    other = data.standardized_split(jax.random.PRNGKey(1), X, y, val_fraction=0.25)
    assert A.shape == (30, 3) and A_val.shape == (10, 3) and b_val.shape == (10,)
    assert all(np.array_equal(p, q) for p, q in zip((A, b, A_val, b_val), again))
    assert not np.array_equal(A, other[0])
    assert np.allclose(A.mean(0), 0.0, atol=1e-12) and np.allclose(A.std(0), 1.0)
    assert np.isclose(b.mean(), 0.0, atol=1e-12) and np.isclose(b.std(), 1.0)
    with pytest.raises(ValueError, match="val_fraction"):
        data.standardized_split(jax.random.PRNGKey(0), X, y, val_fraction=1.0)
