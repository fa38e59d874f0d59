r"""One-step differentiation and its relatives (Bolte, Pauwels & Vaiter 2023; chapter 4).

For an iteration :math:`x_{k+1} = F(x_k, \theta)` the one-step estimator of the
Jacobian of the fixed point :math:`\bar x(\theta)` differentiates the *last* step
only (Bolte et al. eq. 4):

.. math:: J^{OS} x_k(\theta) = \partial_\theta F(x_{k-1}, \theta),

which is what ``jax.grad``/``jax.jacfwd`` return for a loop whose first k-1 steps
see ``stop_gradient`` (their Algorithm 3; :func:`truncated_solution` with
``last=1``). Differentiating the last K steps instead is truncated backpropagation
and equals the one-step estimator of the map :math:`F^K` (:func:`power_map`),
whose contraction factor is :math:`\rho^K`.

Also here: Newton's method with a backtracking (Armijo) line search — a jittable
update map with a fixed number of halvings — the weighted logistic regression and
weighted ridge problems of Bolte et al.'s experiments (u = per-sample weights θ),
implicit differentiation of the *gradient* equation :math:`\nabla_x f = 0` (their
Remark 3), the per-iteration errors of the estimators (their Figs. 2 and 4), and
the four timed computations of their Fig. 3.
"""
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _validate, bounds, problems
from .methods import gradient_descent

__all__ = ["truncated_solution", "power_map", "newton_line_search", "implicit_from_gradient",
           "two_gaussians", "weighted_logistic_regression", "weighted_ridge",
           "EstimatorErrors", "estimator_errors", "ridge_estimator_errors", "ridge_one_step_errors",
           "hypergradient_functions", "time_hypergradients"]


def _run(update, x, u, num_steps):
    return lax.fori_loop(0, num_steps, lambda _, x: update(x, u), x)


def truncated_solution(update, x0, num_steps, last=1):
    r"""The map :math:`u \mapsto x^{(K)}(u)` whose derivative only sees the last ``last`` steps.

    The first K - ``last`` iterations run on ``stop_gradient(u)`` (and their output is
    a constant for autodiff), the last ``last`` ones on u; so ``jax.jacfwd`` /
    ``jax.grad`` of the returned function give

    * ``last=1``: the one-step estimator :math:`\partial_u F(x^{(K-1)}, u)` (Bolte et al.
      eq. 4, Algorithm 3);
    * ``last=k``: truncated backpropagation through the last k steps, i.e. late-started
      forward mode with T' = K - k (Mehmood et al. eq. 20, constant x0), which is also
      the one-step estimator of :func:`power_map` (update, k);
    * ``last=K``: full unrolling (for a constant x0).

    Args:
      update: the map (x, u) -> x; x0: initial point (a value: it gets no derivative).
      num_steps: K >= 1; last: number of differentiated steps, in [1, K].

    Returns:
      A function of u. Chapter 4.
    """
    K = _validate.num_steps(num_steps)
    k = _validate.index(last, K, "last")
    if k < 1:
        raise ValueError(f"last must be >= 1, got {k}")

    def solution(u):
        x = _run(update, x0, lax.stop_gradient(u), K - k)      # idle: no derivative
        return _run(update, x, u, k)                           # differentiated steps
    return solution


def power_map(update, k):
    r"""The composed map :math:`F^k: (x, u) \mapsto F(\cdots F(x, u) \cdots, u)` (k times).

    If F is a ρ-contraction in x, :math:`F^k` is a :math:`\rho^k`-contraction, and the
    one-step estimator of :math:`F^k` is the k-step truncated estimator of F (Bolte et
    al., remark after Corollary 1). Chapter 4.
    """
    k = _validate.num_steps(k, "k")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return lambda x, u: _run(update, x, u, k)


