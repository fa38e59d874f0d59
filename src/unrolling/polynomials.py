r"""Residual polynomials of first-order methods and the master identity (chapter 3).

On a quadratic with Hessian H, every method of the form

.. math:: x_{t+1} = x_t - h_t \nabla f(x_t) + m_t (x_t - x_{t-1}), \qquad x_{-1} = x_0,

has :math:`x_t - x^* = P_t(H)(x_0 - x^*)` with a *residual polynomial* :math:`P_t`
of degree t and :math:`P_t(0) = 1` (Scieur et al. eq. 4). Substituting the error
recursion gives the three-term recurrence

.. math:: P_{t+1}(\lambda) = (1 + m_t - h_t \lambda) P_t(\lambda) - m_t P_{t-1}(\lambda),
          \qquad P_0 = P_{-1} = 1,

and, differentiating in λ,
:math:`P'_{t+1} = (1 + m_t - h_t\lambda) P'_t - h_t P_t - m_t P'_{t-1}`.
Gradient descent has :math:`(h_t, m_t) = (h, 0)`, heavy ball :math:`(h, \beta)`, and the
Chebyshev method the time-varying pair of :func:`chebyshev_coefficients`. The
asymptotic Sobolev method (chapter 6) averages heavy-ball iterates; its residual
polynomial follows from heavy ball's by a second recurrence (:func:`sobolev_residual`);
the non-asymptotic method's polynomials (Prop. 3) are computed from their definition as
minimizers of a Sobolev norm (:func:`sobolev_optimal_residual`).

The *master identity* (Scieur et al. Thm 1) expresses the Jacobian error of the
unrolled iterates through :math:`P_t` and :math:`P_t'`; see :func:`master_identity`.
Derived in chapter 3 (``book/03_curse``). The functions are jit-compiled (the
number of steps and the ``residual`` callables are static), so that a notebook
evaluating them a few times compiles each once instead of op by op; those that only
run at top level (:func:`apply_residual`, :func:`worst_case_factors`,
:func:`master_identity`) use the light XLA optimization of
:data:`unrolling._jax.FAST_COMPILE`, the others may also run inside a caller's jit.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.linalg import solve_triangular
from scipy.special import roots_gegenbauer

from . import _validate
from ._jax import FAST_COMPILE
from .methods import _polyak

__all__ = ["gd_coefficients", "heavy_ball_coefficients", "chebyshev_coefficients",
           "residual_polynomials", "gd_residual", "chebyshev_residual", "sobolev_residual",
           "sobolev_optimal_residual", "apply_residual", "jacobian_factors",
           "worst_case_factors", "master_identity"]


@functools.partial(jax.jit, static_argnames=("num_steps",))
def gd_coefficients(step_size, num_steps):
    """Step sizes and momenta ``(h_t, m_t)``, t < num_steps, of gradient descent: (h, 0)."""
    T = _validate.num_steps(num_steps)
    h = jnp.full((T,), step_size, dtype=jnp.result_type(float))
    return h, jnp.zeros_like(h)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def heavy_ball_coefficients(step_size, momentum, num_steps):
    r"""``(h_t, m_t)`` of Polyak's heavy ball with :math:`x_{-1} = x_0`: constant (α, β)."""
    h, _ = gd_coefficients(step_size, num_steps)
    return h, jnp.full_like(h, momentum)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def chebyshev_coefficients(L, mu, num_steps):
    r"""``(h_t, m_t)`` of the Chebyshev method on the spectrum [mu, L].

    With :math:`\rho = (L-\mu)/(L+\mu)`: :math:`h_0 = 2/(L+\mu)`, :math:`m_0 = 0`, and for
    t ≥ 1, :math:`\omega_t = 1/(1 - \rho^2\omega_{t-1}/4)` from :math:`\omega_0 = 2`,
    :math:`h_t = 2\omega_t/(L+\mu)`, :math:`m_t = \omega_t - 1` — the same schedule as
    :func:`unrolling.methods.chebyshev`. Its residual polynomial is the shifted,
    normalized Chebyshev polynomial :math:`T_t(m(\lambda))/T_t(m(0))` with
    :math:`m(\lambda) = (2\lambda - L - \mu)/(L - \mu)` (Scieur et al. eq. 10).
    """
    T = _validate.num_steps(num_steps)
    rho = (L - mu) / (L + mu)

    def step(omega, _):
        omega_next = 1.0 / (1.0 - rho**2 * omega / 4.0)
        return omega_next, omega_next

    _, omegas = lax.scan(step, jnp.asarray(2.0, jnp.result_type(float)), None,
                         length=max(T - 1, 0))
    omega = jnp.concatenate([jnp.ones((min(T, 1),)), omegas])  # ω = 1 gives the first step
    return 2.0 * omega / (L + mu), omega - 1.0


