r"""Designing iterations for differentiation (chapter 6, part 1): the Sobolev method.

On a quadratic, a first-order method with residual polynomials :math:`P_t` has the
Jacobian error (Scieur et al. Thm 1, the master identity)

.. math:: \partial x_t - \partial x_* = \big(P_t(H) - P_t'(H)H\big)(\partial x_0 - \partial x_*)
          + P_t'(H)\,G,

so with G = 0 its worst case over a spectrum in [mu, L] is
:math:`\max_\lambda |P_t(\lambda) - \lambda P_t'(\lambda)|`. Every such factor is a
polynomial of degree t equal to 1 at λ = 0, hence at least
:math:`2/(\xi^t + \xi^{-t})`, :math:`\xi = (1-\sqrt\kappa)/(1+\sqrt\kappa)`
(Prop. 1; :func:`unrolling.bounds.scieur_lower`). Gradient descent and Chebyshev
pay a burn-in before they decay. The asymptotic Sobolev method
(:func:`unrolling.methods.sobolev`, eq. 17 as printed) averages heavy-ball iterates:
its burn-in is far below heavy ball's, but its residual polynomial tends to
Chebyshev's and its peak is Chebyshev's to within a few per cent (measured in
``tests/test_designing.py``). The limited burn-in belongs to the non-asymptotic
method, whose polynomials :math:`P_t^*` minimize the Sobolev norm
:math:`\int P^2 d\mu + \eta\int P'^2 d\mu` (Prop. 3; μ the Gegenbauer measure, α = 1).
Its recurrence (their App. D) is not reproduced: :math:`P_t^*` is computed from the
definition (:func:`unrolling.polynomials.sobolev_optimal_residual`) and its Jacobian
errors from the master identity. With η = L/μ on Fig. 3's [0.5, 10] its worst-case
factor peaks at 1.67 (t = 7), against Chebyshev's 10.5. η weighs P'² whose scale is
1/(L − μ)²: the same κ with L = 1 peaks at 1.11, with L = 100 at 2.97. Fig. 4's η = 1
on ridge spectra with L from 300 to 8000 weighs P'² by :math:`\eta(2/(L-\mu))^2 \le 4\cdot
10^{-5}`: its peaks are those of the η = 0 (L²(μ)) optimum to four digits, below
Chebyshev's but not limited (measured in ``tests/test_designing.py``).

* :func:`worst_case_rates` — the data of Scieur et al.'s Fig. 3;
* :func:`jacobian_suboptimality` — the data of their Fig. 4 for one ridge problem;
* :func:`ridge_setups` — the three ridge problems of Fig. 4 as this book builds them.
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _adaptive, _validate, bounds, budget, data, polynomials, problems, truncation
from ._appendix_c import _bound_optima, _rotated, _sweep_draws
from ._jax import FAST_COMPILE
from .derivatives import forward_mode
from .errors import derivative_errors
from .methods import _polyak, chebyshev, gradient_descent, sobolev

__all__ = ["worst_case_rates", "jacobian_suboptimality", "ridge_setups", "adaptive_sweep"]

#: Label of the lower bound in :func:`worst_case_rates`.
_LOWER = "lower bound (Prop. 1)"
#: Labels of the non-asymptotic Sobolev method (Prop. 3, α = 1) in Figs. 3 and 4.
_SOBOLEV_FIG3, _SOBOLEV_FIG4 = "Sobolev (η = L/ℓ)", "Sobolev (η = 1)"


def _schedules(L, mu, T):
    r"""``(h_t, m_t)`` of the methods with a three-term recurrence: GD with the short
    and the long step, heavy ball with Polyak's parameters, Chebyshev."""
    return {r"GD, $h = 1/L$": polynomials.gd_coefficients(1.0 / L, T),
            r"GD, $h = 2/(L+\mu)$": polynomials.gd_coefficients(2.0 / (L + mu), T),
            "heavy ball (Polyak)": polynomials.heavy_ball_coefficients(*_polyak(L, mu), T),
            "Chebyshev": polynomials.chebyshev_coefficients(L, mu, T)}


