r"""Update maps :math:`\mathcal A(x, u)` of iterative solvers (chapters 1, 3, 4, 6).

Each factory takes the inner objective ``f(x, u)`` and returns a map
``update(x, u)`` for :func:`unrolling.iterate` and the derivative estimators.
Methods with memory (heavy ball, Chebyshev, Sobolev) act on a phase-space state whose
first component is the current iterate, so ``iterate(...)[:, :n]`` is the path
of :math:`x^{(k)}`.
"""
import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from . import _jax, _validate

__all__ = ["gradient_descent", "heavy_ball", "newton", "newton_line_search",
           "chebyshev", "sobolev", "power_map"]


def _axpy(a, x, y):
    """a * x + y over pytrees."""
    return jax.tree.map(lambda xi, yi: a * xi + yi, x, y)


def _floats(x, u):
    """The state and parameters as float arrays: an update map called directly with
    integers or lists gives the answer of the float call."""
    return _validate.floats(x, "x"), _validate.floats(u, "u")


def gradient_descent(f, step_size):
    r"""Gradient step :math:`\mathcal A_\alpha(x, u) = x - \alpha \nabla_x f(x, u)`.

    A contraction with factor :math:`\rho(\alpha) = \max_\lambda |1 - \alpha\lambda|`
    over the Hessian's spectrum when f is strongly convex and smooth (chapter 1).
    """
    _validate.positive(step_size, "step_size")
    grad = jax.grad(f)

    def update(x, u):
        x, u = _floats(x, u)
        return _axpy(-step_size, grad(x, u), x)
    return update


def heavy_ball(f, step_size, momentum):
    r"""Polyak's heavy ball in phase space, on the pair ``z = (x1, x2)``:

    .. math:: (x_1, x_2) \mapsto (x_1 - \alpha \nabla f(x_1, u) + \beta (x_1 - x_2),\; x_1).

    Its Jacobian has spectral radius < 1 for suitable (α, β) although the map is
    not a contraction in norm (Mehmood et al. Remark 1; chapter 1).
    """
    _validate.positive(step_size, "step_size")
    _validate.in_range(momentum, "momentum", 0.0, 1.0, high_open=True)
    gd = gradient_descent(f, step_size)

    def update(z, u):
        (x1, x2), u = _floats(z, u)
        momentum_term = jax.tree.map(lambda a, b: momentum * (a - b), x1, x2)
        return (jax.tree.map(jnp.add, gd(x1, u), momentum_term), x1)
    return update


def newton(f, step_size=1.0):
    r"""Newton step :math:`x - \alpha\, [\nabla_x^2 f(x, u)]^{-1} \nabla_x f(x, u)`.

    With α = 1 it converges quadratically near a strongly convex minimizer and
    :math:`\partial_x \mathcal A = 0` at the fixed point, which makes the one-step
    estimator exact there (Bolte et al. Cor. 2; chapters 1 and 4).
    """
    _validate.positive(step_size, "step_size")

    def update(x, u):
        x, u = _floats(x, u)
        x_flat, unravel = ravel_pytree(x)
        f_flat = lambda y: f(unravel(y), u)  # noqa: E731
        direction = jnp.linalg.solve(jax.hessian(f_flat)(x_flat), jax.grad(f_flat)(x_flat))
        return unravel(x_flat - step_size * direction)
    return update


def chebyshev(f, L, mu):
    r"""Chebyshev semi-iterative method for a quadratic with spectrum in [mu, L].

    With :math:`\rho = (L - \mu)/(L + \mu)`: :math:`x_1 = x_0 - \tfrac{2}{L+\mu}\nabla f(x_0)`,
    :math:`\omega_0 = 2`, :math:`\omega_t = 1/(1 - \rho^2 \omega_{t-1}/4)`,
    :math:`h_t = 2\omega_t/(L+\mu)`, :math:`m_t = \omega_t - 1`, and
    :math:`x_{t+1} = x_t - h_t \nabla f(x_t) + m_t (x_t - x_{t-1})`.
    Its residual polynomial is the shifted, normalized Chebyshev polynomial
    (Scieur et al. eq. 10; chapter 3).

    Returns ``(update, init)``: ``init(x0)`` builds the state ``(x_t, x_{t-1}, s)``,
    where ``s`` carries the ω recursion (``s = 0`` marks the first step).
    """
    _spectrum_bounds(L, mu)
    rho = (L - mu) / (L + mu)
    grad = jax.grad(f)

    def update(z, u):
        (x, x_prev, s), u = _floats(z, u)
        first = s == 0
        omega = jnp.where(first, 1.0, 1.0 / (1.0 - rho**2 * s / 4.0))
        h, m = 2.0 * omega / (L + mu), omega - 1.0
        x_next = jax.tree.map(lambda xi, gi, pi: xi - h * gi + m * (xi - pi),
                              x, grad(x, u), x_prev)
        return (x_next, x, jnp.where(first, 2.0, omega))

    def init(x0):
        x0 = _validate.floats(x0, "x0")
        return (x0, x0, jnp.zeros((), jax.tree.leaves(x0)[0].dtype))
    return update, init


