r"""Error curves that show (or do not show) the curse of unrolling (chapter 3).

For an update map :math:`\mathcal A` and a problem with known :math:`x^*(u)` and
:math:`Dx^*(u)`, the chapter compares three sequences (Mehmood et al. Sec. 3):

* the iterate errors :math:`e^{(k)} = \|x^{(k)} - x^*\|`;
* the forward-mode errors :math:`\dot e^{(k)} = \|\dot X^{(k)} - Dx^*\|`, whose largest
  value is at :math:`\dot k = \arg\max_k \dot e^{(k)}`;
* the reverse-mode errors :math:`\bar e^{(k)} = \|\bar U_K^{(k)} - Dx^*\|` of one backward
  sweep from K down to k, smallest at :math:`\bar k = \arg\min_k \bar e^{(k)}`.

Methods with memory (heavy ball, Chebyshev) iterate on a state whose flattened
form starts with the current iterate: the first n entries are used.

Speed: a chapter calls these functions many times. The ``quadratic_*`` and
``huber_*`` functions are jit-compiled once per shape (data, start, step and
parameter are traced arguments) and return NumPy arrays, so that post-processing
in a notebook cell triggers no further compilation; the helpers that take a
:class:`unrolling.problems.Problem` compile their whole computation as one program.
"""
import functools
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import _validate, bounds, data, problems
from ._jax import FAST_COMPILE
from .derivatives import forward_mode, iterate, reverse_mode
from .errors import derivative_errors, iterate_errors
from .methods import chebyshev, gradient_descent, heavy_ball


__all__ = ["ErrorCurves", "quadratic_error_curves", "loss_comparison", "with_solution",
           "gd_curves", "hessian_eigenvalues", "quadratic_data",
           "scieur_constants", "eigen_errors", "gd_quadratic_constants",
           "lemma6_ratios", "along_direction", "visibility"]


class ErrorCurves(NamedTuple):
    """Iterate, forward-mode and reverse-mode error sequences, indexed by k = 0..K."""
    iterate: jax.Array
    forward: jax.Array
    reverse: Optional[jax.Array]   # reverse[k] = ē^(k); None when not computed
    objective: jax.Array           # f(x^(k), u) - f(x*, u)
    k_dot: jax.Array               # argmax_k forward[k]
    k_bar: Optional[jax.Array]     # argmin_k reverse[k]


def _error_curves(problem, update, x0, u, num_steps, reverse=True, norm="fro"):
    r"""The three error sequences of one run, with :math:`\dot k` and :math:`\bar k`.

    Args:
      problem: a :class:`unrolling.problems.Problem` (gives :math:`x^*(u)`, :math:`Dx^*(u)`).
      update: the update map; its state may be x itself or a pytree whose flattened
        form starts with x (heavy ball, Chebyshev).
      x0: initial state (or callable ``u -> state``), as for :func:`unrolling.iterate`.
      u: the parameter.
      num_steps: K.
      reverse: also run the reverse sweep (one VJP per state entry and step).
      norm: ``"fro"`` or ``"op"`` for the Jacobian errors.

    Returns:
      :class:`ErrorCurves`; ``reverse[k]`` is :math:`\bar e^{(k)}`, so ``reverse[K]`` is
      :math:`\|Dx^*\|` (constant x0) and ``reverse[0] == forward[K]``. Jit-compatible
      (``num_steps``, ``reverse``, ``norm`` static).
    """
    x_star, jac = jnp.ravel(problem.x_star(u)), problem.jacobian(u)
    n = x_star.size
    xs = iterate(update, x0, u, num_steps)[:, :n]
    e = iterate_errors(xs, x_star)
    fwd = derivative_errors(forward_mode(update, x0, u, num_steps)[:, :n], jac, norm)
    rev = k_bar = None
    if reverse:
        U_bar = reverse_mode(update, x0, u, num_steps)[::-1, :n]   # index k = 0..K
        rev = derivative_errors(U_bar, jac, norm)
        k_bar = jnp.argmin(rev)
    return ErrorCurves(e, fwd, rev, _suboptimality(problem, xs, u), jnp.argmax(fwd), k_bar)


def _gradient_descent_run(f, problem, step_size, momentum, x0, u):
    return gradient_descent(f, step_size), x0


def _heavy_ball_run(f, problem, step_size, momentum, x0, u):
    return heavy_ball(f, step_size, momentum), (x0, x0)


