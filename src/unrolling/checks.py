"""Automatic checks for the exercises and assignments, in chapter order.

Each checker is named after the chapter whose exercise it serves (``ch3_curse_peak``).
It takes the student's answer, compares it with a reference computed by the library
(never a stored number), prints a one-line verdict, ``[name] correct`` or
``[name] not yet: hint``, and returns a verdict that is true or false (and displays
nothing, so a cell shows the line once): a notebook cell like
``checks.ch1_optimal_step_size(L, mu, my_alpha)`` tells the student whether they are
right without revealing the solution.
"""
import hashlib
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .bounds import gd_contraction, iterate_bound
from .derivatives import implicit_jacobian, iterate, one_step_jacobian, reverse_mode
from .methods import heavy_ball
from .problems import quadratic
from ._checks_ch6 import (ch6_lower_bound, ch6_polyak_parameters,  # noqa: F401
                          ch6_rate_estimate, ch6_reversing_share, ch6_sobolev_peak)
from ._checks_ch7 import (ch7_cg_steps, ch7_danskin_gradient,  # noqa: F401
                          ch7_fixed_point_adjoint, ch7_neumann_terms,
                          ch7_unrolled_value_gradient)
from ._verdicts import (_close, _close_squeezed, _matrix_verdict, _near, _report,  # noqa: F401
                        _shape_hint)

__all__ = ["student_key", "ch1_contraction_factor", "ch1_optimal_step_size",
           "ch1_iterations_to_tolerance", "ch1_heavy_ball_rate", "ch1_ift_jacobian",
           "ch2_piggyback_step", "ch2_reverse_sweep", "ch2_one_step_estimate",
           "ch3_curse_peak", "ch3_monotone_step", "ch3_ridge_gamma", "ch3_chebyshev_peak",
           "ch3_top_component_peak", "ch4_reallocation", "ch4_monotone_start",
           "ch4_relaxed_optimum", "ch4_k_step_jacobian", "ch4_memory_slope",
           "ch4_convergence_order", "ch4_curse_start", "ch5_ridge_hypergradient", "ch5_adjoint_hypergradient",
           "ch5_one_step_hypergradient", "ch5_criticality_constants", "ch5_transient_peak",
           "ch5_optimal_log_weight", "ch6_polyak_parameters", "ch6_lower_bound",
           "ch6_sobolev_peak", "ch6_rate_estimate", "ch6_reversing_share",
           "ch7_neumann_terms", "ch7_fixed_point_adjoint", "ch7_cg_steps",
           "ch7_danskin_gradient", "ch7_unrolled_value_gradient"]


def student_key(student_id):
    """The PRNG key of one student's instance of a graded assignment.

    Every assignment draws its data from this key, so each student gets their own
    numbers, and the autograder, given the same identifier, recomputes the reference
    with the library. The key is a hash (SHA-256) of the identifier with surrounding
    spaces removed; any non-empty string works.
    """
    if not isinstance(student_id, str) or not student_id.strip():
        raise ValueError("student_id: enter your student identifier as a non-empty string "
                         f"in the first cell, e.g. STUDENT_ID = \"s1234567\" (got {student_id!r})")
    digest = hashlib.sha256(student_id.strip().encode()).digest()
    return jax.random.PRNGKey(int.from_bytes(digest[:4], "little"))


# --- Chapter 1: fixed points and contractions --------------------------------------

def ch1_contraction_factor(step_size, L, mu, answer):
    r"""Chapter 1: gradient descent's factor :math:`\max_\lambda |1 - \alpha\lambda|` over
    the spectrum [mu, L] (reference: :func:`unrolling.bounds.gd_contraction`)."""
    reference = float(gd_contraction(step_size, L, mu))
    return _report("ch1_contraction_factor", _close(answer, reference),
                  "the factor is the largest |1 - step_size * λ| over the spectrum [mu, L]")


def ch1_optimal_step_size(L, mu, answer):
    r"""Chapter 1: the step size minimizing :math:`\rho(\alpha)` for spectrum [mu, L]:
    its factor (:func:`unrolling.bounds.gd_contraction`) must be that of 2/(L + mu)."""
    if np.ndim(answer) != 0:
        return _report("ch1_optimal_step_size", False, "the answer is one number")
    rho = float(gd_contraction(answer, L, mu))
    best = float(gd_contraction(2.0 / (L + mu), L, mu))
    return _report("ch1_optimal_step_size", _close(rho, best),
                  f"this step gives ρ = {rho:.4g}; a step with a smaller ρ exists "
                  "(balance |1 - α mu| against |1 - α L|)")