def newton_line_search(f, num_halvings=20, armijo=1e-4):
    r"""Newton's method with a backtracking line search, as an update map (x, u) -> x.

    Direction :math:`d = [\nabla_x^2 f]^{-1}\nabla_x f`; step :math:`t = 2^{-j}` for the
    smallest j in {0, ..., ``num_halvings``} with the Armijo condition
    :math:`f(x - t d) \le f(x) - c\, t\, \nabla f^\top d` (c = ``armijo``; a slack of a
    few ulps of f(x) keeps t = 1 once the decrease is below rounding), else the
    smallest t. All candidates are evaluated at once (fixed cost, jittable). The step
    is chosen on ``stop_gradient`` copies of (x, u): it is piecewise constant, and
    autodiff sees the map :math:`x - t\,d(x, u)` with t fixed. Near the solution t = 1
    and the map is Newton's, whose x-Jacobian vanishes at the fixed point (Bolte et al.
    Cor. 3, Example 3). Chapter 4.
    """
    num_halvings = _validate.num_steps(num_halvings, "num_halvings")
    _validate.in_range(armijo, "armijo", 0.0, 0.5, low_open=True, high_open=True)
    steps = 0.5 ** jnp.arange(num_halvings + 1.0)

    def direction(x_flat, f_flat):
        g = jax.grad(f_flat)(x_flat)
        return g, jnp.linalg.solve(jax.hessian(f_flat)(x_flat), g)

    def step_length(x_flat, f_flat):                             # on stopped inputs
        g, d = direction(x_flat, f_flat)
        fx = f_flat(x_flat)
        trial = jax.vmap(lambda t: f_flat(x_flat - t * d))(steps)
        slack = 8 * jnp.finfo(x_flat.dtype).eps * jnp.abs(fx)
        ok = trial <= fx - armijo * steps * (g @ d) + slack
        return steps[jnp.where(ok.any(), jnp.argmax(ok), num_halvings)]

    def update(x, u):
        x_flat, unravel = ravel_pytree(x)
        f_flat = lambda y: f(unravel(y), u)  # noqa: E731
        x_c, u_c = lax.stop_gradient(x_flat), lax.stop_gradient(u)
        t = step_length(x_c, lambda y: f(unravel(y), u_c))
        return unravel(x_flat - t * direction(x_flat, f_flat)[1])
    return update


def implicit_from_gradient(f, x, u, w=None):
    r"""Implicit differentiation of the optimality condition :math:`\nabla_x f(x, u) = 0`:

    .. math:: J^{ID} = -[\nabla_{xx}^2 f(x, u)]^{-1}\,\partial_u \nabla_x f(x, u),

    evaluated at x (ideally the solution). With a cotangent w returns
    :math:`w^\top J^{ID} = -(\partial_u\nabla_x f)^\top y` with :math:`\nabla^2_{xx} f\, y = w`
    (one solve and one VJP). This is the cheap equation for Newton's method (Bolte et
    al. Remark 3), not the fixed point of the Newton map. Arrays x and u. Chapter 4.
    """
    hess = jax.hessian(f)(x, u)
    grad_x = lambda u_: jax.grad(f)(x, u_)  # noqa: E731
    if w is not None:
        y = jnp.linalg.solve(hess, w)                            # symmetric Hessian
        return -jax.vjp(grad_x, u)[1](y)[0]
    mixed = jax.jacfwd(grad_x)(u).reshape(x.size, -1)
    return -jnp.linalg.solve(hess, mixed)


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


def _hessian_bounds(f, x_star):
    def bounds_at(u):
        lam = jnp.linalg.eigvalsh(jax.hessian(f)(x_star(u), u))
        return lam[-1], lam[0]
    return bounds_at


def weighted_logistic_regression(A, y, log_lam=-5.0, num_newton_steps=30):
    r"""Logistic regression with per-sample weights θ (the parameter u) and an intercept.

    .. math:: f(x, \theta) = \sum_i \theta_i \log(1 + e^{-y_i a_i^\top x})
              + \tfrac{\lambda}{2}\|x_{-1}\|^2, \qquad \lambda = e^{\text{log\_lam}},

    where the first column of A is all ones and its coefficient (the intercept) is not
    penalized (Bolte et al. eq. 11, up to the factor 1/2 on the penalty). ``x_star``
    runs :func:`newton_line_search` from 0 and ``jacobian`` applies
    :func:`implicit_from_gradient` there. ``smoothness`` / ``strong_convexity`` are the
    extreme Hessian eigenvalues *at the solution* (local constants). Chapter 4.
    """
    A, y = jnp.asarray(A), jnp.asarray(y)
    if A.ndim != 2 or y.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, n) and y (M,), got {A.shape} and {y.shape}")
    lam = jnp.exp(log_lam)
    penalty = jnp.ones(A.shape[1]).at[0].set(0.0)

    def f(x, theta):
        return theta @ jnp.logaddexp(0.0, -y * (A @ x)) + 0.5 * lam * (penalty * x) @ x

    newton = newton_line_search(f)

    def x_star(theta):
        return _run(newton, jnp.zeros(A.shape[1], A.dtype), theta, num_newton_steps)

    def jacobian(theta):
        return implicit_from_gradient(f, x_star(theta), theta)

    hb = _hessian_bounds(f, x_star)
    return problems.Problem(f, x_star, jacobian, lambda u: hb(u)[0], lambda u: hb(u)[1])


