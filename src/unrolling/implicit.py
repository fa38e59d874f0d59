r"""Implicit differentiation in practice (chapter 7, ``book/07_implicit``).

Three experiments, each a function the chapter calls:

* :func:`value_function_errors` — *when unrolling wins* (Ablin, Peyré and Moreau,
  ICML 2020). For a value function :math:`h(u) = \min_x f(x, u)`, Danskin's theorem gives
  :math:`\nabla h(u) = \nabla_u f(x^*(u), u)`. Along gradient-descent iterates
  :math:`x_k(u)` three estimates of it are

  .. math:: g_1(k) = \nabla_u f(x_k, u), \qquad
            g_2(k) = \tfrac{d}{du} f(x_k(u), u)
                   = \nabla_u f(x_k, u) + Dx_k(u)^\top \nabla_x f(x_k, u),

  .. math:: g_3(k) = \nabla_u f(x_k, u) + J(x_k)^\top \nabla_x f(x_k, u), \qquad
            J(x) = -[\nabla^2_{xx} f(x, u)]^{-1}\partial_u\nabla_x f(x, u).

  :math:`g_1` (analytic) errs by :math:`O(\|x_k - x^*\|) = O(\rho^k)`. For :math:`g_2`
  (unrolled), :math:`\nabla_x f(x^*, u) = 0` makes the error a product of two small
  factors (Ablin et al.),

  .. math:: \|g_2(k) - \nabla h(u)\| \le L\,\|Dx_k - Dx^*\|\,\|x_k - x^*\|
            + \tfrac{L_J}{2}\|x_k - x^*\|^2 = O(k\rho^{2k}),

  about the *square* of :math:`g_1`'s error (super-efficiency); :math:`g_3` (implicit)
  errs by :math:`O(\|x_k - x^*\|^2)`, without the factor k.
* :func:`hyperparameter_costs` — *many hyperparameters* (Franceschi et al. 2017): one
  ridge weight per feature, and what forward mode, reverse mode and implicit
  differentiation cost as their number m grows.
* :func:`logistic_task` — a non-quadratic bilevel task (logistic regression tuned on a
  validation loss), with the fields of :func:`unrolling.bilevel.ridge_task`.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from . import _jax, _validate, data, derivatives
from ._adjoints import ConjugateGradientAdjoint, FixedPointAdjoint
from ._bilevel_tasks import _BilevelTask, _gd_step
from .derivatives import Implicit, Unrolled, forward_mode, implicit_from_gradient, iterate
from .methods import gradient_descent, newton_line_search
from .profiling import _compile_all, _median_time, _peak_memory

__all__ = ["value_function_errors", "hyperparameter_costs", "logistic_task", "matched_cost"]

#: Label of the analytic estimate g1 (Danskin's formula at the iterate).
_ANALYTIC = "analytic"
#: Newton steps of the exact inner solutions (quadratic convergence: ample).
_NEWTON_STEPS = 30


# ------------------------------------------------------------ part 1: when unrolling wins
def _newton_solution(f, x, u):
    """x* by :data:`_NEWTON_STEPS` steps of Newton's method with a line search from x."""
    return _jax.run(newton_line_search(f), x, u, _NEWTON_STEPS)


def _estimates(f, x, jacobian, u):
    r"""(g1, g2, g3) at the iterate x with its unrolled Jacobian :math:`Dx_k(u)` (n, p)."""
    g1 = _jax.flat(jax.grad(f, 1)(x, u))
    grad_x = jax.grad(f)(x, u)                                   # -> 0 as x -> x*
    g2 = g1 + jacobian.T @ grad_x                                # chain rule through x_k(u)
    g3 = g1 + _jax.flat(implicit_from_gradient(f, x, u, w=grad_x))
    return g1, g2, g3


