r"""Data for the chapters: random instances (each drawn from an explicit PRNG key) and
deterministic spectra.

Every function that draws takes a ``jax.random`` key as its first argument, so that
re-running a chapter gives the same numbers. The real datasets are the ones
scikit-learn bundles (breast cancer, diabetes): they work offline.
"""
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate

__all__ = ["least_squares_instance", "huber_instance", "two_gaussians", "appendix_c_draws",
           "synthetic_regression", "standardized_split", "geometric_spectrum",
           "flat_derivative_weights"]


def least_squares_instance(key, M=50, N=10):
    """A random (A, b) of Mehmood et al. App. C: A_ij ~ U(0, 1), b_i ~ N(0, 1)."""
    M, N = _validate.num_steps(M, "M"), _validate.num_steps(N, "N")
    if not 0 < N <= M:
        raise ValueError(f"need 0 < N <= M for a strongly convex problem, got M={M}, N={N}")
    return _random_data(key, M, N)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _random_data(key, M, N):
    key_A, key_b = jax.random.split(key)
    return (jax.random.uniform(key_A, (M, N)), jax.random.normal(key_b, (M,)))


@functools.partial(jax.jit, static_argnames=("M", "N"))
def huber_instance(key, M=100, N=20, noise=0.1, outlier_fraction=0.2, outlier_scale=3.0):
    r"""Regression data with gross outliers for :func:`huber_regression` (chapter 3).

    :math:`A_{ij} \sim U(0, 1)` (uncentred features, as in Mehmood et al. App. C),
    :math:`b = A\mathbf 1 + \text{noise}\cdot\varepsilon + \text{outlier\_scale}\cdot o\odot\eta`
    with :math:`\varepsilon, \eta \sim N(0, I)` and :math:`o_i \sim`
    Bernoulli(``outlier_fraction``). Returns ``(A, b)``; compiled once per (M, N).
    """
    M, N = _validate.num_steps(M, "M"), _validate.num_steps(N, "N")
    _validate.in_range(outlier_fraction, "outlier_fraction", 0.0, 1.0)
    key_A, key_e, key_o, key_eta = jax.random.split(key, 4)
    A = jax.random.uniform(key_A, (M, N))
    outliers = jax.random.uniform(key_o, (M,)) < outlier_fraction
    b = (A @ jnp.ones(N) + noise * jax.random.normal(key_e, (M,))
         + outlier_scale * outliers.astype(A.dtype) * jax.random.normal(key_eta, (M,)))
    return A, b


def two_gaussians(key, num_samples, dim, separation=1.0):
    r"""Synthetic binary classification: two Gaussian classes, an intercept column.

    Labels :math:`y_i = \pm 1` (the sign of a standard normal draw, so each with
    probability 1/2), features :math:`z_i \sim N(y_i\, s\, \mathbf 1/\sqrt{d}, I_d)`
    (s = ``separation``), design rows :math:`a_i = (1, z_i)`. Returns ``(A, y)`` with
    shapes (num_samples, dim + 1) and (num_samples,). Chapter 4 (Bolte et al.'s
    logistic experiments).
    """
    g = jax.random.normal(key, (num_samples, dim + 1))             # one draw: labels + features
    y = jnp.where(g[:, 0] >= 0, 1.0, -1.0)
    z = g[:, 1:] + (y * separation / jnp.sqrt(dim))[:, None]
    return jnp.concatenate([jnp.ones((num_samples, 1)), z], axis=1), y


def appendix_c_draws(key, num_draws, M=50, N=10, N_max=40, directions=None):
    r"""``num_draws`` App. C instances with random directions, as NumPy arrays.

    A has U(0, 1) entries and b standard normal ones (the law of
    :func:`unrolling.problems.least_squares_instance`); the tangent v = (dA, db) and the
    cotangent w are ``directions(dA, db, w)`` of standard normal draws (leading axis: the
    draw); by default (None) v and w are scaled to unit norm per draw. Everything is
    drawn at width ``max(N, min(N_max, M))`` and the first N columns are kept, so that one
    compiled sampler serves every N (the columns of an i.i.d. matrix are i.i.d.): the
    draws of different N are nested.

    Returns:
      ``(A, b, (dA, db), w)`` with shapes (D, M, N), (D, M), ((D, M, N), (D, M)), (D, N).
    """
    num_draws = _validate.num_steps(num_draws, "num_draws")
    if num_draws < 1 or not 0 < N <= M:
        raise ValueError(f"need num_draws >= 1 and 0 < N <= M, got {num_draws}, N={N}, M={M}")
    raw = _raw_draws(key, num_draws, M, max(N, min(N_max, M)))
    A, b, dA, db, w = (np.asarray(a) for a in raw)
    dA, db, w = (directions or _unit_directions)(dA[..., :N], db, w[..., :N])
    return A[..., :N], b, (np.asarray(dA), np.asarray(db)), np.asarray(w)