def _chebyshev_run(f, problem, step_size, momentum, x0, u):
    update, init = chebyshev(f, problem.smoothness(u), problem.strong_convexity(u))
    return update, init(x0)


#: How each update-map factory starts on a quadratic: (update, initial state).
_RUNS = {gradient_descent: _gradient_descent_run, heavy_ball: _heavy_ball_run,
         chebyshev: _chebyshev_run}


@functools.partial(jax.jit, static_argnames=("num_steps", "method", "reverse", "problem"),
                   compiler_options=FAST_COMPILE)
def _quadratic_error_curves(H0, c, x0, step_size, num_steps, u, momentum, method, reverse,
                            problem):
    quad = problem(H0, c)
    update, state = _RUNS[method](quad.f, quad, step_size, momentum, x0, u)
    return _error_curves(quad, update, state, u, num_steps, reverse)


def quadratic_error_curves(H0, c, x0, step_size, num_steps, u=0.0, momentum=0.0,
                           method=gradient_descent, reverse=True, problem=problems.quadratic):
    r"""Error curves (:class:`ErrorCurves`) of a method on a quadratic ``problem(H0, c)`` at
    parameter u, as NumPy arrays. Compiled once per shape, ``num_steps``, ``method``,
    ``reverse`` and ``problem``: the data, x0, the step size, u and the momentum are
    traced, so a chapter's many runs share one compilation.

    ``method`` is the update-map factory: :func:`unrolling.methods.gradient_descent`,
    :func:`unrolling.methods.heavy_ball` (from ``(x0, x0)``, with ``momentum``) or
    :func:`unrolling.methods.chebyshev` (on the exact spectrum bounds of the Hessian;
    ``step_size`` and ``momentum`` are then unused).

    ``problem`` is :func:`unrolling.problems.quadratic` (u is the ridge weight, entering
    the Hessian) or :func:`unrolling.problems.target_scale_quadratic` (u scales the
    linear term, so that :math:`\partial_u \nabla_x f = -c` does not depend on x and
    Γ = 0: no curse; chapter 3).
    """
    if method not in _RUNS:
        raise TypeError("method must be one of the factories gradient_descent, heavy_ball, "
                        f"chebyshev (unrolling.methods), got {method!r}")
    if problem not in (problems.quadratic, problems.target_scale_quadratic):
        raise TypeError("problem must be problems.quadratic or problems.target_scale_quadratic,"
                        f" got {problem!r}")
    return jax.device_get(_quadratic_error_curves(
        H0, c, x0, step_size, _validate.num_steps(num_steps), u, momentum, method, reverse,
        problem))


def with_solution(problem, u):
    r"""The problem with :math:`x^*(u)` and :math:`Dx^*(u)` computed once (one compiled
    program) and returned as constants by ``x_star`` / ``jacobian``: valid at this u
    only. Spares every later compiled program the solver of problems without a
    closed form (logistic, Huber)."""
    x_star, jac = jax.jit(lambda u_: (problem.x_star(u_), problem.jacobian(u_)),
                          compiler_options=FAST_COMPILE)(u)
    return problem._replace(x_star=lambda _: x_star, jacobian=lambda _: jac)


def gd_curves(problem, x0, u, step_sizes, num_steps):
    r""":func:`_error_curves` (no reverse sweep) of gradient descent on any problem for
    several step sizes, as one compiled program (a vmap over the steps): a list of
    :class:`ErrorCurves` of NumPy arrays, one per step size. For problems without a
    closed-form solution pass :func:`with_solution` first, so that the solver is not
    compiled in."""
    K = _validate.num_steps(num_steps)

    def run(steps):
        return jax.vmap(lambda h: _error_curves(problem, gradient_descent(problem.f, h), x0, u,
                                               K, reverse=False))(steps)
    steps = jnp.asarray(step_sizes, dtype=jnp.result_type(float))
    out = jax.device_get(jax.jit(run, compiler_options=FAST_COMPILE)(steps))
    return [jax.tree.map(lambda a, i=i: a[i], out) for i in range(steps.shape[0])]


def hessian_eigenvalues(problem, u):
    r"""Eigenvalues (ascending) of :math:`\nabla_x^2 f(x^*(u), u)`, the local curvature at the
    solution, as a NumPy array: for logistic regression they are far inside the global
    bounds, and :math:`2/(\lambda_1 + \lambda_n)` is the step with the fastest local rate."""
    def eigenvalues(u_):
        return jnp.linalg.eigvalsh(jax.hessian(problem.f)(problem.x_star(u_), u_))
    return jax.device_get(jax.jit(eigenvalues, compiler_options=FAST_COMPILE)(u))


