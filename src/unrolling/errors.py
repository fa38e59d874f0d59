r"""Error sequences of iterates and derivative estimates (chapters 3-5).

:math:`e^{(k)} = \|x^{(k)} - x^*\|` and :math:`\dot e^{(k)} = \|\dot X^{(k)} - Dx^*\|`
for stacked iterates / Jacobians / JVPs / VJPs as returned by
:func:`unrolling.iterate`, :func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode`.
"""
import math

import jax.numpy as jnp

__all__ = ["iterate_errors", "derivative_errors", "format_error"]


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


def format_error(value, floor=1e-12):
    """An error for print, portable across machines: ``"< 1e-12"`` below ``floor``.

    Digits of an error at the level of rounding (say 7.0e-15 on one CPU, 8.1e-15 on
    another) depend on the machine's floating-point kernels; a stored notebook output must
    not print them. Above ``floor`` the value is printed with two significant digits
    (``"6.5e-09"``). ``floor`` must be a power of ten > 0.
    """
    exponent = math.log10(floor) if floor > 0 else math.nan
    if not exponent == round(exponent):
        raise ValueError(f"floor must be a power of ten > 0 (1e-12, 1e-9, ...), got {floor!r}")
    value = float(value)
    return f"< 1e{round(exponent)}" if value < floor else f"{value:.1e}"