def worst_case_rates(L, mu, num_steps, num_grid=2001):
    r"""Worst-case Jacobian-error factors of Scieur et al.'s Fig. 3 (G = 0), t = 0..T:

    .. math:: r_t = \max_{\lambda \in \Lambda} |P_t(\lambda) - \lambda P_t'(\lambda)|,

    over the grid Λ of ``num_grid`` evenly spaced points of [mu, L] (end points
    included), for gradient descent with steps 1/L and 2/(L + mu), heavy ball
    (Polyak), Chebyshev, the asymptotic Sobolev method, the non-asymptotic one
    (Prop. 3's :math:`P_t^*` with α = 1 and η = L/mu as in the paper's Fig. 3), and the
    lower bound :math:`2/(\xi^t + \xi^{-t})` of Prop. 1.

    Returns:
      dict label -> (T + 1,) NumPy array, for :func:`unrolling.plotting.curves`, with
      the labels ``"GD, $h = 1/L$"``, ``"GD, $h = 2/(L+\mu)$"``,
      ``"heavy ball (Polyak)"``, ``"Chebyshev"``, ``"Sobolev (asymptotic)"``,
      ``"Sobolev (η = L/ℓ)"`` and, last, ``"lower bound (Prop. 1)"``. Chapter 6.
    """
    T = _validate.num_steps(num_steps)
    grid = jnp.linspace(mu, L, _validate.num_steps(num_grid, "num_grid"))
    residuals = {name: polynomials.residual_polynomials(*coeffs, grid)
                 for name, coeffs in _schedules(L, mu, T).items()}
    residuals["Sobolev (asymptotic)"] = polynomials.sobolev_residual(L, mu, T, grid)
    residuals[_SOBOLEV_FIG3] = polynomials.sobolev_optimal_residual(L, mu, T, grid, eta=L / mu)
    rates = {name: np.asarray(polynomials.worst_case_factors(P, dP, grid)[0])
             for name, (P, dP) in residuals.items()}
    rates[_LOWER] = np.asarray(bounds.scieur_lower(np.arange(T + 1), L, mu, 1.0))
    return rates


def _methods(f, L, mu, x0):
    """(update, initial state) of the three methods of Fig. 4."""
    cheb, cheb_init = chebyshev(f, L, mu)
    sob, sob_init = sobolev(f, L, mu)
    return {r"GD, $h = 2/(L+\mu)$": (gradient_descent(f, 2.0 / (L + mu)), x0),
            "Chebyshev": (cheb, cheb_init(x0)),
            "Sobolev (asymptotic)": (sob, sob_init(x0))}


@functools.partial(jax.jit, static_argnames=("num_steps",), compiler_options=FAST_COMPILE)
def _jacobian_errors(A, b, u, x0, num_steps):
    problem = problems.ridge(A, b)
    L, mu = problem.smoothness(u), problem.strong_convexity(u)
    jac, n, one = problem.jacobian(u), x0.size, jnp.ones_like(u)
    out = {}
    for name, (update, state) in _methods(problem.f, L, mu, x0).items():
        err = derivative_errors(forward_mode(update, state, u, num_steps, v=one)[:, :n],
                                jac[:, 0])
        out[name] = err / err[0]
    return out, (L, mu, jac)


def _sobolev_errors(A, u, x0, num_steps, L, mu, jac):
    """Relative Jacobian errors of the non-asymptotic Sobolev method (α = 1, η = 1) by the
    master identity, with ∂x_0 − ∂x_* = −``jac`` and G = x0 (its recurrence, App. D, is
    not reproduced; the identity is checked against forward mode for the other methods)."""
    L, mu = float(L), float(mu)
    err = polynomials.master_identity(
        A.T @ A + u * jnp.eye(x0.size, dtype=A.dtype),
        lambda lam: polynomials.sobolev_optimal_residual(L, mu, num_steps, lam, eta=1.0),
        -jac, x0[:, None])
    norms = np.linalg.norm(np.asarray(err), axis=(1, 2))
    return norms / norms[0]