def _unit_directions(dA, db, w):
    """v = (dA, db) and w scaled to unit norm, draw by draw (App. C's default law)."""
    v_norm = np.sqrt(np.sum(dA**2, axis=(1, 2)) + np.sum(db**2, axis=1))
    return (dA / v_norm[:, None, None], db / v_norm[:, None],
            w / np.linalg.norm(w, axis=1, keepdims=True))


@partial(jax.jit, static_argnums=(1, 2, 3))
def _raw_draws(key, num_draws, M, N):
    """A ~ U(0, 1) of shape (D, M, N); b, dA, db, w standard normal (one call per law)."""
    key_A, key_n = jax.random.split(key)
    A = jax.random.uniform(key_A, (num_draws, M, N))
    z = jax.random.normal(key_n, (num_draws, M + M * N + M + N))
    b, dA, db, w = jnp.split(z, np.cumsum([M, M * N, M]), axis=1)
    return A, b, dA.reshape(num_draws, M, N), db, w


def synthetic_regression(key, num_train=20, num_val=30, num_features=10, noise=3.0,
                         condition=30.0):
    r"""A small regression data set with a prescribed feature scaling (chapter 5).

    Rows of A and :math:`A_{val}` are :math:`\mathcal N(0, \mathrm{diag}(s))` with
    :math:`s` log-spaced in [1, ``condition``]; :math:`b = A x_{true} + \text{noise}\cdot z`
    with :math:`x_{true}, z` standard normal (the same :math:`x_{true}` for validation).
    Noisy training targets make an interior ridge weight optimal.
    Returns (A, b, A_val, b_val).
    """
    _validate.positive(noise, "noise")
    _validate.positive(condition, "condition")
    sizes = [_validate.num_steps(v, name) for v, name in ((num_train, "num_train"),
             (num_val, "num_val"), (num_features, "num_features"))]
    return _synthetic(key, *sizes, noise, condition)


def _synthetic(key, num_train, num_val, num_features, noise, condition):
    # one normal draw, cut into A, A_val, x_true, z, z_val (one random-bits kernel to compile)
    sizes = (num_train * num_features, num_val * num_features, num_features, num_train, num_val)
    parts = jnp.split(jax.random.normal(key, (sum(sizes),)), np.cumsum(sizes)[:-1])
    scale = jnp.sqrt(jnp.logspace(0.0, np.log10(float(condition)), num_features))
    A = parts[0].reshape(num_train, num_features) * scale[None]
    A_val = parts[1].reshape(num_val, num_features) * scale[None]
    return A, A @ parts[2] + noise * parts[3], A_val, A_val @ parts[2] + noise * parts[4]


def standardized_split(key, X, y, val_fraction=0.5):
    """Shuffle with ``key``, split into train/validation, standardize with training statistics.

    Columns of X and y get zero mean and unit variance on the training rows (the same
    shift and scale are applied to the validation rows). Returns (A, b, A_val, b_val).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != X.shape[:1]:
        raise ValueError(f"X must be (M, N) and y (M,), got {X.shape} and {y.shape}")
    _validate.in_range(val_fraction, "val_fraction", 0.0, 1.0, True, True)
    perm = np.asarray(jax.random.permutation(key, X.shape[0]))
    n_train = int(round(X.shape[0] * (1 - val_fraction)))
    if not 2 <= n_train <= X.shape[0] - 1:
        raise ValueError(f"val_fraction={val_fraction} leaves {n_train} training rows")
    tr, va = perm[:n_train], perm[n_train:]
    mx, sx = X[tr].mean(0), X[tr].std(0)
    my, sy = y[tr].mean(), y[tr].std()
    sx = np.where(sx > 0, sx, 1.0)
    return ((X[tr] - mx) / sx, (y[tr] - my) / sy, (X[va] - mx) / sx, (y[va] - my) / sy)


def geometric_spectrum(L, mu, dim):
    r"""``dim`` eigenvalues spaced geometrically from mu to L (ascending), traceable."""
    return mu * (L / mu) ** jnp.linspace(0.0, 1.0, dim)


def flat_derivative_weights(eigenvalues):
    r"""Solution weights :math:`s_i = \lambda_i / \lambda_{\min}` for
    :func:`unrolling.problems.spectral_quadratic`.

    At u = 0 they make :math:`Dx^*(0) = -H_0^{-1} x^* = -Q\,\mathbf 1/\lambda_{\min}` *flat*
    in the eigenbasis: every eigen-direction carries the same share of the derivative,
    so the large-eigenvalue directions, where gradient descent with a long step has its
    burn-in, are not hidden behind the small ones (chapter 3).
    """
    lam = jnp.asarray(eigenvalues)
    return lam / lam.min()