@_jax.compiled(0)
def _estimate_errors(f, xs, jacobians, u):
    """(3, K + 1): the errors of g1, g2, g3 along the path (compiled once per f, shapes)."""
    grad_h = _jax.flat(jax.grad(f, 1)(_newton_solution(f, xs[-1], u), u))   # Danskin at x*
    g = jax.vmap(lambda x, J: _estimates(f, x, J, u))(xs, jacobians)
    return jnp.stack([jnp.linalg.norm(g_i - grad_h[None], axis=1) for g_i in g])


def value_function_errors(f, x0, u, num_steps, step_size):
    r"""Errors :math:`\|g_i(k) - \nabla h(u)\|`, k = 0..K, of the three estimates of
    :math:`\nabla h(u)`, :math:`h(u) = \min_x f(x, u)` (Ablin et al. 2020).

    The iterates are gradient descent :math:`x_{k+1} = x_k - \alpha\nabla_x f(x_k, u)`
    from the fixed x0 (α = ``step_size``, e.g. 1/L); :math:`Dx_k(u)` comes from
    :func:`unrolling.forward_mode` (all k in one pass); the reference
    :math:`\nabla h(u) = \nabla_u f(x^*, u)` from a Newton solve started at :math:`x_K`.
    On a strongly convex f with step 1/L: :math:`e_1(k) \sim c\rho^k`, ρ the local
    contraction factor :math:`\max_\lambda|1 - \alpha\lambda|` of
    :math:`\nabla^2_{xx}f(x^*, u)`; :math:`e_2(k) = O(k\rho^{2k})` so
    :math:`\log e_2/\log e_1 \to 2` (slowly, through the factor k);
    :math:`e_3(k) = O(\rho^{2k})`.

    Args:
      f: objective ``f(x, u)``, x a 1-d array, u an array (scalar or vector).
      x0: starting point (1-d array); u: where :math:`\nabla h` is estimated.
      num_steps: K >= 0; step_size: α > 0.

    Returns:
      dict ``"analytic"`` (g1), ``"unrolled"`` (g2), ``"implicit"`` (g3) -> (K + 1,)
      NumPy arrays, for :func:`unrolling.plotting.curves`. Chapter 7.
    """
    K = _validate.num_steps(num_steps)
    x0, u = _validate.floats(x0, "x0"), _validate.floats(u, "u")
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a 1-d array, got shape {x0.shape}")
    update = gradient_descent(f, step_size)
    xs = iterate(update, x0, u, K)                               # (K + 1, n)
    jacobians = forward_mode(update, x0, u, K)                   # (K + 1, n, p)
    errors = np.asarray(_estimate_errors(f, xs, jacobians, u))
    return dict(zip((_ANALYTIC, Unrolled.name, Implicit.name), errors))


# ------------------------------------------------------------ part 2: many hyperparameters
def _per_feature_ridge(A, b, x, u):
    r""":math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac12\sum_j e^{u_j} x_j^2`."""
    r = A @ x - b
    return 0.5 * r @ r + 0.5 * jnp.exp(u) @ (x * x)


def _validation_loss(A_val, b_val, x):
    r""":math:`\ell(x) = \tfrac12\|A_{val}x - b_{val}\|^2`."""
    r = A_val @ x - b_val
    return 0.5 * r @ r


def _hypergradients(A, b, A_val, b_val, num_steps):
    r"""The three computations of :math:`\nabla_u \ell(x_K(u))`, each a function of u.

    Gradient descent from 0 with step :math:`1/(\|A\|_2^2 + 1)`, safe for u <= 0:

    * ``"forward"``: the full Jacobian :math:`Dx_K(u)` (m JVPs,
      :func:`unrolling.forward_mode`), then :math:`Dx_K^\top\nabla\ell(x_K)`;
    * ``"reverse"``: one VJP of :math:`u \mapsto \ell(x_K(u))` through the K steps;
    * ``"implicit"``: :math:`x_K`, then one adjoint solve
      :math:`-(\partial_u\nabla_x f)^\top[\nabla^2_{xx} f]^{-1}\nabla\ell(x_K)`
      (:func:`unrolling.derivatives.implicit_from_gradient`).
    """
    f = Partial(_per_feature_ridge, A, b)
    update = gradient_descent(f, 1.0 / (float(np.linalg.norm(A, 2)) ** 2 + 1.0))
    x0 = np.zeros(A.shape[1])
    grad_loss = jax.grad(Partial(_validation_loss, A_val, b_val))

    def solve(u):
        return _jax.run(update, x0, u, num_steps)

    def forward(u):
        return forward_mode(update, x0, u, num_steps)[-1].T @ grad_loss(solve(u))

    def implicit(u):
        x = solve(u)
        return implicit_from_gradient(f, x, u, w=grad_loss(x))

    return {"forward": forward,
            "reverse": jax.grad(lambda u: _validation_loss(A_val, b_val, solve(u))),
            Implicit.name: implicit}