def ch1_iterations_to_tolerance(rho, e0, tol, answer):
    r"""Chapter 1: the smallest k with :math:`\rho^k e^{(0)} \le` ``tol``: the first k,
    near :math:`\lceil \log(tol/e^{(0)}) / \log\rho \rceil`, at which
    :func:`unrolling.bounds.iterate_bound` drops to ``tol``. Needs 0 < rho < 1."""
    if not 0.0 < float(rho) < 1.0:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    guess = max(math.ceil(math.log(tol / e0) / math.log(rho)), 0)
    candidates = [k for k in range(max(guess - 2, 0), guess + 3)
                  if float(iterate_bound(k, rho, e0)) <= tol]
    ok = np.ndim(answer) == 0 and float(answer) == candidates[0]
    return _report("ch1_iterations_to_tolerance", ok,
                  "the smallest integer k with rho**k * e0 <= tol (take logarithms; "
                  "log(rho) < 0 flips the inequality)")


@jax.jit
def _heavy_ball_jacobian(eigenvalues, step_size, momentum):
    """Phase-space Jacobian of heavy ball on the quadratic with Hessian diag(eigenvalues)."""
    update = heavy_ball(quadratic(jnp.diag(eigenvalues), eigenvalues).f, step_size, momentum)
    z_flat, unravel = ravel_pytree((eigenvalues, eigenvalues))
    return jax.jacfwd(lambda z: ravel_pytree(update(unravel(z), 0.0))[0])(z_flat)


def ch1_heavy_ball_rate(L, mu, answer):
    r"""Chapter 1: spectral radius of heavy ball's phase-space Jacobian with Polyak's
    parameters on a quadratic with spectrum [mu, L]: eigenvalues of ``jax.jacfwd`` of
    :func:`unrolling.methods.heavy_ball` on diag(mu, (mu + L)/2, L), to 1e-6 (the
    double eigenvalues at mu and L are computed to about 1e-8)."""
    sL, smu = np.sqrt(float(L)), np.sqrt(float(mu))
    lam = jnp.asarray([float(mu), (float(mu) + float(L)) / 2, float(L)])
    B = _heavy_ball_jacobian(lam, 4.0 / (sL + smu) ** 2, ((sL - smu) / (sL + smu)) ** 2)
    reference = float(jnp.max(jnp.abs(jnp.linalg.eigvals(B))))
    return _report("ch1_heavy_ball_rate", _close(answer, reference, rtol=1e-6, atol=1e-6),
                  "find the roots of r**2 - (1 + beta - alpha*lam) r + beta = 0 for lam "
                  "in [mu, L]; their modulus does not depend on lam")


def ch1_ift_jacobian(update, x, u, answer):
    r"""Chapters 1 and 2: :math:`(I - B)^{-1} C` at the point ``x`` of ``update``
    (:math:`Dx^\star(u)` at its fixed point) as an (n, p) matrix, by
    :func:`unrolling.implicit_jacobian`; refused where it is zero (ridge at x = 0)."""
    reference = np.asarray(jax.jit(implicit_jacobian, static_argnums=0)(update, x, u))
    if np.shape(answer) != reference.shape:   # strict: (n, 1) for p = 1
        return _report("ch1_ift_jacobian", False,
                       f"expected shape {reference.shape}, got {np.shape(answer)}")
    return _matrix_verdict("ch1_ift_jacobian", answer, reference,
                           "solve (I - B) J = C with B = d_x A and C = d_u A at the point")


# --- Chapter 2: unrolling, derivatives of iterates --------------------------------

