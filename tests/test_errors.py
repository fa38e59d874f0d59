"""``errors.iterate_errors`` and ``errors.derivative_errors`` against NumPy."""
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import errors

RNG = np.random.default_rng(0)    # test data only; fixed seed
XS, X_STAR = RNG.normal(size=(7, 4)), RNG.normal(size=4)
JACS, JAC_STAR = RNG.normal(size=(7, 4, 3)), RNG.normal(size=(4, 3))


def test_iterate_errors_are_euclidean_distances():
    expected = np.array([np.linalg.norm(x - X_STAR) for x in XS])
    np.testing.assert_allclose(errors.iterate_errors(XS, X_STAR), expected, rtol=1e-14)
    # x* may be given with any shape of the same size (it is flattened).
    np.testing.assert_allclose(errors.iterate_errors(XS, X_STAR.reshape(2, 2)), expected,
                               rtol=1e-14)


@pytest.mark.parametrize("norm, order", [("fro", "fro"), ("op", 2)])
def test_jacobian_errors(norm, order):
    expected = np.array([np.linalg.norm(J - JAC_STAR, ord=order) for J in JACS])
    got = errors.derivative_errors(JACS, JAC_STAR, norm=norm)
    assert got.shape == (7,) and got.dtype == jnp.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_default_norm_is_frobenius():
    np.testing.assert_allclose(errors.derivative_errors(JACS, JAC_STAR),
                               errors.derivative_errors(JACS, JAC_STAR, norm="fro"))


@pytest.mark.parametrize("norm", ["fro", "op"])
def test_vector_errors_and_single_column_agree(norm):
    """JVPs / VJPs: Euclidean norm whatever the norm; for p = 1 the two matrix norms agree."""
    expected = np.linalg.norm(XS - X_STAR, axis=1)
    np.testing.assert_allclose(errors.derivative_errors(XS, X_STAR, norm=norm), expected,
                               rtol=1e-14)
    np.testing.assert_allclose(errors.derivative_errors(XS[..., None], X_STAR[:, None], norm=norm),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("derivs, reference", [(JACS, JAC_STAR), (XS, X_STAR)])
def test_bad_norm_name_is_rejected(derivs, reference):
    with pytest.raises(ValueError, match="norm must be"):
        errors.derivative_errors(derivs, reference, norm="nuclear")