class _Costs(NamedTuple):
    r"""Costs of the three hypergradients at ``ms[i]`` hyperparameters (one entry per m).

    ``seconds`` and ``bytes`` map ``"forward"``, ``"reverse"``, ``"implicit"`` to
    arrays of shape (len(ms),): median wall time and compiled memory
    (:func:`unrolling.profiling._peak_memory`, deterministic). ``gaps`` maps
    ``"reverse"`` and ``"implicit"`` to the relative difference
    :math:`\|g - g_{forward}\|_\infty / \|g_{forward}\|_\infty` at each m.
    """
    ms: np.ndarray
    seconds: dict
    bytes: dict
    gaps: dict


def hyperparameter_costs(ms, num_steps, key, num_train=100, num_val=100, repeats=3,
                         workers=2):
    r"""Time and memory of the hypergradient of a validation loss in m ridge weights.

    Data: one draw ``(A, b, A_val, b_val)`` of
    :func:`unrolling.data.synthetic_regression` with ``num_train`` and ``num_val`` rows
    and max(ms) features (from ``key``); for each m in ``ms`` the first m features (the
    others act as noise). The inner problem
    :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac12\sum_{j=1}^m e^{u_j}x_j^2` at u = 0
    solved by K = ``num_steps`` gradient steps from 0, and the outer loss
    :math:`\ell(x) = \tfrac12\|A_{val}x - b_{val}\|^2`. The hypergradient
    :math:`\nabla_u\ell(x_K(u)) \in \mathbb R^m` by

    * forward mode: m JVPs carried through the K steps, time :math:`\propto K m\, C_F`,
      memory :math:`\propto nm` (Franceschi et al. 2017, "forward-HG");
    * reverse mode: one VJP, time :math:`\propto K C_F`, memory :math:`\propto Kn`
      (the stored iterates; "reverse-HG");
    * implicit: solve, then one linear system with the Hessian (:math:`n^3`),
      memory :math:`\propto n^2` (Pedregosa 2016),

    each compiled once (:func:`unrolling.profiling._compile_all`), timed by
    :func:`unrolling.profiling._median_time` and measured by
    :func:`unrolling.profiling._peak_memory`.

    Returns:
      A :class:`_Costs` table. Wall times vary between runs and machines; bytes do
      not. Chapter 7.
    """
    ms = [_validate.num_steps(m, "ms[i]") for m in ms]
    if not ms or min(ms) < 1:
        raise ValueError(f"ms must be a non-empty list of ints >= 1, got {ms}")
    K = _validate.num_steps(num_steps)
    A, b, A_val, b_val = map(np.asarray, data.synthetic_regression(key, num_train, num_val,
                                                                   max(ms)))
    jobs = [(m, name, fn, np.zeros(m)) for m in ms for name, fn in
            _hypergradients(A[:, :m], b, A_val[:, :m], b_val, K).items()]
    programs = _compile_all([(fn, u) for _, _, fn, u in jobs], workers)
    seconds, memory, values = {}, {}, {}
    for (_, name, _, u), compiled in zip(jobs, programs):
        seconds.setdefault(name, []).append(_median_time(compiled, u, repeats=repeats))
        memory.setdefault(name, []).append(_peak_memory(compiled))
        values.setdefault(name, []).append(np.asarray(compiled(u)))
    gaps = {name: np.array([np.max(np.abs(g - g0)) / np.max(np.abs(g0))
                            for g, g0 in zip(values[name], values["forward"])])
            for name in ("reverse", Implicit.name)}
    return _Costs(np.asarray(ms), {k: np.asarray(v) for k, v in seconds.items()},
                  {k: np.asarray(v) for k, v in memory.items()}, gaps)