def ch2_piggyback_step(update, x, u, X_dot, answer):
    r"""Chapter 2: one piggyback step :math:`\dot X^{(k+1)} = B_k \dot X^{(k)} + C_k` at
    ``x`` = :math:`x^{(k)}`, ``X_dot`` = :math:`\dot X^{(k)}` (n, p), by ``jax.jacfwd``.
    Inputs where ``X_dot`` itself, :math:`B_k\dot X^{(k)}` or :math:`C_k` alone is the
    answer (a fixed point, :math:`\dot X^{(k)} = 0`, :math:`C_k = 0`) are refused."""
    x_flat, unravel_x = ravel_pytree(x)
    u_flat, unravel_u = ravel_pytree(u)

    def A(x_, u_):
        return ravel_pytree(update(unravel_x(x_), unravel_u(u_)))[0]

    @jax.jit
    def terms(x_, u_, X_dot_):  # B X_dot and C, compiled as one program
        return jax.jacfwd(A, 0)(x_, u_) @ X_dot_, jax.jacfwd(A, 1)(x_, u_)
    X_dot = jnp.reshape(jnp.asarray(X_dot), (x_flat.size, u_flat.size))
    BX, C = (np.asarray(t) for t in terms(x_flat, u_flat, X_dot))
    return _matrix_verdict("ch2_piggyback_step", answer, BX + C,
                           "differentiate x_next = A(x, u) by the chain rule: a term "
                           "through x (times X_dot) plus a term through u",
                           [("X_dot itself", X_dot), ("B_k X_dot alone", BX),
                            ("C_k alone", C)])


def _last_steps(update, x0, u, num_steps, w):
    r""":math:`\partial_u\mathcal A` at :math:`x^{(K-1)}` and :math:`x^{(K)}` (times ``w``)."""
    @jax.jit
    def both(u_, w_):
        unravel = ravel_pytree(x0(u_) if callable(x0) else x0)[1]
        xs = iterate(update, x0, u_, num_steps)
        return [one_step_jacobian(update, unravel(x), u_, w=w_) for x in xs[-2:]]
    return [np.asarray(J) for J in both(u, w)]


def ch2_reverse_sweep(update, x0, u, num_steps, w, answer):
    r"""Chapter 2: the reverse sweep's :math:`\bar U_K^{(0)} = D x^{(K)}(u)` (Mehmood et
    al. eq. 12), or :math:`w^\top D x^{(K)}(u)` (p,) for a cotangent ``w``: the last
    entry of :func:`unrolling.reverse_mode`. Inputs where the last step's term
    :math:`w^\top C_{K-1}` alone is the answer (K = 1) are refused."""
    reference = np.asarray(jax.jit(lambda u_, w_: reverse_mode(
        update, x0, u_, num_steps, w=w_)[-1])(u, w))
    last = _last_steps(update, x0, u, num_steps, w)[0]
    return _matrix_verdict("ch2_reverse_sweep", answer, reference,
                           "start from X_bar = w (or I), U_bar = 0 and walk k = K-1, "
                           "..., 0: U_bar += X_bar C_k, then X_bar = X_bar B_k",
                           [("the last step's term alone", last)])


def ch2_one_step_estimate(update, x0, u, num_steps, answer):
    r"""Chapter 2: the one-step estimator :math:`\partial_u \mathcal A(x^{(K-1)}, u)`
    (Bolte et al. eq. 4), by :func:`unrolling.one_step_jacobian`; K = num_steps >= 1.
    Inputs where the same formula at :math:`x^{(K)}` is the answer are refused."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    reference, at_last = _last_steps(update, x0, u, num_steps, None)
    return _matrix_verdict("ch2_one_step_estimate", answer, reference,
                           "differentiate only the last step x^(K) = A(x^(K-1), u) in u, "
                           "holding x^(K-1) fixed", [("d_u A at x^(K)", at_last)])


# --- Chapter 3: the curse of unrolling --------------------------------------------

def ch3_curse_peak(rho, answer):
    r"""Chapter 3: the integer k maximizing the curse term :math:`k\rho^k` of Mehmood et
    al.'s Theorem 7 (reference: a direct search over integers; accepted within 1)."""
    from .curse import _curse_peak
    return _report("ch3_curse_peak", _near(answer, _curse_peak(rho), 0.0, 1.0),
                  "set the derivative of log(k) + k log(rho) to zero")


