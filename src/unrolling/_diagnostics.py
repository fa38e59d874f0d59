r"""Diagnosing an implicit derivative before trusting it (appendix, practitioner's guide).

:func:`diagnose` measures, at a point x, the four things the implicit-function-theorem
estimate :math:`(I - B)^{-1} C` silently relies on:

* x is a fixed point: the relative residual :math:`\|\mathcal A(x, u) - x\| / \|x\|`,
  and the linearized distance to the fixed point,
  :math:`d = \|(I - B)^{-1}(\mathcal A(x, u) - x)\|` (exact for affine maps);
* the map contracts: the spectral radius of :math:`B` (< 1 for the fixed point to
  attract) and its norm :math:`\|B\|_2` (< 1 for a contraction in the Euclidean norm,
  which the error bounds of chapters 3-4 assume);
* the parameters enter the fixed-point condition: a column :math:`C_j` that vanishes at
  every fixed point (a step size multiplying the gradient, a parameter the map ignores
  such as the initial point) gives a zero implicit derivative, whatever the loss.
  The test: :math:`\|C_j(x)\|` is no larger than what a column vanishing at
  :math:`x^*` can be at distance d, :math:`\|\partial_x C_j\|_2\,(2d + \text{tol}\,\|x\|)`.
  From a point about as far from :math:`x^*` as from 0 the test cannot tell, and flags
  the column (the residual check fails there too);
* an adjoint y solves its system: :math:`\|(I - B)^\top y - w\| / \|w\|`.

B, C and :math:`\partial_x C` are formed densely (problems up to a few thousand unknowns).
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from . import _jax, _validate, derivatives


class Diagnosis(NamedTuple):
    """What :func:`diagnose` measured at x; ``findings`` says what is wrong, in words."""
    residual: float          # ||A(x, u) - x|| / ||x||
    distance: float          # ||(I - B)^-1 (A(x, u) - x)|| / ||x||
    spectral_radius: float   # max |eigenvalue of B|
    norm: float              # ||B||_2
    frozen: tuple            # per flattened parameter: True if it leaves the condition
    adjoint_residual: float  # ||(I - B)^T y - w|| / ||w||, NaN without y and w
    tol: float

    @property
    def findings(self):
        """The failed checks, one sentence each (empty when all pass)."""
        found = []
        if not self.residual <= self.tol:
            found.append(f"not converged: relative residual {self.residual:.1e} > tol "
                         f"{self.tol:.0e}, so (I - B)^-1 C is taken away from the fixed "
                         "point")
        if not self.spectral_radius < 1:
            found.append(f"not a contraction: spectral radius of B {self.spectral_radius:.3g}"
                         " >= 1, so the fixed point does not attract and I - B may be "
                         "singular")
        elif not self.norm < 1:
            found.append(f"not a norm contraction: ||B||_2 = {self.norm:.3g} >= 1 > "
                         f"spectral radius {self.spectral_radius:.3g}, so errors can grow "
                         "before they shrink, and bounds in rho^k do not apply")
        if any(self.frozen):
            which = [j for j, f in enumerate(self.frozen) if f]
            found.append(f"parameters {which} do not enter the fixed-point condition (their "
                         "column of C vanishes at the fixed point): their implicit "
                         "derivative is 0")
        if not math.isnan(self.adjoint_residual) and not self.adjoint_residual <= self.tol:
            found.append(f"adjoint not solved: relative residual {self.adjoint_residual:.1e}"
                         f" > tol {self.tol:.0e} (1.0 means y = 0, a zero hypergradient)")
        return found


@_jax.compiled(0)
def _measure(update, x, u, w, y):
    A, x_flat, u_flat = derivatives._partials(update, x, u)    # flattened map and point
    B = jax.jacfwd(A, 0)(x_flat, u_flat)
    C = jax.jacfwd(A, 1)(x_flat, u_flat)                        # (n, p)
    dC = jax.jacfwd(jax.jacfwd(A, 1), 0)(x_flat, u_flat)        # (n, p, n)
    I_minus_B = jnp.eye(x_flat.size, dtype=x_flat.dtype) - B
    r = A(x_flat, u_flat) - x_flat
    scale = jnp.maximum(jnp.linalg.norm(x_flat), jnp.finfo(x_flat.dtype).tiny)
    d = jnp.linalg.norm(jnp.linalg.solve(I_minus_B, r))
    dC_norms = jnp.linalg.norm(jnp.moveaxis(dC, 1, 0), ord=2, axis=(1, 2))
    if w is None:
        adjoint = jnp.nan
    else:
        w_flat = ravel_pytree(w)[0]
        adjoint = (jnp.linalg.norm(I_minus_B.T @ ravel_pytree(y)[0] - w_flat)
                   / jnp.maximum(jnp.linalg.norm(w_flat), jnp.finfo(w_flat.dtype).tiny))
    return (jnp.linalg.norm(r) / scale, d / scale, jnp.max(jnp.abs(jnp.linalg.eigvals(B))),
            jnp.linalg.norm(B, 2), jnp.linalg.norm(C, axis=0), dC_norms * (2 * d), adjoint,
            dC_norms * scale)


def diagnose(update, x, u, w=None, y=None, tol=1e-6):
    r"""Check the assumptions of the implicit derivative :math:`(I - B)^{-1} C` at x.

    Args:
      update: the map ``(x, u) -> x``; x: the point where the derivative is taken (the
        last iterate); u: the parameters.
      w, y: optionally a cotangent and the adjoint vector a solver returned for
        :math:`(I - B)^\top y = w`; both or neither.
      tol: the relative residual counted as converged (and as a solved adjoint); > 0.

    Returns:
      A :class:`Diagnosis` (module ``unrolling._diagnostics``) with the measured numbers
      and ``findings``, a list of sentences naming each failed check. Appendix.
    """
    x, u, _, w = _validate.inputs(x, u, w=w)
    tol = _validate.positive(tol, "tol")
    if (w is None) != (y is None):
        raise ValueError("give both w (the cotangent) and y (the adjoint solution), or "
                         "neither")
    if y is not None:
        y = _validate.floats(y, "y")
        _validate.same_shape(w, x, "w", "x")
        _validate.same_shape(y, x, "y", "x")
    _validate.same_shape(jax.eval_shape(update, x, u), x, "update(x, u)", "x")
    n, p = (sum(math.prod(a.shape) for a in jax.tree.leaves(t)) for t in (x, u))
    _validate.memory([(n, n), (n, p, n)], jax.tree.leaves(x)[0].dtype, "x", f"size {n}",
                     "the dense B and the derivative of C", "diagnose a smaller problem")
    res, dist, radius, norm, c_norms, vanish, adjoint, floor = _measure(update, x, u, w, y)
    frozen = tuple(bool(c <= v + tol * f) for c, v, f in zip(c_norms, vanish, floor))
    return Diagnosis(float(res), float(dist), float(radius), float(norm), frozen,
                     float(adjoint), float(tol))