# ------------------------------------------------------------ part 3: a logistic bilevel task
def _logistic_objective(A, y, x, u):
    r""":math:`\sum_i \log(1 + e^{-y_i a_i^\top x}) + \tfrac{e^u}{2}\|x\|^2`
    (:func:`unrolling.problems.logistic_regression`)."""
    return jnp.sum(jnp.logaddexp(0.0, -y * (A @ x))) + 0.5 * jnp.exp(u) * x @ x


def _logistic_loss(A_val, y_val, x, u):
    r"""Validation logistic loss :math:`\sum_i \log(1 + e^{-y_i a_i^\top x})` (u unused)."""
    return jnp.sum(jnp.logaddexp(0.0, -y_val * (A_val @ x)))


@jax.jit
def _logistic_x_star(A, y, u):
    """x*(u) by Newton's method with a line search from 0 (:data:`_NEWTON_STEPS` steps)."""
    f = Partial(_logistic_objective, A, y)
    return _newton_solution(f, jnp.zeros(A.shape[1], A.dtype), u)


@jax.jit
def _logistic_hypergradient(A, y, A_val, y_val, u):
    x = _logistic_x_star(A, y, u)
    w = jax.grad(_logistic_loss, argnums=2)(A_val, y_val, x, u)
    return implicit_from_gradient(Partial(_logistic_objective, A, y), x, u, w=w)


@jax.jit
def _logistic_value(A, y, A_val, y_val, u):
    return _logistic_loss(A_val, y_val, _logistic_x_star(A, y, u), u)


def _labels(y, name):
    """y as a float array of ±1 labels (ValueError naming the argument otherwise)."""
    y = jnp.asarray(y, dtype=float)
    if not bool(jnp.all(jnp.abs(y) == 1.0)):
        raise ValueError(f"{name} must hold labels -1 and +1 only")
    return y


def logistic_task(A, y, A_val, y_val, max_log_weight=0.0):
    r"""Tune the log-weight u of L2-regularized logistic regression on validation data.

    Inner: :math:`f(x, u) = \sum_i \log(1 + e^{-y_i a_i^\top x}) + \tfrac{e^u}{2}\|x\|^2`
    (:func:`unrolling.problems.logistic_regression`), labels ±1, solved by gradient descent
    with the step :math:`1/L_{max}`, :math:`L_{max} = \|A\|_2^2/4 + e^{u_{max}}`
    (:math:`u_{max}` = ``max_log_weight``): since
    :math:`e^u I \preceq \nabla^2_{xx} f \preceq (\|A\|_2^2/4 + e^u) I`, the step
    contracts for every :math:`u \le u_{max}` (and a little beyond). Outer: the validation
    logistic loss :math:`\ell(x) = \sum_i \log(1 + e^{-y^{val}_i a^{val\top}_i x})`.
    Exact pieces: :math:`x^*(u)` by Newton's method with a line search from 0
    (30 steps), and the implicit function theorem at :math:`x^*`,

    .. math:: \nabla h(u) = -(\partial_u\nabla_x f)^\top[\nabla^2_{xx} f]^{-1}\nabla\ell(x^*),
              \qquad \partial_u\nabla_x f = e^u x^*.

    Data, e.g. ``data.two_gaussians`` split in two, or scikit-learn's breast cancer with
    :func:`unrolling.data.standardized_split` (labels: the sign of its standardized
    targets). u is a scalar. Returns the :class:`unrolling.bilevel._BilevelTask` of
    :func:`unrolling.bilevel.ridge_task` (fields ``update``, ``outer_loss``, ``x_star``,
    ``hypergradient``, ``value``), usable by :func:`unrolling.bilevel.hypergradient_descent`.
    Chapter 7.
    """
    A, A_val = jnp.asarray(A, dtype=float), jnp.asarray(A_val, dtype=float)
    y, y_val = _labels(y, "y"), _labels(y_val, "y_val")
    if A.ndim != 2 or y.shape != A.shape[:1] or A_val.ndim != 2 \
            or A_val.shape[1] != A.shape[1] or y_val.shape != A_val.shape[:1]:
        raise ValueError("need A (M, N), y (M,), A_val (M_val, N), y_val (M_val,); got "
                         f"{A.shape}, {y.shape}, {A_val.shape}, {y_val.shape}")
    alpha = 1.0 / (jnp.linalg.norm(A, 2) ** 2 / 4.0 + jnp.exp(float(max_log_weight)))
    return _BilevelTask(update=Partial(_gd_step, Partial(_logistic_objective, A, y), alpha),
                        outer_loss=Partial(_logistic_loss, A_val, y_val),
                        x_star=Partial(_logistic_x_star, A, y),
                        hypergradient=Partial(_logistic_hypergradient, A, y, A_val, y_val),
                        value=Partial(_logistic_value, A, y, A_val, y_val))


