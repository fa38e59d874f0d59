"""The update maps of ``unrolling.methods`` against their defining formulas.

Gradient descent and heavy ball against hand-written steps with the closed-form ridge
gradient; contraction factors; fixed points; Newton's one-step / quadratic convergence;
the Chebyshev method against the shifted, normalized Chebyshev residual polynomial
(Scieur et al. eq. 4 and 10); the asymptotic Sobolev method (Scieur et al. eqs. 16-17)
against hand-written steps, with the sign of its gradient term checked.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import (bounds, chebyshev, forward_mode, gradient_descent, heavy_ball,
                       implicit_jacobian, iterate, newton, problems, sobolev)
from unrolling import data

N = 4
A_DATA, B_DATA = (np.asarray(a) for a in data.least_squares_instance(
    jax.random.PRNGKey(0), 12, N))
U = 0.2
H = A_DATA.T @ A_DATA + U * np.eye(N)                 # Hessian of ridge in x
LAM = np.linalg.eigvalsh(H)
RIDGE = problems.ridge(A_DATA, B_DATA)
X_STAR = np.linalg.solve(H, A_DATA.T @ B_DATA)


def ridge_grad(x):
    """Closed-form gradient of ||Ax - b||^2 / 2 + U ||x||^2 / 2."""
    return H @ x - A_DATA.T @ B_DATA


def close(a, b, rtol=1e-12, atol=1e-13):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


POINTS = [np.linspace(-1.0, 2.0, N), np.ones(N), X_STAR]


# --- gradient descent -----------------------------------------------------------------

def test_gradient_step_is_x_minus_alpha_grad():
    update = jax.jit(gradient_descent(RIDGE.f, 0.03))
    for x in POINTS:
        close(update(x, U), x - 0.03 * ridge_grad(x))
    close(update(X_STAR, U), X_STAR)                         # x* is a fixed point


@pytest.mark.parametrize("frac", [0.3, 1.0, 2 * LAM[-1] / (LAM[0] + LAM[-1]), 1.9])
def test_gradient_step_contraction_factor(frac):
    """‖A(x) - A(y)‖ <= ρ(α)‖x - y‖ with ρ(α) = max|1 - αλ|, attained along an eigenvector."""
    alpha = frac / LAM[-1]
    update = jax.jit(gradient_descent(RIDGE.f, alpha))
    rho = float(bounds.gd_contraction(alpha, LAM[-1], LAM[0]))
    assert rho == pytest.approx(max(abs(1 - alpha * LAM[0]), abs(1 - alpha * LAM[-1])))
    assert rho < 1
    rng = np.random.default_rng(1)
    for _ in range(5):
        x, y = rng.normal(size=N), rng.normal(size=N)
        assert np.linalg.norm(update(x, U) - update(y, U)) <= rho * np.linalg.norm(x - y) * (
            1 + 1e-12)
    eigvecs = np.linalg.eigh(H)[1]
    worst = max(np.linalg.norm(update(X_STAR + e, U) - X_STAR) for e in eigvecs.T)
    assert worst == pytest.approx(rho, rel=1e-9)


def test_optimal_step_minimizes_the_contraction_factor():
    L, mu = LAM[-1], LAM[0]
    steps = np.linspace(0.01, 1.99, 397) / L
    rhos = np.asarray(bounds.gd_contraction(steps, L, mu))
    best = float(bounds.gd_contraction(2 / (L + mu), L, mu))
    assert best == pytest.approx((L - mu) / (L + mu), rel=1e-12)
    assert np.all(rhos >= best * (1 - 1e-12))


def test_gradient_descent_on_a_pytree_iterate():
    """x = {"c": scalar, "w": (N-1,)}: the step acts leaf by leaf (ravel order c, w)."""
    flat, unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})
    update = gradient_descent(lambda x, u: RIDGE.f(ravel_pytree(x)[0], u), 0.03)
    x = POINTS[0]
    out = update(unravel(jnp.asarray(x)), U)
    assert set(out) == {"c", "w"} and out["w"].shape == (N - 1,)
    close(ravel_pytree(out)[0], x - 0.03 * ridge_grad(x))


# --- heavy ball --------------------------------------------------------------------------

def test_heavy_ball_step():
    alpha, beta = 0.03, 0.4
    update = jax.jit(heavy_ball(RIDGE.f, alpha, beta))
    x1, x2 = POINTS[0], POINTS[1]
    z1, z2 = update((x1, x2), U)
    close(z1, x1 - alpha * ridge_grad(x1) + beta * (x1 - x2))
    close(z2, x1)
    z1, z2 = update((X_STAR, X_STAR), U)                     # (x*, x*) is a fixed point
    close(z1, X_STAR)
    close(z2, X_STAR)


def test_heavy_ball_pytree_iterate():
    unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})[1]
    update = heavy_ball(lambda x, u: RIDGE.f(ravel_pytree(x)[0], u), 0.03, 0.4)
    x1, x2 = POINTS[0], POINTS[1]
    z1, z2 = update((unravel(jnp.asarray(x1)), unravel(jnp.asarray(x2))), U)
    close(ravel_pytree(z1)[0], x1 - 0.03 * ridge_grad(x1) + 0.4 * (x1 - x2))
    close(ravel_pytree(z2)[0], x1)


def test_heavy_ball_is_stable_but_not_a_norm_contraction():
    """Polyak's parameters: spectral radius sqrt(β) < 1 of the phase-space Jacobian, yet
    its operator norm exceeds 1 (Mehmood et al. Remark 1): not a contraction in norm."""
    sqL, sqm = np.sqrt(LAM[-1]), np.sqrt(LAM[0])
    alpha, beta = 4 / (sqL + sqm) ** 2, ((sqL - sqm) / (sqL + sqm)) ** 2
    update = heavy_ball(RIDGE.f, alpha, beta)
    flat_update = lambda z: jnp.concatenate(update((z[:N], z[N:]), U))  # noqa: E731
    J = np.asarray(jax.jit(jax.jacfwd(flat_update))(jnp.concatenate([X_STAR, X_STAR])))
    radius = np.max(np.abs(np.linalg.eigvals(J)))
    assert radius == pytest.approx(np.sqrt(beta), rel=1e-5)   # double eigenvalues: 1e-5
    assert radius < 1 < np.linalg.norm(J, 2)
    zs = np.asarray(iterate(update, (POINTS[0], POINTS[0]), U, 200))
    assert np.linalg.norm(zs[-1, :N] - X_STAR) < 1e-8 * np.linalg.norm(POINTS[0] - X_STAR)


# --- Newton ----------------------------------------------------------------------------------

def test_newton_solves_a_quadratic_in_one_step():
    update = jax.jit(newton(RIDGE.f))                        # jit: one compilation
    for x in POINTS:
        close(update(x, U), X_STAR, rtol=1e-10, atol=1e-12)
    damped = jax.jit(newton(RIDGE.f, 0.25))                  # x - α(x - x*): rate 1 - α
    x = POINTS[0]
    close(damped(x, U) - X_STAR, 0.75 * (x - X_STAR), rtol=1e-10, atol=1e-12)


def test_newton_converges_quadratically_on_logistic_regression():
    X = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (30, N)))
    problem = problems.logistic_regression(X, np.sign(X[:, 0] - 0.5 * X[:, 1] + 0.1))
    update = newton(problem.f)

    @jax.jit
    def run(u):  # x*, Newton's iterates from 0, and ∂x A at x*
        x_star = problem.x_star(u)
        return x_star, iterate(update, jnp.zeros(N), u, 8), jax.jacfwd(update)(x_star, u)
    x_star, xs, B = jax.device_get(run(-2.0))
    errs = np.linalg.norm(xs - x_star, axis=1)
    assert errs[-1] < 1e-12 * errs[0]
    big = errs[:-1] > 1e-6                                   # before roundoff takes over
    ratios = errs[1:][big] / errs[:-1][big] ** 2             # e_{k+1} <= C e_k^2
    assert np.all(ratios < 10.0)
    assert np.linalg.norm(B) < 1e-10                         # ∂x A(x*) = 0 (superlinear)


# --- Chebyshev -------------------------------------------------------------------------------

def chebyshev_residual(t, lam, L, mu):
    """C_t(λ) = T_t(m(λ)) / T_t(m(0)), m(λ) = (2λ - L - mu)/(L - mu) (Scieur et al. eq. 10)."""
    coef = np.eye(t + 1)[t]
    m = lambda x: (2 * x - L - mu) / (L - mu)  # noqa: E731
    return (np.polynomial.chebyshev.chebval(m(lam), coef)
            / np.polynomial.chebyshev.chebval(m(0.0), coef))


@pytest.mark.parametrize("x0", [np.zeros(N), np.linspace(-3.0, 3.0, N)])
def test_chebyshev_iterates_are_the_chebyshev_residual_polynomial(x0):
    """x_t - x* = C_t(H)(x0 - x*) (Scieur et al. eq. 4), with [mu, L] the exact spectrum."""
    L, mu = LAM[-1], LAM[0]
    update, init = chebyshev(RIDGE.f, L, mu)
    T = 25
    states = np.asarray(iterate(update, init(x0), U, T))
    lam, V = np.linalg.eigh(H)
    for t in range(T + 1):
        expected = X_STAR + V @ (chebyshev_residual(t, lam, L, mu) * (V.T @ (x0 - X_STAR)))
        close(states[t, :N], expected, rtol=1e-9, atol=1e-11)
    # The classic rate: ‖x_t - x*‖ <= 2 / (ξ^t + ξ^-t) ‖x0 - x*‖.
    errs = np.linalg.norm(states[:, :N] - X_STAR, axis=1)
    rate = np.asarray(bounds.scieur_lower(np.arange(T + 1), L, mu, 1.0))
    assert np.all(errs <= rate * errs[0] * (1 + 1e-9) + 1e-12)


def test_chebyshev_parameters():
    """h_0 = 2/(L+mu), m_0 = 0; ω_0 = 2, ω_t = 1/(1 - ρ²ω_{t-1}/4) carried in the state."""
    L, mu = 3.0, 0.5
    rho = (L - mu) / (L + mu)
    update, init = chebyshev(lambda x, u: 0.5 * x @ x * u, L, mu)
    x0 = np.ones(2)
    state = init(x0)
    x1, x0_again, s = update(state, 1.0)                     # f = u|x|²/2: ∇f(x) = u x
    close(x1, x0 - 2 / (L + mu) * x0)
    close(x0_again, x0)
    omega = 2.0
    for _ in range(5):
        assert float(s) == pytest.approx(omega, rel=1e-14)
        state = (x1, x0_again, s)
        x1, x0_again, s = update(state, 1.0)
        omega = 1 / (1 - rho**2 * omega / 4)


# --- the asymptotic Sobolev method (chapter 6) ------------------------------------------

def _polyak(L, mu):
    """Polyak's heavy-ball parameters, written out independently of the library."""
    return 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2, ((np.sqrt(L) - np.sqrt(mu))
                                                 / (np.sqrt(L) + np.sqrt(mu))) ** 2