def weighted_ridge(A, y, lam):
    r"""Ridge regression with per-sample weights θ (Bolte et al., Sec. 4):

    .. math:: f(x, \theta) = \tfrac12\sum_i \theta_i (y_i - a_i^\top x)^2 + \tfrac\lambda2\|x\|^2.

    With :math:`H(\theta) = A^\top \mathrm{diag}(\theta) A + \lambda I`:
    :math:`\bar x = H^{-1}A^\top\mathrm{diag}(\theta)y` and, differentiating
    :math:`H\bar x = A^\top \mathrm{diag}(\theta) y` in :math:`\theta_i`,
    :math:`\partial_{\theta_i}\bar x = H^{-1} a_i (y_i - a_i^\top\bar x)`, i.e.
    :math:`J = H^{-1}A^\top\mathrm{diag}(y - A\bar x)`. Chapter 4.
    """
    A, y = jnp.asarray(A), jnp.asarray(y)
    if A.ndim != 2 or y.shape != A.shape[:1]:
        raise ValueError(f"A must be (M, n) and y (M,), got {A.shape} and {y.shape}")
    _validate.positive(lam, "lam")
    eye = jnp.eye(A.shape[1], dtype=A.dtype)

    def f(x, theta):
        r = y - A @ x
        return 0.5 * theta @ r**2 + 0.5 * lam * x @ x

    def hessian(theta):
        return A.T @ (theta[:, None] * A) + lam * eye

    def x_star(theta):
        return jnp.linalg.solve(hessian(theta), A.T @ (theta * y))

    def jacobian(theta):
        return jnp.linalg.solve(hessian(theta), A.T * (y - A @ x_star(theta))[None])

    def curvature(theta):
        lam_ = jnp.linalg.eigvalsh(hessian(theta))
        return lam_[-1], lam_[0]

    return problems.Problem(f, x_star, jacobian, lambda u: curvature(u)[0],
                            lambda u: curvature(u)[1])


class EstimatorErrors(NamedTuple):
    """Per-iteration errors (Frobenius norm) against the true Jacobian, k = 0..K.

    ``iterate`` :math:`\\|x_k - \\bar x\\|`; ``autodiff`` the unrolled Jacobian
    :math:`J_\\theta x_k`; ``implicit`` the implicit estimator at :math:`x_k`;
    ``one_step`` :math:`\\partial_\\theta F(x_{k-1}, \\theta)` (NaN at k = 0);
    ``truncated`` the block-truncated estimator (derivative restarted every ``block``
    steps; equal to the ``block``-step estimator at k = multiples of ``block``, NaN
    elsewhere and when no block is given).
    """
    iterate: np.ndarray
    autodiff: np.ndarray
    implicit: np.ndarray
    one_step: np.ndarray
    truncated: np.ndarray


#: XLA options for the small compiled programs of this module (compile time dominates):
#: see :data:`unrolling.curse.FAST_COMPILE`.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _errors_scan(update, x0, u, num_steps, x_star, jac_star, implicit, block):
    """Traceable body of :func:`estimator_errors` (one scan over k = 0..K)."""
    x_flat, unravel = ravel_pytree(x0)
    A = lambda x, u_: ravel_pytree(update(unravel(x), u_))[0]  # noqa: E731
    n, p = x_flat.size, jac_star.shape[1]
    err = lambda J: jnp.linalg.norm(J - jac_star)  # noqa: E731
    eye = jnp.eye(n, dtype=x_flat.dtype)

    def step(carry, k):                                         # everything at x_k
        x, J, Jt, C_prev = carry
        B, C = jax.jacrev(A, argnums=(0, 1))(x, u)               # n vector-Jacobian products
        C = C.reshape(n, p)
        J_id = jnp.linalg.solve(eye - B, C) if implicit is None else implicit(unravel(x), u)
        restart = k % block == 0                                 # Jt: the last block's steps
        out = (jnp.linalg.norm(x - x_star), err(J), err(J_id),
               jnp.where(k == 0, jnp.nan, err(C_prev)),        # one-step: C_{k-1}
               jnp.where(restart & (k > 0), err(Jt), jnp.nan))
        Jt = jnp.where(restart, 0.0, Jt)
        return (A(x, u), B @ J + C, B @ Jt + C, C), out

    zeros = jnp.zeros((n, p), x_flat.dtype)
    _, outs = lax.scan(step, (x_flat, zeros, zeros, zeros), jnp.arange(num_steps + 1))
    return outs