def ch3_monotone_step(problem, u, x0, num_steps, answer):
    r"""Chapter 3: the largest gradient-descent step whose forward-mode error never
    increases over ``num_steps`` iterations on ``problem`` at u from x0 (reference: a grid
    of (0, 2/L) refined by bisection; accepted within two bracket widths or 1%)."""
    from .curse import _largest_monotone_step
    h, resolution = _largest_monotone_step(problem, u, x0, num_steps)
    return _report("ch3_monotone_step", _near(answer, h, 0.01, 2.0 * float(resolution)),
                  "scan step sizes between sqrt(2)/L and 2/L and test whether the error "
                  "curve ever increases")


def ch3_ridge_gamma(problem, u, answer):
    r"""Chapter 3: ``answer = (M_x, M_u, Γ)`` of Mehmood et al.'s Lemma 6 for gradient
    descent with step :math:`\alpha = 2/(L + \mu)` on ridge ``problem`` in its weight, at u.

    Reference: Lipschitz ratios of :math:`\partial_x\mathcal A`, :math:`\partial_u\mathcal A`
    between 0 and :math:`x^*`, and the largest measured Lemma 6 ratio
    (:func:`unrolling.curse.lemma6_ratios`, 20 steps from 0); relative 1e-6. No input
    equals Γ: the step comes from the problem's curvature."""
    from .curse import lemma6_ratios
    from .methods import gradient_descent
    step = 2.0 / float(problem.smoothness(u) + problem.strong_convexity(u))
    update = gradient_descent(problem.f, step)
    x_star = problem.x_star(u)
    zero, dist = jnp.zeros_like(x_star), float(jnp.linalg.norm(x_star))
    reference = [float(jnp.linalg.norm(jnp.atleast_2d(d(x_star) - d(zero)), 2)) / dist
                 for d in (lambda x: jax.jacfwd(update, 0)(x, u),
                           lambda x: jax.jacfwd(update, 1)(x, u))]
    reference.append(float(np.max(lemma6_ratios(problem, update, zero, u, 20))))
    ok = np.shape(answer) == (3,) and all(
        _near(a, r, 1e-6, 1e-9 * step) for a, r in zip(answer, reference))
    return _report("ch3_ridge_gamma", ok, "give (M_x, M_u, Gamma); the step is 2/(L + mu) "
                  "of A^T A + u I; which partial Jacobian depends on x?")


def ch3_chebyshev_peak(L, mu, answer):
    r"""Chapter 3: the iteration t at which Scieur et al.'s Chebyshev bound (Thm 3, G = 0)
    is largest, for the spectrum [mu, L] (reference: argmax over integers of
    :func:`unrolling.bounds.scieur_chebyshev`; accepted within 1 or 5%, so the
    maximizer of :math:`t^2\xi^t`, about √κ, passes and the paper's 2√κ does not)."""
    from .bounds import scieur_chebyshev
    t = np.arange(int(20 * np.sqrt(float(L) / float(mu))) + 10)
    reference = int(np.argmax(np.asarray(scieur_chebyshev(t, L, mu, 1.0, 0.0))))
    return _report("ch3_chebyshev_peak", _near(answer, reference, 0.05, 1.0),
                  "maximize t**2 * xi**t: its logarithm has derivative 2/t + log(xi)")


def ch3_top_component_peak(L, mu, answer):
    r"""Chapter 3: ``answer = (t, g(t))`` for gradient descent with step 2/(L + mu): the
    integer t maximizing the top eigenvalue's Jacobian factor
    :math:`g(t) = \rho^{t-1}(1 + 2(t-1)\kappa/(\kappa+1))`, and its value.

    Reference: :func:`unrolling.polynomials.jacobian_factors` at λ = L. t is accepted
    within 1 or 3%, g within 0.2%: κ/e passes, the maximum of Scieur et al.'s upper
    bound :math:`\rho^{t-1}(2t - 1)` (1% higher at κ = 100) does not."""
    from .polynomials import gd_residual, jacobian_factors
    h, T = 2.0 / (float(L) + float(mu)), int(20 * float(L) / float(mu)) + 10
    top = jnp.asarray([float(L)])
    factor = np.abs(np.asarray(jacobian_factors(*gd_residual(h, T, top), top)[0][:, 0]))
    t_ref = int(np.argmax(factor))
    ok = (np.shape(answer) == (2,) and _near(answer[0], t_ref, 0.03, 1.0)
          and _near(answer[1], factor[t_ref], 2e-3, 0.0))
    return _report("ch3_top_component_peak", ok, "give (t, g(t)); |1 - hL| = (L - mu)/(L + "
                  "mu) and hL = 2 kappa/(kappa + 1): maximize rho**(t-1) (1 + (t-1) h L)")