@jax.jit
def residual_polynomials(step_sizes, momenta, lam):
    r"""Values of :math:`P_t(\lambda)` and :math:`P_t'(\lambda)` for t = 0, ..., T.

    Args:
      step_sizes, momenta: arrays of length T, the coefficients :math:`(h_t, m_t)`.
      lam: array of points λ (any shape).

    Returns:
      ``(P, dP)``, each of shape ``(T + 1,) + lam.shape``, from the three-term
      recurrence in the module docstring.
    """
    lam = jnp.asarray(lam, dtype=jnp.result_type(float))
    one, zero = jnp.ones_like(lam), jnp.zeros_like(lam)

    def step(carry, coeffs):
        (p, dp), (p_prev, dp_prev) = carry
        h, m = coeffs
        p_next = (1 + m - h * lam) * p - m * p_prev
        dp_next = (1 + m - h * lam) * dp - h * p - m * dp_prev
        return ((p_next, dp_next), (p, dp)), (p_next, dp_next)

    _, (P, dP) = lax.scan(step, ((one, zero), (one, zero)),
                          (jnp.asarray(step_sizes), jnp.asarray(momenta)))
    return jnp.concatenate([one[None], P]), jnp.concatenate([zero[None], dP])


@functools.partial(jax.jit, static_argnames=("num_steps",))
def gd_residual(step_size, num_steps, lam):
    r"""Gradient descent in closed form: :math:`P_t = (1 - h\lambda)^t`,
    :math:`P_t' = -h t (1 - h\lambda)^{t-1}`, for t = 0, ..., num_steps (Scieur Example 2)."""
    T = _validate.num_steps(num_steps)
    lam = jnp.asarray(lam, dtype=jnp.result_type(float))
    t = jnp.arange(T + 1, dtype=lam.dtype).reshape((T + 1,) + (1,) * lam.ndim)
    q = jnp.broadcast_to(1 - step_size * lam, t.shape[:1] + lam.shape)
    return q**t, -step_size * t * q ** jnp.maximum(t - 1, 0)


def chebyshev_residual(L, mu, num_steps, lam):
    """Residual polynomials of the Chebyshev method and their derivatives, t = 0..num_steps."""
    return residual_polynomials(*chebyshev_coefficients(L, mu, num_steps), lam)


def _averaged_residual(Q, dQ, momentum, lag):
    r""":math:`P_t = Q_t + m(P_{t-1} - Q_{t-\ell})` for t = 1..T from :math:`P_0 = 1`, with
    :math:`Q_{-1} = 1`, :math:`Q'_{-1} = 0` (ℓ = ``lag`` in {1, 2}), and its λ-derivative
    (the same recurrence). Q, dQ: heavy ball's (T + 1,) + lam.shape arrays. With
    ℓ = 1, :math:`P_t - Q_t = m^t(P_0 - Q_0) = 0`: heavy ball itself; ℓ = 2 is
    Scieur et al.'s eq. 17 as printed."""
    Q_lag = jnp.concatenate([jnp.ones_like(Q[:1]), Q[:-1]])[2 - lag:Q.shape[0] + 1 - lag]
    dQ_lag = jnp.concatenate([jnp.zeros_like(dQ[:1]), dQ[:-1]])[2 - lag:dQ.shape[0] + 1 - lag]

    def step(carry, qs):
        p, dp = carry
        q, dq, q_lag, dq_lag = qs
        p, dp = q + momentum * (p - q_lag), dq + momentum * (dp - dq_lag)
        return (p, dp), (p, dp)

    _, (P, dP) = lax.scan(step, (Q[0], dQ[0]), (Q[1:], dQ[1:], Q_lag, dQ_lag))
    return jnp.concatenate([Q[:1], P]), jnp.concatenate([dQ[:1], dP])


@functools.partial(jax.jit, static_argnames=("num_steps",))
def sobolev_residual(L, mu, num_steps, lam):
    r"""Residual polynomials :math:`P_t` of the asymptotic Sobolev method
    (:func:`unrolling.methods.sobolev`) and their derivatives, t = 0..num_steps.

    With heavy ball's residual :math:`Q_t` (Polyak's h and m; :math:`Q_{-1} = Q_0 = 1`)
    and :math:`x_t = y_t + m(x_{t-1} - y_{t-2})`:

    .. math:: P_t = Q_t + m\,(P_{t-1} - Q_{t-2}), \qquad P_0 = 1,

    and :math:`P'_t = Q'_t + m(P'_{t-1} - Q'_{t-2})`. Since :math:`Q_t(0) = 1`,
    :math:`P_t(0) = 1` for all t. Returns ``(P, dP)``, each (T + 1,) + lam.shape.
    Chapter 6.
    """
    T = _validate.num_steps(num_steps)
    h, m = _polyak(L, mu)
    Q, dQ = residual_polynomials(*heavy_ball_coefficients(h, m, T), lam)
    return _averaged_residual(Q, dQ, m, 2)