def test_sobolev_steps_match_the_hand_written_recursion():
    """y_t = y_{t-1} - h∇f(y_{t-1}) + m(y_{t-1} - y_{t-2}), x_t = y_t + m(x_{t-1} - y_{t-2}),
    from y_{-1} = y_0 = x_0 (Polyak's h, m), on ridge; the state is (x_t, y_t, y_{t-1})."""
    L, mu = LAM[-1], LAM[0]
    h, m = _polyak(L, mu)
    update, init = sobolev(RIDGE.f, L, mu)
    x0 = np.linspace(-1.0, 2.0, N)
    state = init(x0)
    for part in state:
        close(part, x0)
    x, y, y_prev = x0, x0, x0
    for _ in range(6):
        y_next = y - h * ridge_grad(y) + m * (y - y_prev)
        x, y, y_prev = y_next + m * (x - y_prev), y_next, y
        state = update(state, U)
        for got, expected in zip(state, (x, y, y_prev)):
            close(got, expected, rtol=1e-12, atol=1e-12)


def test_sobolev_converges_and_its_printed_gradient_sign_diverges():
    """Eq. 16 as printed adds h∇f: that is the method run on -f (∇(-f) = -∇f). It diverges,
    while the descent sign converges to x* at heavy ball's rate."""
    L, mu = LAM[-1], LAM[0]
    x0, K = np.zeros(N), 60
    good_update, init = sobolev(RIDGE.f, L, mu)
    printed_update, _ = sobolev(lambda x, u: -RIDGE.f(x, u), L, mu)
    e_good = np.linalg.norm(np.asarray(iterate(good_update, init(x0), U, K))[:, :N] - X_STAR,
                            axis=1)
    e_printed = np.linalg.norm(
        np.asarray(iterate(printed_update, init(x0), U, K))[:, :N] - X_STAR, axis=1)
    assert e_good[-1] < 1e-8 * e_good[0]
    assert e_printed[-1] > 1e10 * e_printed[0]
    assert np.all(np.diff(e_printed[5:]) > 0)                       # grows at every step


def test_sobolev_forward_mode_converges_to_the_implicit_jacobian():
    """Unrolled derivatives through the Sobolev state tend to Dx* = -H^{-1} x*, which is
    also the x-block of the implicit Jacobian at the fixed point (x*, x*, x*)."""
    L, mu = LAM[-1], LAM[0]
    update, init = sobolev(RIDGE.f, L, mu)
    J = np.asarray(forward_mode(update, init(np.zeros(N)), U, 150))[:, :N]
    jac = np.asarray(RIDGE.jacobian(U))
    implicit = np.asarray(implicit_jacobian(update, init(X_STAR), U))[:N]
    close(implicit, jac, rtol=1e-10, atol=1e-12)
    close(J[-1], jac, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(J[0] - jac) > 0.1 * np.linalg.norm(jac)  # it starts far away