def estimator_errors(update, x0, u, num_steps, x_star, jac_star, implicit=None, block=None):
    r"""Errors of the four Jacobian estimators along one run, k = 0, ..., K (Bolte Figs. 2, 4).

    One pass: at each :math:`x_k` the partial Jacobians :math:`B_k = \partial_x F(x_k, u)`,
    :math:`C_k = \partial_u F(x_k, u)` (reverse mode, n products); the unrolled autodiff
    Jacobian follows :math:`J_{k+1} = B_k J_k + C_k` (Bolte eq. 2), the one-step estimator
    of :math:`x_{k+1}` is :math:`C_k` (eq. 4), the implicit one at :math:`x_k` is
    :math:`(I - B_k)^{-1} C_k` (eq. 3) or ``implicit(x_k, u)`` if given (e.g.
    :func:`implicit_from_gradient`, the cheaper equation for Newton), and, if ``block``
    is given, the recursion restarted from 0 every ``block`` steps gives the
    ``block``-step (truncated) estimator at k = block, 2 block, ...

    Args:
      update, x0, u: the iteration (x0 a constant array); num_steps: K.
      x_star, jac_star: the solution and its Jacobian (n, p), the reference.
      implicit: optional function (x, u) -> (n, p); block: int >= 1 or None.

    Returns:
      :class:`EstimatorErrors` of NumPy arrays of length K + 1. Chapter 4.
    """
    K = _validate.num_steps(num_steps)
    blk = K + 1 if block is None else _validate.num_steps(block, "block")
    if blk < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    run = jax.jit(lambda u_, xs, js: _errors_scan(update, x0, u_, K, xs, js, implicit, blk),
                  compiler_options=FAST_COMPILE)
    return EstimatorErrors(*(np.asarray(a) for a in run(u, jnp.ravel(x_star),
                                                        jnp.asarray(jac_star))))


@partial(jax.jit, static_argnames="num_steps")
def _ridge_errors(A, y, lam, theta, step, block, *, num_steps):
    problem = weighted_ridge(A, y, lam)
    return _errors_scan(gradient_descent(problem.f, step), jnp.zeros(A.shape[1], A.dtype), theta,
                        num_steps, problem.x_star(theta), problem.jacobian(theta), None, block)


def ridge_estimator_errors(A, y, lam, theta, step_size, num_steps, block):
    r""":func:`estimator_errors` for gradient descent on :func:`weighted_ridge` (Bolte et al.
    Fig. 4), from :math:`x_0 = 0`, with the ``block``-step estimator.

    ``lam``, ``step_size`` and ``block`` may be arrays (broadcast together): the runs
    are then vectorized (one compilation, one pass) and every field of the result has
    a leading axis over the runs.
    """
    K = _validate.num_steps(num_steps)
    lam, step, block = np.broadcast_arrays(np.asarray(lam, float), np.asarray(step_size, float),
                                           np.asarray(block, int))
    if np.any(step <= 0) or np.any(lam <= 0) or np.any(block < 1):
        raise ValueError("lam and step_size must be > 0 and block >= 1")
    run = jax.vmap(partial(_ridge_errors, num_steps=K), in_axes=(None, None, 0, None, 0, 0))
    out = run(jnp.asarray(A), jnp.asarray(y), lam.ravel(), jnp.asarray(theta), step.ravel(),
              block.ravel())
    return EstimatorErrors(*(np.asarray(a).reshape(lam.shape + (K + 1,)) for a in out))


def _op_norm(M):
    """Spectral norm of a wide matrix via the eigenvalues of the small Gram matrix M M^T."""
    return jnp.sqrt(jnp.maximum(jnp.linalg.eigvalsh(M @ M.T)[-1], 0.0))


@partial(jax.jit, static_argnames="max_power")
def _ridge_one_step(A, y, theta, lam, step, k, *, max_power):
    r"""Measured one-step error of F^k at the solution and Corollary 1, for traced (λ, α, k).

    At the fixed point every iterate equals x̄, so the one-step estimator of F^k is
    :math:`\sum_{i<k} B^i C` with B, C the partial Jacobians of F at x̄: the forward
    recursion M <- B M + C run k times (a fixed-length loop, masked after k steps).
    """
    problem = weighted_ridge(A, y, lam)
    x_bar, J = problem.x_star(theta), problem.jacobian(theta)
    B, C = jax.jacrev(gradient_descent(problem.f, step), argnums=(0, 1))(x_bar, theta)
    M = lax.fori_loop(0, max_power, lambda i, M: jnp.where(i < k, B @ M + C, M), 0 * C)
    eig = jnp.linalg.eigvalsh(A.T @ (theta[:, None] * A) + lam * jnp.eye(A.shape[1]))
    rho = jnp.max(jnp.abs(1 - step * eig)) ** k                # contraction factor of F^k
    return _op_norm(M - J), bounds.one_step_bound(rho, _op_norm(M), 0.0, 0.0), rho