# --- Chapter 4: truncation and one-step differentiation ----------------------------

def ch4_reallocation(K, T, omega, answer):
    r"""Chapter 4: the pair :math:`(K', T')` of Mehmood et al. Sec. 4.3 when T of K derivative
    steps are given up and one derivative step costs ω algorithm steps.

    Reference: :func:`unrolling.budget.reallocate` (ωT rounded down).
    """
    from .budget import reallocate
    reference = reallocate(K, T, omega)
    ok = np.shape(answer) == (2,) and tuple(int(a) for a in answer) == reference
    return _report("ch4_reallocation", ok, "the freed budget is omega * T algorithm steps; "
                  "K' - T' must still equal K - T")


def ch4_monotone_start(rho, gamma_, e0, edot0, answer, k_max=5000):
    r"""Chapter 4: the smallest late start T' for which the Theorem 8 bound
    :math:`\rho^k\dot e^{(0)} + k\rho^{k+T'-1}\Gamma e^{(0)}` never increases in k.

    Reference: a search over T' with :func:`unrolling.bounds.theorem8` on k = 0..k_max.
    """
    from .bounds import theorem8
    k = np.arange(k_max + 1)

    def monotone(T):
        values = np.asarray(theorem8(k, T, rho, gamma_, e0, edot0))
        return bool(np.all(np.diff(values) <= 1e-12 * values[:-1]))
    reference = next(T for T in range(10 * k_max) if monotone(T))
    return _report("ch4_monotone_start", int(answer) == reference,
                  "the bound increases at k = 0 -> 1 exactly when "
                  "rho**T' * Gamma * e0 > (1 - rho) * edot0; check the later k too")


def ch4_relaxed_optimum(K, omega, rho, gamma_, e0, edot0, answer):
    r"""Chapter 4: the minimizer over [0, K] of the relaxed eq. (22) (Lemma 11).

    Reference: :func:`unrolling.bounds.optimal_truncation_relaxed`; accepted within 1e-3 K.
    """
    from .bounds import optimal_truncation_relaxed
    reference = float(optimal_truncation_relaxed(K, omega, rho, gamma_, e0, edot0))
    return _report("ch4_relaxed_optimum", abs(float(answer) - reference) <= 1e-3 * K,
                  "h'(T) is increasing (h is convex): bisect on its sign, and check the "
                  "end points 0 and K")


def ch4_k_step_jacobian(update, x0, u, num_steps, k, answer):
    r"""Chapter 4: the Jacobian of :math:`x^{(K)}(u)` through its last k steps only
    (truncated backpropagation, the one-step estimator of :math:`F^k`), constant x0.

    Reference: the last entry of :func:`unrolling.forward_mode` started late at T' = K - k.
    """
    from .derivatives import forward_mode
    reference = np.asarray(jax.jit(lambda u_: forward_mode(update, x0, u_, num_steps,
                                                           start=num_steps - k)[-1])(u))
    return _report("ch4_k_step_jacobian", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "run K - k steps on lax.stop_gradient(u), "
                              "then k steps on u, and take jax.jacfwd of that function"))


def ch4_memory_slope(update, x0, u, num_steps, w, answer):
    r"""Chapter 4: the bytes of compiled memory that truncated reverse mode saves per
    differentiated step it gives up (:func:`unrolling.profiling.reverse_memory_bytes`).

    Reference: the slope of :func:`unrolling.profiling.reverse_memory_bytes` between
    T' = 0 and T' = K/2; accepted within 5%.
    """
    from .profiling import reverse_memory_bytes
    half = num_steps // 2
    full = reverse_memory_bytes(update, x0, u, num_steps, 0, w)
    reference = (full - reverse_memory_bytes(update, x0, u, num_steps, half, w)) / half
    return _report("ch4_memory_slope", abs(float(answer) - reference) <= 0.05 * reference,
                  "compile reverse_mode for two truncation indices and divide the difference "
                  "of memory_analysis() sizes by the difference of differentiated steps")