def _spectrum_bounds(L, mu):
    """Check 0 < mu < L (each checked where concrete; traced values pass through)."""
    _validate.positive(mu, "mu")
    _validate.positive(L, "L")
    L_value, mu_value = _validate._concrete(L), _validate._concrete(mu)  # None if traced
    if L_value is not None and mu_value is not None and L_value <= mu_value:
        raise ValueError(f"L must be > mu, got L={L_value}, mu={mu_value}")


def _polyak(L, mu):
    r"""Polyak's heavy-ball step and momentum on the spectrum [mu, L]:
    :math:`h = \big(\tfrac{2}{\sqrt L + \sqrt\mu}\big)^2`,
    :math:`m = \big(\tfrac{\sqrt L - \sqrt\mu}{\sqrt L + \sqrt\mu}\big)^2`."""
    sL, smu = L**0.5, mu**0.5
    return (2.0 / (sL + smu)) ** 2, ((sL - smu) / (sL + smu)) ** 2


def sobolev(f, L, mu):
    r"""The asymptotic Sobolev method of Scieur et al. (eqs. 16-17), a weighted average
    of heavy-ball iterates, for a quadratic with spectrum in [mu, L] (chapter 6):

    .. math:: y_t = y_{t-1} - h\nabla f(y_{t-1}) + m(y_{t-1} - y_{t-2}), \qquad
              x_t = y_t + m(x_{t-1} - y_{t-2}),

    with Polyak's :math:`h = (2/(\sqrt L + \sqrt\mu))^2` and
    :math:`m = ((\sqrt L - \sqrt\mu)/(\sqrt L + \sqrt\mu))^2`. Eq. 16 as printed
    *adds* the gradient; a descent step subtracts it (with the printed sign the
    iterates diverge: ``tests/test_methods.py``). Eq. 17 is used as printed, with
    :math:`y_{t-2}`; with :math:`y_{t-1}` it would be heavy ball itself
    (:math:`x_t - y_t = m(x_{t-1} - y_{t-1}) = m^t(x_0 - y_0) = 0`).

    Initial conditions :math:`y_{-1} = y_0 = x_0` (heavy ball's) and :math:`x_0` the
    start. Then the heavy-ball residual :math:`Q_t` has :math:`Q_{-1} = Q_0 = 1`, and the
    residual polynomial of :math:`x_t`, :math:`P_t = Q_t + m(P_{t-1} - Q_{t-2})` from
    :math:`P_0 = 1` (so :math:`P_1 = Q_1`), has :math:`P_t(0) = 1` for all t
    (:func:`unrolling.polynomials.sobolev_residual`).

    Returns ``(update, init)``: ``init(x0)`` builds the state :math:`(x_t, y_t, y_{t-1})`
    = ``(x0, x0, x0)``; its first component is the current iterate.
    """
    _spectrum_bounds(L, mu)
    h, m = _polyak(L, mu)
    grad = jax.grad(f)

    def update(z, u):
        (x, y, y_prev), u = _floats(z, u)
        y_next = jax.tree.map(lambda yi, gi, pi: yi - h * gi + m * (yi - pi),
                              y, grad(y, u), y_prev)
        x_next = jax.tree.map(lambda yn, xi, pi: yn + m * (xi - pi), y_next, x, y_prev)
        return (x_next, y_next, y)

    def init(x0):
        x0 = _validate.floats(x0, "x0")
        return (x0, x0, x0)
    return update, init


def power_map(update, k):
    r"""The composed map :math:`F^k: (x, u) \mapsto F(\cdots F(x, u) \cdots, u)` (k times).

    If F is a ρ-contraction in x, :math:`F^k` is a :math:`\rho^k`-contraction, and the
    one-step estimator of :math:`F^k` is the k-step truncated estimator of F (Bolte et
    al., remark after Corollary 1). Chapter 4.
    """
    k = _validate.num_steps(k, "k")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return lambda x, u: _jax.run(update, x, u, k)


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
