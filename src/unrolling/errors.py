r"""Error sequences of iterates and derivative estimates (chapters 3-5).

:math:`e^{(k)} = \|x^{(k)} - x^*\|` and :math:`\dot e^{(k)} = \|\dot X^{(k)} - Dx^*\|`
for stacked iterates / Jacobians / JVPs / VJPs as returned by
:func:`unrolling.iterate`, :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`.
"""
import jax.numpy as jnp

__all__ = ["iterate_errors", "derivative_errors"]


def iterate_errors(xs, x_star):
    r""":math:`e^{(k)} = \|x^{(k)} - x^*\|_2` for each row of ``xs`` (shape (K+1, n))."""
    return jnp.linalg.norm(jnp.asarray(xs) - jnp.ravel(jnp.asarray(x_star))[None], axis=-1)


def derivative_errors(derivs, reference, norm="fro"):
    r"""Distance of each stacked derivative estimate to the reference :math:`Dx^*`.

    Args:
      derivs: (K+1, n, p) Jacobians, or (K+1, d) JVPs / VJPs.
      reference: (n, p) Jacobian or (d,) JVP / VJP.
      norm: ``"fro"`` (Frobenius, Scieur et al.) or ``"op"`` (spectral norm, Mehmood
        et al. and Bolte et al.); the two coincide for vectors and for p = 1.
    """
    if norm not in ("fro", "op"):
        raise ValueError(f'norm must be "fro" or "op", got {norm!r}')
    diff = jnp.asarray(derivs) - jnp.asarray(reference)[None]
    if diff.ndim == 2:
        return jnp.linalg.norm(diff, axis=-1)
    if norm == "fro":
        return jnp.linalg.norm(diff, axis=(-2, -1))
    return jnp.linalg.norm(diff, ord=2, axis=(-2, -1))