@functools.partial(jax.jit, static_argnames=("num_steps", "gamma_steps"),
                   compiler_options=FAST_COMPILE)
def _huber_curves_core(A, b, delta, u, x0, step_size, num_steps, gamma_steps):
    problem = problems.huber_regression(A, b, delta)
    x_star = problem.x_star(u)                         # one Newton solve, shared below
    jac = -jnp.linalg.solve(jax.hessian(problem.f)(x_star, u), x_star)[:, None]
    problem = problem._replace(x_star=lambda _: x_star, jacobian=lambda _: jac)
    update = gradient_descent(problem.f, step_size)
    return (_error_curves(problem, update, x0, u, num_steps, reverse=False),
            _lemma6_ratios(problem, update, x0, u, gamma_steps))


def _huber_curves(A, b, delta, u, x0, step_size, num_steps, gamma_steps=200):
    r"""Gradient descent on :func:`unrolling.problems.huber_regression` ``(A, b, delta)``:
    its :func:`_error_curves` (no reverse sweep) and the measured Lemma 6 ratios
    (:func:`lemma6_ratios`) over the first ``gamma_steps`` iterations, whose maximum is
    the smallest valid Γ along this run. ``delta``, ``u``, ``x0`` and the step are
    traced: one compilation serves every δ (chapter 3, the smoothness factor).
    Returns NumPy arrays.
    """
    return jax.device_get(_huber_curves_core(A, b, delta, u, x0, step_size,
                                        _validate.num_steps(num_steps),
                                        _validate.num_steps(gamma_steps, "gamma_steps")))


def loss_comparison(A, b, u, deltas, num_steps):
    r"""Squared loss against smooth Huber losses, gradient descent from 0 (chapter 3).

    Runs :func:`quadratic_error_curves` on ridge regression ``(A, b)`` and
    :func:`_huber_curves` for each δ in ``deltas``, all at ridge weight u with the same
    step :math:`\alpha = 2/(L + m)`, L and m being the squared loss's curvature bounds
    (L is also a valid bound for every Huber loss, whose curvature is at most the
    squared loss's).

    Returns:
      ``(curves, gammas)``: dict label -> :class:`ErrorCurves`, and dict δ -> the
      measured Γ / α (largest Lemma 6 ratio over the first 200 iterations; exactly 1
      for the squared loss).
    """
    H0, c = A.T @ A, A.T @ b
    eigenvalues = jnp.linalg.eigvalsh(H0)
    step = 2.0 / float(eigenvalues[-1] + eigenvalues[0] + 2 * u)
    x0 = jnp.zeros(A.shape[1], A.dtype)
    # reverse=True only to share the compiled program of the chapter's other runs
    curves = {"squared loss": quadratic_error_curves(H0, c, x0, step, num_steps, u=u)}
    gammas = {}
    for delta in deltas:
        curves[f"Huber, δ = {delta:g}"], ratios = _huber_curves(A, b, delta, u, x0, step,
                                                               num_steps)
        gammas[delta] = float(ratios.max() / step)
    return curves, gammas


def quadratic_data(problem, u=0.0):
    r"""``(H0, c)`` of a ridge-type quadratic :math:`\tfrac12 x^\top(H_0 + uI)x - c^\top x`
    (e.g. :func:`unrolling.problems.spectral_quadratic`), read off its objective at x = 0:
    :math:`H_0 = \nabla_x^2 f(0, u) - uI`, :math:`c = -\nabla_x f(0, u)`."""
    def data(u_):
        x = jnp.zeros_like(jnp.ravel(problem.x_star(u_)))
        eye = jnp.eye(x.size, dtype=x.dtype)
        return jax.hessian(problem.f)(x, u_) - u_ * eye, -jax.grad(problem.f)(x, u_)
    return jax.jit(data, compiler_options=FAST_COMPILE)(u)


def scieur_constants(problem, u, x0):
    r"""``(jac0_err, G)`` of Scieur et al.'s bounds for a constant x0, as floats:
    :math:`\|\partial x_0 - \partial x_*\|_F = \|Dx^*(u)\|_F` and
    :math:`G = \|\partial_u \nabla_x f(x_0, u)\|_F` (for ridge, :math:`G = \|x_0\|`)."""
    def constants(u_):
        mixed = jax.jacfwd(jax.grad(problem.f), 1)(x0, u_)
        return jnp.linalg.norm(problem.jacobian(u_)), jnp.linalg.norm(jnp.ravel(mixed))
    return tuple(float(v) for v in jax.jit(constants, compiler_options=FAST_COMPILE)(u))