def _sobolev_optimal(L, mu, T, lam, eta, alpha):
    """:func:`sobolev_optimal_residual` for a validated T (compiled by the caller)."""
    x = roots_gegenbauer(T + 1, alpha)[0]            # (its weights lose 1e-10 at T = 300)
    n = np.arange(1, T + 2)
    beta = jnp.sqrt(n * (n + 2 * alpha - 1) / (4 * (n + alpha) * (n + alpha - 1)))

    def basis(m):  # orthonormal Gegenbauer q_0..q_T at m and their derivatives in m
        def step(carry, b):
            (q, dq), (q_prev, dq_prev), b_prev = carry
            q_next = (m * q - b_prev * q_prev) / b
            dq_next = (q + m * dq - b_prev * dq_prev) / b
            return ((q_next, dq_next), (q, dq), b), (q, dq)
        one, zero = jnp.ones_like(m), jnp.zeros_like(m)
        _, (q, dq) = lax.scan(step, ((one, zero), (zero, zero), jnp.zeros(())), beta)
        return q, dq

    scale, N = 2.0 / (L - mu), T + 1                             # dm/dλ, number of nodes
    lam = jnp.asarray(lam, dtype=jnp.result_type(float))
    q, dq = basis(jnp.concatenate([jnp.asarray(x), jnp.stack([-(L + mu) / (L - mu)]),
                                   (2 * lam.ravel() - L - mu) / (L - mu)]))
    sw = 1 / jnp.linalg.norm(q[:, :N], axis=0, keepdims=True)   # Christoffel numbers
    R = jnp.linalg.qr(jnp.concatenate([sw * q[:, :N], jnp.sqrt(eta) * scale * sw * dq[:, :N]],
                                      1).T, mode="r")
    S = solve_triangular(R, jnp.concatenate([q[:, N:], scale * dq[:, N + 1:]], 1), trans="T")
    s0, S, dS = S[:, 0], S[:, 1:lam.size + 1], S[:, lam.size + 1:]    # S_i(0), S_i, S_i'
    norm = jnp.cumsum(s0**2).reshape((T + 1,) + (1,) * lam.ndim)
    P, dP = (jnp.cumsum(s0[:, None] * v, 0).reshape((T + 1,) + lam.shape) / norm
             for v in (S, dS))
    return P, dP


#: Compiled for top-level calls (light XLA optimization) and for calls under a trace.
_SOBOLEV_OPTIMAL = {False: jax.jit(_sobolev_optimal, static_argnums=(2, 5),
                                   compiler_options=FAST_COMPILE),
                    True: jax.jit(_sobolev_optimal, static_argnums=(2, 5))}


def sobolev_optimal_residual(L, mu, num_steps, lam, eta=1.0, alpha=1.0):
    r"""Residual polynomials of the non-asymptotic Sobolev method (Scieur et al. Prop. 3)
    and their derivatives, t = 0..num_steps, computed from the definition:

    .. math:: P_t^* = \arg\min\{\langle P, P\rangle_\eta : \deg P \le t,\ P(0) = 1\},
              \qquad \langle P, Q\rangle_\eta = \int PQ\,d\mu + \eta\int P'Q'\,d\mu,

    with μ the Gegenbauer *probability* measure on [mu, L] (eq. 12):
    :math:`d\mu \propto (1 - m(\lambda)^2)^{\alpha - 1/2} d\lambda`,
    :math:`m(\lambda) = (2\lambda - L - \mu)/(L - \mu)`, α > 0; derivatives are in λ.
    With :math:`S_0, \dots, S_T` orthonormal for :math:`\langle\cdot,\cdot\rangle_\eta`
    (degree i), :math:`P_t^* = \sum_{i \le t} S_i(0) S_i / \sum_{i \le t} S_i(0)^2`,
    which is Prop. 3, and :math:`\|P_t^*\|_\eta^2 = 1/\sum_{i \le t} S_i(0)^2`.
    The :math:`S_i` come from a QR factorization (Gram–Schmidt) of the orthonormal
    Gegenbauer polynomials and their derivatives under the (T + 1)-node Gauss–Gegenbauer
    rule (exact for these degrees; weights from the Christoffel function). Accuracy,
    against a high-precision solve (``tests/test_polynomials.py``): P, P' and
    :math:`P - \lambda P'` to a few 1e-12 of their maximum over [mu, L] up to T = 300
    (κ = 20 to 1000). Range: :math:`\sum_i S_i(0)^2 \sim \xi^{-2t}` overflows once
    :math:`\xi^{-2t} > 10^{308}` (t ≈ 790 for κ = 20), where the values are about
    1e-151: P comes out 0 (nan from t ≈ 1560). Returns ``(P, dP)``, each
    (T + 1,) + lam.shape. Compiled once per T, α and shape (with the light XLA options
    unless an argument is traced, e.g. under :func:`master_identity`). Chapter 6.
    """
    T = _validate.num_steps(num_steps)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    traced = any(isinstance(v, jax.core.Tracer) for v in (L, mu, lam, eta))
    return _SOBOLEV_OPTIMAL[traced](L, mu, T, lam, eta, float(alpha))


