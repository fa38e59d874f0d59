"""The shared zoo of test problems and their independent references (tests only).

One place for the instances several test modules use, each drawn from an explicit key,
and for closed forms written independently of the library (so that a test compares the
library against something it did not compute itself).
"""
import jax
import jax.numpy as jnp
import numpy as np

from unrolling import data

KEY = jax.random.PRNGKey(0)


def least_squares_data(M=6, N=3, key=KEY):
    """(A, b) with U(0, 1) / N(0, 1) entries (Mehmood et al. App. C's law), as NumPy."""
    return tuple(np.asarray(a) for a in data.least_squares_instance(key, M, N))


def least_squares_jvp(u, v):
    r"""Closed-form :math:`Dx^*(u)[v]` of least squares in its data u = (A, b), v = (dA, db).

    From the normal equations :math:`Hx^* = A^\top b`, :math:`H = A^\top A`, with
    :math:`r = b - Ax^*`: :math:`dx^* = H^{-1}(dA^\top r + A^\top db - A^\top dA\,x^*)`.
    """
    (A, b), (dA, db) = u, v
    x = jnp.linalg.solve(A.T @ A, A.T @ b)
    r = b - A @ x
    return jnp.linalg.solve(A.T @ A, dA.T @ r + A.T @ db - A.T @ (dA @ x))


def least_squares_vjp(u, w):
    r"""Closed-form :math:`w^\top Dx^*(u)` of least squares, as (grad_A, grad_b): with
    :math:`y = H^{-1}w`, :math:`\nabla_A = r y^\top - (Ay)x^{*\top}`, :math:`\nabla_b = Ay`."""
    A, b = u
    x = jnp.linalg.solve(A.T @ A, A.T @ b)
    r, y = b - A @ x, jnp.linalg.solve(A.T @ A, w)
    Ay = A @ y
    return (jnp.outer(r, y) - jnp.outer(Ay, x), Ay)
