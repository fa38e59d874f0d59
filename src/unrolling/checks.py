"""Automatic checks for the exercises and assignments.

Each checker takes the student's answer, compares it with a reference computed
by the library (never a stored number), prints a short verdict and returns
``True``/``False``, so that a notebook cell like ``checks.banach_steps(my_answer)``
tells the student whether they are right without revealing the solution.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .bounds import gd_contraction, iterate_bound
from .derivatives import implicit_jacobian, iterate, one_step_jacobian, reverse_mode
from .methods import heavy_ball
from .problems import quadratic

__all__ = ["report", "contraction_factor", "optimal_step_size", "iterations_to_tolerance",
           "heavy_ball_rate", "ift_jacobian",
           "piggyback_step", "reverse_sweep", "one_step_estimate"]


def report(name, ok, hint=""):
    """Print a one-line verdict for exercise ``name`` and return ``ok``."""
    verdict = "correct" if ok else "not yet" + (f": {hint}" if hint else "")
    print(f"[{name}] {verdict}")
    return bool(ok)


def _close(answer, reference, rtol=1e-6, atol=1e-9):
    """Shapes match and values agree to tolerance."""
    answer, reference = np.asarray(answer, dtype=float), np.asarray(reference, dtype=float)
    return answer.shape == reference.shape and np.allclose(answer, reference, rtol=rtol, atol=atol)


# --- Chapter 1: fixed points and contractions --------------------------------------

def contraction_factor(step_size, L, mu, answer):
    r"""Chapter 1: the contraction factor :math:`\rho(\alpha) = \max_\lambda |1 - \alpha\lambda|`
    of gradient descent with step ``step_size`` on a quadratic with spectrum in [mu, L]
    (reference: :func:`unrolling.bounds.gd_contraction`)."""
    reference = float(gd_contraction(step_size, L, mu))
    return report("contraction_factor", _close(answer, reference),
                  "the factor is the largest |1 - step_size * λ| over the spectrum [mu, L]")


def optimal_step_size(L, mu, answer):
    r"""Chapter 1: the step size minimizing :math:`\rho(\alpha)` for spectrum [mu, L].

    The answer is accepted when its contraction factor equals the smallest possible
    one, :math:`(L - \mu)/(L + \mu)`, computed with :func:`unrolling.bounds.gd_contraction`
    at the two end points' balance; the minimizer is unique, so only 2/(L + mu) passes.
    """
    rho = float(gd_contraction(answer, L, mu))
    best = float(gd_contraction(2.0 / (L + mu), L, mu))
    return report("optimal_step_size", _close(rho, best),
                  f"this step gives ρ = {rho:.4g}; a step with a smaller ρ exists "
                  "(balance |1 - α mu| against |1 - α L|)")


def iterations_to_tolerance(rho, e0, tol, answer):
    r"""Chapter 1: the smallest k with :math:`\rho^k e^{(0)} \le` ``tol``.

    Reference: the first k at which :func:`unrolling.bounds.iterate_bound` drops to
    ``tol`` (searched from :math:`\lceil \log(tol/e^{(0)}) / \log\rho \rceil` and its
    neighbours, so rounding in the logarithms cannot shift it). Needs 0 < rho < 1.
    """
    if not 0.0 < float(rho) < 1.0:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    guess = max(math.ceil(math.log(tol / e0) / math.log(rho)), 0)
    candidates = [k for k in range(max(guess - 2, 0), guess + 3)
                  if float(iterate_bound(k, rho, e0)) <= tol]
    ok = float(np.asarray(answer)) == candidates[0]
    return report("iterations_to_tolerance", ok,
                  "the smallest integer k with rho**k * e0 <= tol (take logarithms; "
                  "log(rho) < 0 flips the inequality)")


@jax.jit
def _heavy_ball_jacobian(eigenvalues, step_size, momentum):
    """Phase-space Jacobian of heavy ball on the quadratic with Hessian diag(eigenvalues)."""
    update = heavy_ball(quadratic(jnp.diag(eigenvalues), eigenvalues).f, step_size, momentum)
    z_flat, unravel = ravel_pytree((eigenvalues, eigenvalues))
    return jax.jacfwd(lambda z: ravel_pytree(update(unravel(z), 0.0))[0])(z_flat)


def heavy_ball_rate(L, mu, answer):
    r"""Chapter 1: spectral radius of heavy ball's phase-space Jacobian with Polyak's
    parameters :math:`\alpha = 4/(\sqrt L + \sqrt\mu)^2`,
    :math:`\beta = ((\sqrt L - \sqrt\mu)/(\sqrt L + \sqrt\mu))^2` on a quadratic with
    spectrum [mu, L].

    Reference: the eigenvalues of the Jacobian of :func:`unrolling.methods.heavy_ball`
    on the quadratic with Hessian diag(mu, (mu + L)/2, L), computed with ``jax.jacfwd``.
    Repeated eigenvalues (Polyak's parameters put double ones at mu and L) are
    computed to about 1e-8, hence the loose tolerance.
    """
    sL, smu = np.sqrt(float(L)), np.sqrt(float(mu))
    lam = jnp.asarray([float(mu), (float(mu) + float(L)) / 2, float(L)])
    B = _heavy_ball_jacobian(lam, 4.0 / (sL + smu) ** 2, ((sL - smu) / (sL + smu)) ** 2)
    reference = float(jnp.max(jnp.abs(jnp.linalg.eigvals(B))))
    return report("heavy_ball_rate", _close(answer, reference, rtol=1e-6, atol=1e-6),
                  "find the roots of r**2 - (1 + beta - alpha*lam) r + beta = 0 for lam "
                  "in [mu, L]; their modulus does not depend on lam")


def ift_jacobian(update, x, u, answer):
    r"""Chapter 1: :math:`Dx^\star(u) = (I - B)^{-1} C` at the fixed point ``x`` of ``update``
    (reference: :func:`unrolling.implicit_jacobian`), as an (n, p) matrix."""
    reference = np.asarray(jax.jit(implicit_jacobian, static_argnums=0)(update, x, u))
    shape_hint = (f"expected shape {reference.shape}, got {np.shape(answer)}"
                  if np.shape(answer) != reference.shape else
                  "solve (I - B) J = C with B = d_x A and C = d_u A at the fixed point")
    return report("ift_jacobian", _close(answer, reference, rtol=1e-6, atol=1e-9), shape_hint)


# --- Chapter 2: unrolling, derivatives of iterates --------------------------------

def _close_squeezed(answer, reference, rtol=1e-6, atol=1e-9):
    """:func:`_close` up to singleton axes, so (n,) and (n, 1) both pass for p = 1."""
    return _close(np.squeeze(np.asarray(answer, dtype=float)),
                  np.squeeze(np.asarray(reference, dtype=float)), rtol, atol)


def _shape_hint(answer, reference, hint):
    """The shape mismatch if there is one, else ``hint``."""
    if np.squeeze(np.asarray(answer)).shape != np.squeeze(np.asarray(reference)).shape:
        return f"expected shape {np.shape(reference)}, got {np.shape(answer)}"
    return hint


def piggyback_step(update, x, u, X_dot, answer):
    r"""Chapter 2: one step :math:`\dot X^{(k+1)} = B_k \dot X^{(k)} + C_k` of the
    forward (piggyback) recursion, with :math:`B_k = \partial_x \mathcal A(x^{(k)}, u)`
    and :math:`C_k = \partial_u \mathcal A(x^{(k)}, u)` taken at ``x`` = :math:`x^{(k)}`
    and ``X_dot`` = :math:`\dot X^{(k)}` of shape (n, p).

    Reference: ``jax.jacfwd`` of the flattened update in x and in u.
    """
    x_flat, unravel_x = ravel_pytree(x)
    u_flat, unravel_u = ravel_pytree(u)

    def A(x_, u_):
        return ravel_pytree(update(unravel_x(x_), unravel_u(u_)))[0]
    B, C = jax.jacfwd(A, 0)(x_flat, u_flat), jax.jacfwd(A, 1)(x_flat, u_flat)
    reference = np.asarray(B @ jnp.reshape(jnp.asarray(X_dot), (x_flat.size, u_flat.size)) + C)
    return report("piggyback_step", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "differentiate x_next = A(x, u) by the "
                              "chain rule: a term through x (times X_dot) plus a term through u"))


def reverse_sweep(update, x0, u, num_steps, w, answer):
    r"""Chapter 2: the result :math:`\bar U_K^{(0)} = D x^{(K)}(u)` of the reverse sweep
    (Mehmood et al. eq. 12), or :math:`w^\top D x^{(K)}(u)` of shape (p,) when the
    cotangent ``w`` is not None.

    Reference: the last entry of :func:`unrolling.reverse_mode`.
    """
    reference = np.asarray(reverse_mode(update, x0, u, num_steps, w=w)[-1])
    return report("reverse_sweep", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "start from X_bar = w (or I), U_bar = 0 and "
                              "walk k = K-1, ..., 0: U_bar += X_bar C_k, then X_bar = X_bar B_k"))


def one_step_estimate(update, x0, u, num_steps, answer):
    r"""Chapter 2: the one-step estimator :math:`\partial_u \mathcal A(x^{(K-1)}, u)`
    (Bolte et al. eq. 4), the derivative of the last step alone.

    Reference: :func:`unrolling.one_step_jacobian` at the iterate :math:`x^{(K-1)}`
    of :func:`unrolling.iterate`; num_steps = K >= 1.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    x_like = x0(u) if callable(x0) else x0
    x_prev = ravel_pytree(x_like)[1](iterate(update, x0, u, num_steps - 1)[-1])
    reference = np.asarray(one_step_jacobian(update, x_prev, u))
    return report("one_step_estimate", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "differentiate only the last step "
                              "x^(K) = A(x^(K-1), u) in u, holding x^(K-1) fixed"))