def _suboptimality(problem, xs, u):
    r""":math:`f(x^{(k)}, u) - f(x^*(u), u)` for each row of ``xs``
    (Scieur et al. Fig. 1, right)."""
    x_star = problem.x_star(u)
    f_star = problem.f(x_star, u)
    n = jnp.ravel(x_star).size
    return jax.vmap(lambda x: problem.f(x.reshape(x_star.shape), u))(xs[:, :n]) - f_star


@functools.partial(jax.jit, compiler_options=FAST_COMPILE)
def eigen_errors(H, derivs, reference):
    r"""Absolute eigen-components :math:`|v_i^\top(\dot X^{(k)} - Dx^*)|` of scalar-parameter
    Jacobian errors, in the eigenbasis of H (ascending eigenvalues): shape (K+1, n).

    Compared in chapter 3 with the per-eigenvalue prediction of the master identity.
    """
    _, V = jnp.linalg.eigh(jnp.asarray(H))
    diff = jnp.reshape(derivs, (derivs.shape[0], -1)) - jnp.ravel(reference)[None]
    return jnp.abs(diff @ V)


class _Theorem7Constants(NamedTuple):
    """ρ, Γ, e0 and edot0 of Mehmood et al. Thm 7 for one run."""
    rho: jax.Array
    gamma: jax.Array
    e0: jax.Array
    edot0: jax.Array


def gd_quadratic_constants(problem, u, step_size, x0):
    r"""Thm 7 constants of gradient descent on a ridge-type quadratic
    :math:`f(x,u) = \tfrac12 x^\top(H_0 + uI)x - c^\top x` (scalar u, constant x0).

    :math:`\mathcal A(x,u) = x - \alpha((H_0+uI)x - c)`, so
    :math:`D_x\mathcal A = I - \alpha(H_0+uI)` does not depend on x (:math:`M_x = 0`) and :math:`D_u\mathcal A = -\alpha x` is α-Lipschitz
    in x (:math:`M_u = \alpha`): Lemma 6 gives :math:`\Gamma = \alpha` (with equality in
    eq. 17, since :math:`(B_k - B)Dx^* + C_k - C = -\alpha(x^{(k)} - x^*)`).
    :math:`\rho = \max(|1-\alpha m|, |1-\alpha L|)`, :math:`e^{(0)} = \|x_0 - x^*\|`,
    :math:`\dot e^{(0)} = \|Dx^*\|`. Chapter 3.
    """
    def constants(u_):
        L, m = problem.smoothness(u_), problem.strong_convexity(u_)
        x_star = problem.x_star(u_)
        return _Theorem7Constants(
            rho=bounds.gd_contraction(step_size, L, m),
            gamma=jnp.asarray(step_size, dtype=jnp.result_type(float)),
            e0=jnp.linalg.norm(jnp.ravel(x0) - jnp.ravel(x_star)),
            edot0=jnp.linalg.norm(problem.jacobian(u_)))
    return jax.jit(constants, compiler_options=FAST_COMPILE)(u)


def _lemma6_ratios(problem, update, x0, u, num_steps):
    """Traceable body of :func:`lemma6_ratios`."""
    x_star, jac = problem.x_star(u), problem.jacobian(u)          # jac: (n, p)
    u_flat, unravel_u = ravel_pytree(u)
    xs = iterate(update, x0, u, num_steps)[:-1]

    def A(x, u_):
        return jnp.ravel(update(x.reshape(x_star.shape), unravel_u(u_)))

    def residual(x):  # B_k Dx* + C_k - Dx*, one JVP per column of Dx*
        eye = jnp.eye(u_flat.size, dtype=u_flat.dtype)
        cols = jax.vmap(lambda dx, du: jax.jvp(A, (x, u_flat), (dx, du))[1],
                        in_axes=(1, 1), out_axes=1)(jac, eye)
        diff = cols - jac
        return jnp.linalg.norm(diff[:, 0]) if diff.shape[1] == 1 else jnp.linalg.norm(diff, 2)

    return jax.vmap(residual)(xs) / iterate_errors(xs, jnp.ravel(x_star))