def ch4_convergence_order(errors, answer):
    r"""Chapter 4: the order q of convergence shown by an error sequence
    :math:`e_{k+1} \approx c\, e_k^q`, estimated from the last three errors above 1e-13.

    Reference: :math:`q = \log(e_{k+1}/e_k) / \log(e_k/e_{k-1})`; accepted within 0.25.
    """
    e = np.asarray(errors, dtype=float)
    e = e[np.isfinite(e) & (e > 1e-13)][-3:]
    if len(e) < 3:
        raise ValueError("need at least three finite errors above 1e-13")
    reference = np.log(e[2] / e[1]) / np.log(e[1] / e[0])
    return _report("ch4_convergence_order", abs(float(answer) - reference) <= 0.25,
                  "compare log(e_{k+1}/e_k) with log(e_k/e_{k-1}) before rounding errors")


def ch4_curse_start(x0, directions=None, N=40, num_draws=100):
    r"""Chapter 4: a start (array or law ``x0(key, shape)``; optionally a direction law)
    under which App. C's curse appears at N = 40 with step 2/(L+m): the best forward
    truncation is at least 0.6K and halves the final error of T = 0, or better.

    Reference: :func:`unrolling.truncation.truncation_sweep` (medians over the draws).
    """
    from .truncation import truncation_sweep
    res = truncation_sweep(jax.random.PRNGKey(0), N, lambda L, m: 2 / (L + m), x0,
                           num_draws=num_draws, directions=directions)
    ok = res.best_fraction() >= 0.6 and res.forward_final.min() <= 0.5 * res.forward_final[0]
    return _report("ch4_curse_start", ok, f"best T = {res.best_fraction():.1f} K; the curse "
                  "needs a start far from x* along the top eigenvector of A^T A")


# --- Chapter 5: warm-starting and bilevel optimization ----------------------------

def ch5_ridge_hypergradient(A, b, A_val, b_val, u, answer):
    r"""Chapter 5: the exact hypergradient :math:`\nabla h(u)` of the validation loss
    :math:`\tfrac12\|A_{val}x^*(u) - b_{val}\|^2` for ridge with weight :math:`e^u`.

    Reference: ``hypergradient`` of :func:`unrolling.bilevel.ridge_task` (the closed
    forms of :func:`unrolling.problems.ridge` and the chain rule).
    """
    from .bilevel import ridge_task
    reference = np.asarray(ridge_task(A, b, A_val, b_val).hypergradient(jnp.asarray(u)))
    return _report("ch5_ridge_hypergradient", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "chain rule: Dx*(u)^T A_val^T (A_val x* - b_val) "
                              "with Dx*(u) = -e^u (A^T A + e^u I)^{-1} x*(u)"))


def _as_partial(fn):
    """A function as a ``jax.tree_util.Partial`` so that it can be passed to a jitted helper."""
    from jax.tree_util import Partial
    return fn if isinstance(fn, Partial) else Partial(fn)


@jax.jit
def _adjoint_reference(update, outer_loss, x, u):
    grad_x, grad_u = jax.grad(outer_loss, argnums=(0, 1))(x, u)
    return ravel_pytree(grad_u)[0] + implicit_jacobian(update, x, u, w=grad_x)


def ch5_adjoint_hypergradient(update, outer_loss, x, u, answer):
    r"""Chapter 5: the implicit hypergradient at ``x``:
    :math:`\nabla_u\ell + C^\top y` with :math:`(I - B)^\top y = \nabla_x \ell(x, u)`.

    Reference: :func:`unrolling.implicit_jacobian` with the cotangent
    :math:`w = \nabla_x\ell(x, u)`, plus :math:`\nabla_u \ell(x, u)`.
    """
    reference = np.asarray(_adjoint_reference(_as_partial(update), _as_partial(outer_loss),
                                              x, u))
    return _report("ch5_adjoint_hypergradient", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "solve the adjoint system (I - B)^T y = "
                              "grad_x ell with B = d_x A at x, then form C^T y (+ grad_u ell)"))