def jacobian_suboptimality(A, b, u, x0, num_steps):
    r"""Relative Jacobian errors of Scieur et al.'s Fig. 4 on ridge regression
    :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac u2\|x\|^2`, differentiated in u:

    .. math:: \frac{\|\partial x_t - \partial x_*\|_F}{\|\partial x_0 - \partial x_*\|_F},
              \qquad t = 0, \dots, T,

    for gradient descent (step 2/(L + mu)), Chebyshev and the asymptotic Sobolev
    method, each on the exact extreme eigenvalues [mu, L] of :math:`A^\top A + uI`.
    :math:`\partial x_t` is the forward-mode derivative of the iterates
    (:func:`unrolling.forward_mode` through the method's update map, tangent 1 on the
    scalar u, from the
    constant start ``x0``, so :math:`\partial x_0 = 0`); :math:`\partial x_*` the closed
    form :math:`-(A^\top A + uI)^{-1}x_*`. One compiled program per data shape and T.
    The non-asymptotic Sobolev method (α = 1, η = 1, the paper's Fig. 4 caption), whose
    recurrence is not reproduced, comes from the master identity with its polynomials
    (:func:`unrolling.polynomials.master_identity`, G = x0): no iterates, so its tail
    is not held at the rounding floor (about 1e-14) the unrolled methods reach.

    Returns:
      dict label -> (T + 1,) NumPy array (first entry 1), labels
      ``"GD, $h = 2/(L+\mu)$"``, ``"Chebyshev"``, ``"Sobolev (asymptotic)"``,
      ``"Sobolev (η = 1)"``. Chapter 6.
    """
    A, b, x0 = (jnp.asarray(a, dtype=jnp.result_type(float)) for a in (A, b, x0))
    T, u = _validate.num_steps(num_steps), jnp.asarray(u, A.dtype)
    out, spectrum_and_jacobian = _jacobian_errors(A, b, u, x0, T)
    out = {name: np.asarray(v) for name, v in out.items()}
    out[_SOBOLEV_FIG4] = _sobolev_errors(A, u, x0, T, *spectrum_and_jacobian)
    return out


#: Relative ridge weight of :func:`ridge_setups`: u = _RIDGE_SCALE * ||A||_2^2.
_RIDGE_SCALE = 1e-2