def lemma6_ratios(problem, update, x0, u, num_steps):
    r"""Measured :math:`\|(B_k - B)Dx^* + C_k - C\| / e^{(k)}` for k = 0..K-1 (Mehmood Lemma 6).

    Uses :math:`B\,Dx^* + C = Dx^*` at the fixed point, so the numerator is
    :math:`\|B_k Dx^* + C_k - Dx^*\|` (spectral norm), with :math:`B_k, C_k` the partial
    Jacobians of ``update`` at :math:`x^{(k)}`, applied by JVPs. Its supremum is the
    smallest valid Γ along the run. For plain iterations (state = x) only.
    """
    K = _validate.num_steps(num_steps)
    return jax.jit(lambda u_: _lemma6_ratios(problem, update, x0, u_, K),
                   compiler_options=FAST_COMPILE)(u)


def _is_monotone(problem, u, x0, num_steps, step_size):
    """Whether gradient descent's forward-mode error never increases (to rounding)."""
    update = gradient_descent(problem.f, step_size)
    errs = derivative_errors(forward_mode(update, x0, u, num_steps), problem.jacobian(u))
    return jnp.all(jnp.diff(errs) <= 1e-12 * errs[0])


def _monotone_threshold(problem, u, x0, K, num_grid, num_bisections):
    """Traceable body of :func:`_largest_monotone_step`."""
    L = problem.smoothness(u)
    grid = 2.0 / L * jnp.arange(1.0, num_grid + 1) / (num_grid + 1)
    ok = jax.vmap(lambda h: _is_monotone(problem, u, x0, K, h))(grid)
    count = jnp.sum(jnp.cumprod(ok))
    lo = jnp.where(count > 0, grid[jnp.maximum(count - 1, 0)], 0.0)
    hi = jnp.where(count < num_grid, grid[jnp.minimum(count, num_grid - 1)], 2.0 / L)

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        good = _is_monotone(problem, u, x0, K, mid)
        return jnp.where(good, mid, lo), jnp.where(good, hi, mid)

    lo, hi = jax.lax.fori_loop(0, num_bisections, bisect, (lo, hi))
    return lo, hi - lo


def _largest_monotone_step(problem, u, x0, num_steps, num_grid=32, num_bisections=30):
    r"""Largest gradient-descent step h in (0, 2/L) whose forward-mode error
    :math:`\dot e^{(k)}` is non-increasing for k ≤ ``num_steps``.

    Scieur et al. Cor. 2 guarantees monotonicity for :math:`h \le \sqrt2/L` when G = 0;
    a given problem can allow a larger step, since the bound is a worst case over
    spectra. A grid of ``num_grid`` steps finds the first non-monotone one; bisection
    between it and its predecessor refines the threshold. Returns ``(h, tolerance)``
    as floats, the width of the final bracket being the tolerance. The reference of
    :func:`unrolling.checks.ch3_monotone_step` (chapter 3).
    """
    K = _validate.num_steps(num_steps)
    run = jax.jit(lambda u_: _monotone_threshold(problem, u_, x0, K, num_grid,
                                                    num_bisections),
                  compiler_options=FAST_COMPILE)
    return tuple(float(v) for v in run(u))