# --------------------------------------------------------------------- ITD against AID
#: Labels of :func:`matched_cost`, in the course's estimator vocabulary.
MATCHED_LABELS = ("unrolled (ITD)", "adjoint, fixed point (AID-FP)", "adjoint, CG (AID-CG)")


def matched_cost(task, x0, u, steps):
    r"""Hypergradient errors at matched cost (Grazzi et al. 2020), for each budget t in
    ``steps`` (ints >= 1): t inner steps of ``task.update`` from ``x0``, then

    * ITD: reverse mode through the t steps, :math:`
abla_u\ell + Dx^{(t)	op}
abla_x\ell`
      (computed for all t at once by forward mode along u, which gives the same
      derivative; u a scalar or a short vector);
    * AID-FP / AID-CG: t fixed-point / conjugate-gradient steps on the adjoint system
      :math:`(I - B)^	op y = 
abla_x\ell` at :math:`x^{(t)}`
      (:class:`unrolling.FixedPointAdjoint`, :class:`unrolling.ConjugateGradientAdjoint`),
      then :math:`
abla_u\ell + C^	op y`,

    each against ``task.hypergradient(u)``. ``task`` has the fields of
    :func:`unrolling.bilevel.ridge_task`. Returns dict label -> (len(steps),) errors
    (labels :data:`MATCHED_LABELS`). Chapter 7.
    """
    steps = [_validate.num_steps(t, "steps[i]") for t in steps]
    if not steps or min(steps) < 1:
        raise ValueError(f"steps must be ints >= 1, got {steps}")
    K = max(steps)
    xs = derivatives.iterate(task.update, x0, u, K)
    jacobians = derivatives.forward_mode(task.update, x0, u, K)
    reference = np.ravel(np.asarray(task.hypergradient(u)))
    grads = jax.jit(jax.grad(task.outer_loss, argnums=(0, 1)))
    out = {label: [] for label in MATCHED_LABELS}
    for t in steps:
        g_x, g_u = grads(xs[t], u)
        g_u = np.ravel(np.asarray(g_u))
        estimates = (g_u + np.asarray(jacobians[t]).T @ np.asarray(g_x),
                     g_u + np.asarray(FixedPointAdjoint(t).adjoint(task.update, xs[t], u, g_x)[0]),
                     g_u + np.asarray(ConjugateGradientAdjoint(t).adjoint(task.update, xs[t], u,
                                                                          g_x)[0]))
        for label, d in zip(MATCHED_LABELS, estimates):
            out[label].append(float(np.linalg.norm(d - reference)))
    return {label: np.asarray(v) for label, v in out.items()}