@functools.partial(jax.jit, static_argnames=("residual",), compiler_options=FAST_COMPILE)
def apply_residual(H, residual, e0):
    r"""Iterate errors predicted by the residual polynomials, :math:`P_t(H)(x_0 - x^*)`
    (Scieur et al. eq. 4), for t = 0..T: shape (T + 1, n).

    Args:
      H: (n, n) symmetric Hessian; residual: ``lam -> (P, dP)`` as for
      :func:`master_identity`; e0: :math:`x_0 - x^*`, shape (n,).
    """
    lam, V = jnp.linalg.eigh(jnp.asarray(H))
    P, _ = residual(lam)
    return (P * (V.T @ jnp.asarray(e0))[None]) @ V.T


@jax.jit
def jacobian_factors(P, dP, lam):
    r"""The two factors of the master identity: :math:`P_t(\lambda) - \lambda P_t'(\lambda)`
    (acting on :math:`\partial x_0 - \partial x_*`) and :math:`P_t'(\lambda)` (acting on G).

    For gradient descent the first is :math:`(1-h\lambda)^{t-1}(1 + (t-1)h\lambda)`,
    a decaying power times a *growing* linear factor: the source of the burn-in.
    """
    lam = jnp.asarray(lam, dtype=jnp.result_type(float))
    return P - jnp.broadcast_to(lam, P.shape) * dP, dP


@functools.partial(jax.jit, compiler_options=FAST_COMPILE)
def worst_case_factors(P, dP, lam):
    r"""Maxima over the points ``lam`` (a grid of [mu, L], last axis) of
    :math:`|P_t - \lambda P_t'|` and :math:`|P_t'|`, each of shape (T + 1,).

    Scieur et al.'s Thm 2 / Thm 3 bound :math:`\|\partial x_t - \partial x_*\|_F` by the
    first times :math:`\|\partial x_0 - \partial x_*\|_F` plus the second times G.
    """
    a, b = jacobian_factors(P, dP, lam)
    return jnp.abs(a).max(-1), jnp.abs(b).max(-1)


@functools.partial(jax.jit, static_argnames=("residual", "eigenbasis"),
                   compiler_options=FAST_COMPILE)
def master_identity(H, residual, jac0_err, G, eigenbasis=False):
    r"""Jacobian errors predicted by Scieur et al.'s master identity (Thm 1):

    .. math:: \partial x_t - \partial x_*
              = \big(P_t(H) - P_t'(H) H\big)(\partial x_0 - \partial x_*) + P_t'(H)\, G,

    where, for a quadratic :math:`f = \tfrac12 x^\top H(\theta) x + b(\theta)^\top x` with
    :math:`\partial H` commuting with H, :math:`G = \tfrac{d}{d\theta}\nabla f(x_0(\theta), \theta)`
    is the *total* derivative (:math:`H\partial x_0 + \partial H x_0 + \partial b`; for a
    constant :math:`x_0` it is the partial derivative of the paper's G).

    Args:
      H: (n, n) symmetric Hessian.
      residual: function ``lam -> (P, dP)`` giving :math:`P_t, P_t'` at the (n,)
        eigenvalues of H, each of shape (T + 1, n), e.g.
        ``lambda lam: gd_residual(h, T, lam)``.
      jac0_err: :math:`\partial x_0 - \partial x_*`, shape (n,) or (n, p).
      G: shape of jac0_err.
      eigenbasis: if True, return the components in the eigenbasis of H (ascending
        eigenvalues, ``jnp.linalg.eigh`` order) instead of the standard basis.

    Returns:
      The errors for t = 0, ..., T: shape ``(T + 1,) + jac0_err.shape``.
    """
    lam, V = jnp.linalg.eigh(jnp.asarray(H))
    a, b = jacobian_factors(*residual(lam), lam)
    z, g = V.T @ jnp.asarray(jac0_err), V.T @ jnp.asarray(G)
    if z.ndim == 2:
        a, b = a[..., None], b[..., None]
    comps = a * z[None] + b * g[None]
    return comps if eigenbasis else jnp.einsum("ij,tj...->ti...", V, comps)