def _curse_peak(rho):
    r"""The integer k ≥ 1 maximizing the curse term :math:`k\rho^{k}` of Thm 7, ρ in (0, 1).

    Found by direct search over k = 1, 2, ... up to well past the real maximizer
    :math:`1/\log(1/\rho)` (the chapter derives that value; the search does not use it
    except to size the range). The reference of :func:`unrolling.checks.ch3_curse_peak`.
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, low_open=True, high_open=True)
    k = np.arange(1, int(10.0 / -np.log(float(rho))) + 3, dtype=float)
    return int(k[np.argmax(k * float(rho) ** k)])


def along_direction(problem, theta, direction):
    r"""``problem`` restricted to the line :math:`\theta + s w` of its parameter: a
    :class:`unrolling.problems.Problem` in the scalar s (s = 0 is θ), with
    :math:`Dx^*(s) = Dx^*(\theta + sw)\,w`, one column. Chapter 3 differentiates
    :func:`unrolling.problems.weighted_ridge` along a direction w of its per-sample
    weights, so that forward mode carries one tangent instead of one per sample."""
    theta, w = jnp.asarray(theta), jnp.asarray(direction)

    def at(s):
        return theta + s * w
    return problems.Problem(
        lambda x, s: problem.f(x, at(s)), lambda s: problem.x_star(at(s)),
        lambda s: problem.jacobian(at(s)) @ w[:, None],
        lambda s: problem.smoothness(at(s)), lambda s: problem.strong_convexity(at(s)))


def visibility(problem, u):
    r"""The visibility :math:`V` of gradient descent's burn-in from :math:`x^{(0)} = 0`,
    step :math:`2/(L+\mu)`, on a problem quadratic in x, scalar u (chapter 3):

    .. math:: V = \frac{|\eta_L\, x^*_L|}{e\,\mu\,\|Dx^*\|},\qquad
              \eta_L = v_L^\top\,\partial_u\nabla_x^2 f\; v_L,\quad x^*_L = v_L^\top x^*,

    with :math:`v_L` the top eigenvector of :math:`H = \nabla_x^2 f` and μ its smallest
    eigenvalue. The error is driven by :math:`-h\,\partial_u H\,(x^{(k)} - x^*)`; along
    :math:`v_L` its resonant part :math:`h\eta_L\rho^k x^*_L`, summed over k steps, peaks
    at about :math:`|\eta_L x^*_L|/(e\mu)` near :math:`k \approx \kappa/2`. V compares
    that peak with the start :math:`\dot e^{(0)} = \|Dx^*\|`: the burn-in is visible
    when V > 1 and is then about V times the start. For the ridge weight
    (:math:`\partial_u H = I`), :math:`V = |x^*_L|/(e\mu\|H^{-1}x^*\|)`."""
    def ratio(u_):
        x = problem.x_star(u_)
        hessian = lambda v: jax.hessian(problem.f)(x, v)         # noqa: E731
        eigenvalues, vectors = jnp.linalg.eigh(hessian(u_))
        top = vectors[:, -1]
        eta = top @ jax.jacfwd(hessian)(u_) @ top
        return jnp.abs(eta * (top @ x)) / (jnp.e * eigenvalues[0]
                                          * jnp.linalg.norm(problem.jacobian(u_)))
    return float(jax.jit(ratio, compiler_options=FAST_COMPILE)(u))


def _explorer_curves(key, step_scale, log10_cond, init_scale, num_steps=400, dim=20):
    r"""Everything the chapter-3 explorer draws, for gradient descent on a spectral quadratic.

    H has ``dim`` eigenvalues spaced geometrically in :math:`[10^{-c}, 1]`
    (c = ``log10_cond``, so L = 1) and flat-derivative solution weights s; u = 0; step
    :math:`\alpha` = ``step_scale``/L; :math:`x_0 = x^* + \sigma\|x^*\| d` with a random unit
    vector d and σ = ``init_scale`` (σ = 0: exact start, no curse term); ``key`` draws
    the basis Q and d. The solution :math:`x^* = Qs` and :math:`Dx^* = -Q(s/\lambda)` are
    used in closed form. The three slider values may be traced: jit this with
    ``num_steps`` and ``dim`` static so that slider changes never recompile.

    Returns:
      dict of (K+1,) arrays: ``iterate``, ``forward`` (errors), ``iterate_bound``
      (Mehmood eq. 8), ``theorem7`` (Thm 7 with :math:`\Gamma = \alpha`), and scalars
      ``k_dot``, ``rho``.
    """
    key_q, key_d = jax.random.split(key)
    lam = data.geometric_spectrum(1.0, 10.0 ** (-log10_cond), dim)
    s = data.flat_derivative_weights(lam)
    Q, _ = jnp.linalg.qr(jax.random.normal(key_q, (dim, dim)))
    H0 = (Q * lam[None, :]) @ Q.T
    x_star, jac = Q @ s, -(Q @ (s / lam))[:, None]
    problem = problems.quadratic(H0, H0 @ x_star)._replace(
        x_star=lambda _: x_star, jacobian=lambda _: jac)
    d = jax.random.normal(key_d, (dim,))
    x0 = x_star + init_scale * jnp.linalg.norm(x_star) * d / jnp.linalg.norm(d)
    curves = _error_curves(problem, gradient_descent(problem.f, step_scale), x0, 0.0,
                          num_steps, reverse=False)
    rho = bounds.gd_contraction(step_scale, lam[-1], lam[0])
    e0, edot0 = jnp.linalg.norm(x0 - x_star), jnp.linalg.norm(jac)
    k = jnp.arange(num_steps + 1)
    return {"iterate": curves.iterate, "forward": curves.forward, "k_dot": curves.k_dot,
            "iterate_bound": bounds.iterate_bound(k, rho, e0),
            "theorem7": bounds.theorem7(k, rho, step_scale, e0, edot0), "rho": rho}