def _standardized(X, y):
    """Columns of X and the targets y with zero mean and unit variance (NumPy)."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def _setup(A, b, x0):
    """(A, b, u, x0) as float arrays, with the relative ridge weight u."""
    u = _RIDGE_SCALE * float(np.linalg.norm(A, 2)) ** 2
    return jnp.asarray(A), jnp.asarray(b), u, jnp.asarray(x0)


def ridge_setups(key, synthetic_shape=(100, 80)):
    r"""The three ridge problems of Scieur et al.'s Fig. 4, as ``(A, b, u, x0)`` for
    :func:`jacobian_suboptimality` (dict keyed by data set):

    * **breast cancer** (scikit-learn's bundled copy): standardized features, labels
      mapped to ±1 (chapter 3's problem); L/μ ≈ 101;
    * **diabetes** (bundled; Scieur et al. use *bodyfat*, not available offline):
      standardized features and targets; L/μ ≈ 83;
    * **synthetic**: :math:`H = A^\top A` with :math:`A_{ij} \sim N(0, 1)` of shape
      ``synthetic_shape`` and :math:`b \sim N(0, I)`; L/μ ≈ 70 for (100, 80) and key 0.

    Choices (the paper uses θ = 1e-3 and does not state x0): the ridge weight is
    relative, :math:`u = 10^{-2}\|A\|_2^2` (``_RIDGE_SCALE``), so that L/μ is about
    100 and the burn-ins (GD near κ/2, Chebyshev near √κ) and the tails fit in a few
    hundred iterations; the paper's absolute θ = 1e-3 gives L/μ ≈ 1e5 on breast
    cancer. The start is random, :math:`x_0 \sim N(0, I)`: from :math:`x_0 = 0` the
    ridge weight shows no burn-in on breast cancer (chapter 3,
    :func:`unrolling.curse.visibility`), while a random start has an O(1) component
    along the top eigenvector, which drives the burn-in through :math:`G = x_0`. ``key`` draws every start and the
    synthetic data (one standard normal vector, cut into pieces). Chapter 6.
    """
    from sklearn.datasets import load_breast_cancer, load_diabetes
    M, N = (_validate.num_steps(v, "synthetic_shape") for v in synthetic_shape)
    X, y = load_breast_cancer(return_X_y=True)
    A_bc, b_bc = _standardized(X, y)[0], 2.0 * y - 1.0
    A_di, b_di = _standardized(*load_diabetes(return_X_y=True))
    # one standard normal draw, cut into the three starts and the synthetic A and b
    sizes = [A_bc.shape[1], A_di.shape[1], N, M * N, M]
    z = np.split(np.asarray(jax.random.normal(key, (sum(sizes),))), np.cumsum(sizes)[:-1])
    return {"breast cancer": _setup(A_bc, b_bc, z[0]),
            "diabetes": _setup(A_di, b_di, z[1]),
            "synthetic": _setup(z[3].reshape(M, N), z[4], z[2])}


# --------------------------------------------------------------- part 2: adaptive truncation
class _AdaptiveSweep(NamedTuple):
    """One App. C setting: final derivative errors (medians over draws) of each rule."""
    N: int
    fractions: np.ndarray       # (J,) the fixed T/K
    forward_final: np.ndarray   # (J,) fixed fractions, forward mode
    reverse_final: np.ndarray   # (J,)
    adaptive: tuple             # (forward, reverse) medians of Adaptive()'s final errors
    oracle: tuple               # the same for the eq. (22) index with the true constants
    adaptive_fraction: float    # median T/K chosen by the rule
    oracle_fraction: float      # median T/K of the oracle
    adaptive_memory: float      # median (K - T)/K: iterates the reverse sweep stores, per K
    K: np.ndarray               # (D,) per-draw K
    adaptive_T: np.ndarray      # (D,) per-draw T chosen by the rule

    def ratio(self, mode="forward"):
        """Adaptive()'s median final error over the best fixed fraction's (hindsight)."""
        i = 0 if mode == "forward" else 1
        return float(self.adaptive[i] / getattr(self, f"{mode}_final").min())


@jax.jit
def _choose_all(delta, share, dist0, xnorm, K, omega, scale):
    """:func:`unrolling._adaptive.choose_start` for every draw (one compilation per shape)."""
    return jax.vmap(lambda d, s, e, x, k: _adaptive.choose_start(
        d, s, e, x, k, omega=omega, scale=scale))(delta, share, dist0, xnorm, K)


def _path_observables(r, K_max):
    """The rule's observables along each draw's gradient-descent path, in closed form
    (the eigenbasis is orthogonal, so norms are those of the original coordinates)."""
    k = np.arange(K_max + 1)[None, :, None]
    err = r["beta"][:, None, :] ** k * (r["y0"] - r["y_star"])[:, None, :]
    path = r["y_star"][:, None, :] + err
    return jax.vmap(_adaptive.observables)(jnp.asarray(path))


def adaptive_sweep(key, N, step, x0, *, num_draws=100, M=50, omega=3.0, scale=1.0,
                   fractions=truncation.FRACTIONS, tol=1e-3, max_K=1000):
    r"""Mehmood et al.'s App. C setting (N, step, start; see
    :func:`unrolling.truncation.truncation_sweep`) with two more truncation rules beside the
    fixed fractions T/K: :class:`unrolling.Adaptive` (the rule sees only the iterates;
    ``scale`` is its knob c) and the eq. (22) index with each draw's true constants (an
    oracle). Both reallocate the saved budget like the fixed fractions (ω = ``omega``): the
    rule starts the derivative at :math:`T' = (1+\omega)T`. Final errors only. Chapter 6."""
    A, b, v, w = data.appendix_c_draws(key, num_draws, M, N)
    lam = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", A, A))
    L, m = lam[:, -1], lam[:, 0]
    alpha = truncation._step(step, L, m)
    rho = np.asarray(bounds.gd_contraction(alpha, L, m))
    r = _rotated(A, b, v, w, alpha, truncation._start(x0, key, (num_draws, N)))
    K, T, _, _ = truncation._appendix_c_plan((L - m) / (L + m), fractions, omega, tol, max_K)
    obs = _path_observables(r, int(K.max()))
    T_rule = np.asarray(_choose_all(*obs, K, omega, scale))
    e0, edot0 = (np.linalg.norm(r["y0"] - r["y_star"], axis=-1),
                 np.linalg.norm(r["t_star"], axis=-1))
    best, _ = _bound_optima(K, omega, rho, r["gamma_v"], e0, edot0, max_K=max_K)
    T_all = np.concatenate([T, T_rule[:, None], np.rint(np.asarray(best) * K)[:, None]], 1)
    pairs = [[budget.reallocate(int(k), int(t), omega) for t in row] for k, row in zip(K, T_all)]
    K_p, T_p = (np.array([[p[i] for p in row] for row in pairs]) for i in (0, 1))
    horizon = int(np.ceil((1 + omega) * K.max()))            # K' <= K + ωK: one shape per N
    out = _sweep_draws(r, alpha, K, T_p, K_p, np.zeros(1), horizon=horizon,
                       num_points=2)
    fw, rv = (np.median(np.asarray(out[f"{mode}_final"]), 0) for mode in ("forward", "reverse"))
    J = len(fractions)
    return _AdaptiveSweep(
        N=N, fractions=np.asarray(fractions), forward_final=fw[:J], reverse_final=rv[:J],
        adaptive=(fw[J], rv[J]), oracle=(fw[J + 1], rv[J + 1]),
        adaptive_fraction=float(np.median(T_rule / K)),
        oracle_fraction=float(np.median(np.asarray(best))),
        adaptive_memory=float(np.median(1 - T_rule / K)), K=K, adaptive_T=T_rule)