def ridge_one_step_errors(A, y, theta, lam, step_size, power=1):
    r"""Bolte et al. Corollary 1 against the measured one-step error, weighted ridge by GD.

    For each (λ, α, K) of the broadcast arguments, F is the gradient step with step α
    on :func:`weighted_ridge` (A, y, λ) and the estimator is the one-step estimator of
    :math:`F^K` (the K-step truncated estimator of F) at the solution :math:`\bar x`:
    :math:`\partial_\theta F^K(\bar x, \theta)`, by the forward recursion through the K
    steps (which all stay at :math:`\bar x`).
    The bound is :func:`unrolling.bounds.one_step_bound` with
    :math:`\tilde\rho = \max_\lambda|1 - \alpha\lambda|^K` over the Hessian's spectrum,
    :math:`L_F = \|\partial_\theta F^K(\bar x, \theta)\|_{op}` (the norm Lemma 2 uses) and
    :math:`\|x_{k-1} - \bar x\| = 0`. One compilation for all the pairs.

    Returns:
      ``(measured, bound, rho)``: NumPy arrays (operator norms; ρ of :math:`F^K`). Chapter 4.
    """
    lam, step, power = np.broadcast_arrays(np.asarray(lam, float), np.asarray(step_size, float),
                                           np.asarray(power, int))
    if np.any(power < 1) or np.any(step <= 0) or np.any(lam <= 0):
        raise ValueError("lam and step_size must be > 0 and power >= 1")
    run = jax.vmap(partial(_ridge_one_step, max_power=int(power.max())),
                   in_axes=(None, None, None, 0, 0, 0))
    out = run(jnp.asarray(A), jnp.asarray(y), jnp.asarray(theta), lam.ravel(), step.ravel(),
              power.ravel())
    return tuple(np.asarray(a).reshape(lam.shape) for a in out)


def hypergradient_functions(f, update, x0, num_steps, outer=None):
    r"""The four computations timed in Bolte et al.'s Fig. 3, as functions of θ.

    With :math:`g(x) = \tfrac12\|x\|^2` (or ``outer``):

    * ``"solve"``: :math:`x_K(\theta)` only;
    * ``"autodiff"``: :math:`\nabla_\theta\, g(x_K(\theta))` by reverse mode through all K steps;
    * ``"implicit"``: solve, then :math:`-(\partial_\theta\nabla_x f)^\top [\nabla^2_{xx}f]^{-1}\nabla g(x_K)`
      (:func:`implicit_from_gradient` with a cotangent);
    * ``"one_step"``: reverse mode through :func:`truncated_solution` (last = 1).

    Returns:
      dict name -> function of θ (jit them). Chapter 4.
    """
    outer = (lambda x: 0.5 * x @ x) if outer is None else outer
    solve = truncated_solution(update, x0, num_steps, last=num_steps)
    one_step = truncated_solution(update, x0, num_steps, last=1)

    def implicit(theta):
        x = lax.stop_gradient(solve(theta))
        return implicit_from_gradient(f, x, theta, w=jax.grad(outer)(x))

    return {"solve": solve,
            "autodiff": jax.grad(lambda th: outer(solve(th))),
            "implicit": implicit,
            "one_step": jax.grad(lambda th: outer(one_step(th)))}


def time_hypergradients(cases, num_steps, repeats=5, workers=2):
    r"""Wall time of the four :func:`hypergradient_functions` for each problem (Bolte Fig. 3).

    Args:
      cases: list of ``(f, update, x0, theta)``.
      num_steps: solver iterations K; repeats: timed calls per measurement.
      workers: compilations run in this many threads (:func:`unrolling.profiling.compile_all`),
        then every program is timed alone by :func:`unrolling.profiling.median_time`.

    Returns:
      dict name -> list of seconds, one per case. Wall times vary between runs and
      machines. Chapter 4.
    """
    from .profiling import compile_all, median_time
    jobs = [(name, fn, theta) for f, update, x0, theta in cases
            for name, fn in hypergradient_functions(f, update, x0, num_steps).items()]
    programs = compile_all([job[1:] for job in jobs], workers)
    seconds = {}
    for (name, _, theta), program in zip(jobs, programs):
        seconds.setdefault(name, []).append(median_time(program, theta, repeats=repeats))
    return seconds