@partial(jax.jit, static_argnums=4)
def _one_step_reference(update, outer_loss, x0, u, num_steps):
    unravel = ravel_pytree(x0)[1]
    xs = iterate(update, x0, u, num_steps)
    x_prev, x_K = unravel(xs[-2]), unravel(xs[-1])
    grad_x, grad_u = jax.grad(outer_loss, argnums=(0, 1))(x_K, u)
    return ravel_pytree(grad_u)[0] + one_step_jacobian(update, x_prev, u, w=grad_x)


def ch5_one_step_hypergradient(update, outer_loss, x0, u, num_steps, answer):
    r"""Chapter 5: Bolte et al.'s one-step hypergradient (eq. 10) after K = ``num_steps``
    steps from ``x0``: :math:`C_{K-1}^\top \nabla_x\ell(x^{(K)}, u) + \nabla_u\ell(x^{(K)}, u)`.

    Reference: :func:`unrolling.one_step_jacobian` at :math:`x^{(K-1)}` (from
    :func:`unrolling.iterate`) with the cotangent :math:`\nabla_x\ell(x^{(K)}, u)`.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    reference = np.asarray(_one_step_reference(_as_partial(update), _as_partial(outer_loss),
                                               x0, u, int(num_steps)))
    return _report("ch5_one_step_hypergradient", _close_squeezed(answer, reference),
                  _shape_hint(answer, reference, "stop the gradient through all inner steps "
                              "but the last one, then differentiate ell(x^(K), u) in u"))


def ch5_criticality_constants(constants, M, k, answer):
    r"""Chapter 5: the pair (ε, τ = 1/L_h) of Bolte et al.'s Cor. 5 for ``constants`` (a
    dict rho, L_F, L_J, l_g, l_grad), start residual bound M and k inner steps.

    Reference: :func:`unrolling.bounds.one_step_criticality` and
    1 / :func:`unrolling.bounds.one_step_smoothness`.
    """
    from .bounds import one_step_criticality as eps_fn, one_step_smoothness
    reference = np.array([eps_fn(**constants, M=M, k=k), 1.0 / one_step_smoothness(**constants)])
    return _report("ch5_criticality_constants", _close(np.ravel(np.asarray(answer, dtype=float)),
                                                 reference, rtol=1e-6),
                  "ε = ρ/(1-ρ) (L_F l_g + (L_J l_g + L_F l_grad) M ρ^(k-2)); "
                  "τ = 1/L_h, one over the Lipschitz constant of the hypergradient "
                  "(Bolte et al.'s proof of Cor. 5)")


def ch5_transient_peak(rho, answer):
    r"""Chapter 5: the integer k >= 1 maximizing the transient factor :math:`k\rho^{k-1}`.

    Reference: the argmax of :math:`k\rho^{k-1}` evaluated on every k up to well past
    :math:`1/(1-\rho)`; ties (when :math:`1/(1-\rho)` is an integer k, k - 1 and k tie)
    accept both.
    """
    rho = float(rho)
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    k = np.arange(1, int(10 / (1 - rho)) + 2)
    factor = k * rho ** (k - 1.0)
    best = k[np.isclose(factor, factor.max(), rtol=1e-12, atol=0.0)]
    ok = np.ndim(answer) == 0 and float(answer) in best.astype(float)
    return _report("ch5_transient_peak", ok, "compare (k+1) ρ^k with k ρ^(k-1): the factor grows "
                  "while (k+1)/k > 1/ρ")


def ch5_optimal_log_weight(A, b, A_val, b_val, answer, tol=1e-3):
    r"""Chapter 5: the log ridge weight :math:`u^* = \arg\min_u h(u)` on validation data,
    to ``tol``.

    Reference: :func:`unrolling.bilevel.outer_minimizer` (the zero of the closed-form
    hypergradient of :func:`unrolling.bilevel.ridge_task`), bracketed around the best
    point of a grid on [-10, 10].
    """
    from .bilevel import evaluate_along, outer_minimizer, ridge_task
    task = ridge_task(A, b, A_val, b_val)
    us = np.linspace(-10.0, 10.0, 65)
    i = int(np.argmin(evaluate_along(task.value, us)))
    reference = outer_minimizer(task.hypergradient, us[max(i - 1, 0)], us[min(i + 1, 64)])
    return _report("ch5_optimal_log_weight", abs(float(answer) - reference) <= tol,
                  "minimize the closed-form validation loss h(u), e.g. on a fine grid or "
                  "by finding the zero of its hypergradient")
