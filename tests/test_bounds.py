"""Every bound in ``unrolling.bounds`` dominates the error it bounds, on random instances.

Instances are drawn by hypothesis as an integer seed -> ``jax.random.PRNGKey`` (so a
failing example is reproducible from its seed) plus a few scalars. The measurements
are jitted once per shape, so each example costs milliseconds.

Constants used (derived here, documented once):

* Gradient descent on a ridge-type quadratic in its weight u,
  :math:`\\mathcal A(x, u) = x - \\alpha((H_0 + uI)x - c)`:
  :math:`D_x\\mathcal A = I - \\alpha(H_0 + uI)` does not depend on x, so
  :math:`M_x = 0`; :math:`D_u\\mathcal A(x) = -\\alpha x`, so :math:`M_u = \\alpha` and
  Lemma 6's :math:`\\Gamma = M_x\\kappa/(1-\\rho) + M_u = \\alpha` (indeed
  :math:`(B_k - B)Dx^* + C_k - C = -\\alpha(x^{(k)} - x^*)`, equality in (17)).
  :math:`\\rho = \\max_\\lambda|1 - \\alpha\\lambda|` over the spectrum of :math:`H_0 + uI`.
* Gradient descent on least squares in u = (A, b), norms on the flattened u:
  :math:`D_x\\mathcal A = I - \\alpha A^\\top A` (no x): :math:`M_x = 0`;
  :math:`(D_u\\mathcal A(x) - D_u\\mathcal A(y))[dA, db] = -\\alpha(dA^\\top A + A^\\top dA)(x - y)`,
  so :math:`M_u = 2\\alpha\\|A\\|_2` and :math:`\\Gamma = 2\\alpha\\|A\\|_2`.
* Bolte et al. Cor. 1 needs :math:`L_J` (Lipschitz constant of :math:`x \\mapsto J_\\theta F`)
  and :math:`L_F \\ge \\|J_\\theta F(\\bar x, \\theta)\\|_{op}` — the proof (Lemma 2 with
  :math:`B = J_\\theta F(\\bar x)`) uses the bound only at the fixed point. Ridge:
  :math:`L_J = \\alpha`, :math:`L_F = \\alpha\\|x^*\\|`. Least squares:
  :math:`L_J = 2\\alpha\\|A\\|_2` and, with :math:`\\bar r = A\\bar x - b`,
  :math:`\\|J_\\theta F(\\bar x)[dA, db]\\| \\le \\alpha(\\|\\bar r\\|\\|dA\\| + \\|A\\|_2\\|\\bar x\\|\\|dA\\|
  + \\|A\\|_2\\|db\\|)`, so :math:`L_F = \\alpha(\\|\\bar r\\| + \\|A\\|_2(\\|\\bar x\\| + 1))`.
* Scieur et al.'s G is :math:`\\|\\tfrac{d}{d\\theta}\\nabla f(x_0(\\theta), \\theta)\\|_F`:
  for ridge and a constant x0 it is :math:`\\|x_0\\|`; for x0(u) = u z it is the
  total derivative :math:`\\|H z + x_0(u)\\|` (see ``scieur_gd``'s docstring).

Tolerances: measured errors carry float64 roundoff (Dx* from a linear solve with
condition number below ~1e4 here), so "dominates" means
``measured <= bound * (1 + 1e-9) + 1e-9 * scale`` with scale the size of the
quantities involved.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

from unrolling import (bounds, chebyshev, errors, forward_mode, gradient_descent, iterate,
                       one_step_jacobian, problems)
from unrolling.budget import reallocate
from unrolling import data

K = 60                      # iterations measured per instance
M, N = 10, 4                # data shape of the random ridge / least-squares instances
PROPERTY = settings(max_examples=30, deadline=None, database=None, derandomize=True)
seeds = st.integers(0, 2**31 - 1)


def dominated(measured, bound, scale=1.0):
    """measured <= bound up to float64 roundoff (see the module docstring)."""
    measured, bound = np.asarray(measured), np.asarray(bound)
    slack = 1e-9 * bound + 1e-9 * scale
    return bool(np.all(measured <= bound + slack)), float(np.max(measured - bound))


# --- instances: one compiled measurement per problem class ------------------------

STARTS = (0, 1, 7, 30)                   # late-start indices T' measured (0: plain forward)
K_SMALL, T_SMALL, OMEGA = 20, 5, 3       # budget reallocation: K' = 35, T' = 20
K_PRIME, T_PRIME = reallocate(K_SMALL, T_SMALL, OMEGA)
X0_KINDS = {"zero": (0.0, 0.0), "constant": (1.0, 0.0), "callable": (0.0, 1.0)}


def quadratic_instance(seed, spectral):
    """(H0, c, z) of a ridge problem (Mehmood et al. App. C data, H0 = AᵀA, c = Aᵀb) or,
    when ``spectral``, of a spectral quadratic (eigenvalues log-uniform in [1e-2, 1],
    solution weights N(0, 1)); z ~ N(0, I) for the initial point."""
    key_data, key_x = jax.random.split(jax.random.PRNGKey(seed))
    A, b = data.least_squares_instance(key_data, M, N)
    key_lam, key_s, key_q = jax.random.split(key_data, 3)
    lam = 10.0 ** jax.random.uniform(key_lam, (N,), minval=-2.0, maxval=0.0)
    spec = problems.spectral_quadratic(key_q, lam, jax.random.normal(key_s, (N,)))
    zero = jnp.zeros(N)
    H_spec, c_spec = jax.hessian(spec.f)(zero, 0.0), -jax.grad(spec.f)(zero, 0.0)
    H0 = jnp.where(spectral, H_spec, A.T @ A)
    c = jnp.where(spectral, c_spec, A.T @ b)
    return H0, c, jax.random.normal(key_x, (N,))


@jax.jit
def gd_quadratic(seed, u, step_frac, x0_coef, spectral):
    """GD with step step_frac / L on f(x, u) = xᵀ(H0 + uI)x / 2 - cᵀx, from
    x0(u) = (a0 + a1 u) z with (a0, a1) = x0_coef: errors and constants."""
    H0, c, z = quadratic_instance(seed, spectral)
    problem = problems.quadratic(H0, c)
    L, mu = problem.smoothness(u), problem.strong_convexity(u)
    alpha = step_frac / L
    update = gradient_descent(problem.f, alpha)
    x0 = lambda u: (x0_coef[0] + x0_coef[1] * u) * z  # noqa: E731
    x_star, jac = problem.x_star(u), problem.jacobian(u)
    xs = iterate(update, x0, u, K)
    H, x0_dot = H0 + u * jnp.eye(N), x0_coef[1] * z

    def edot(start, num_steps=K):
        return errors.derivative_errors(
            forward_mode(update, x0, u, num_steps, start=start), jac, "op")

    cheb_update, cheb_init = chebyshev(problem.f, L, mu)
    cheb = forward_mode(cheb_update, lambda u: cheb_init(x0(u)), u, K)[:, :N]   # x block
    return dict(
        e=errors.iterate_errors(xs, x_star),
        edot={start: edot(start) for start in STARTS},
        edot_realloc=edot(T_PRIME, K_PRIME),
        one_step=errors.derivative_errors(
            jax.vmap(lambda x: one_step_jacobian(update, x, u))(xs[:-1]), jac, "op"),
        cheb=errors.derivative_errors(cheb, jac),
        rho=bounds.gd_contraction(alpha, L, mu), alpha=alpha, L=L, mu=mu,
        jac0_err=jnp.linalg.norm(x0_dot - jac[:, 0]),
        G=jnp.linalg.norm(H @ x0_dot + x0(u)),       # d/du of ∇f(x0(u), u)
        x_star_norm=jnp.linalg.norm(x_star))


def measure(seed, u, frac, x0_kind="zero", kind="ridge"):
    """gd_quadratic with arguments of fixed dtypes, so that it compiles only once."""
    f64 = functools.partial(jnp.asarray, dtype=jnp.float64)
    return jax.device_get(gd_quadratic(jnp.asarray(seed, dtype=jnp.int64), f64(u), f64(frac),
                                       f64(X0_KINDS[x0_kind]), jnp.asarray(kind == "spectral")))


@jax.jit
def gd_least_squares(seed, step_frac):
    """GD with step step_frac / L on least squares in u = (A, b), x0 ~ N(0, I)."""
    key_u, key_x = jax.random.split(jax.random.PRNGKey(seed))
    u = data.least_squares_instance(key_u, M, N)
    problem = problems.least_squares()
    L, mu = problem.smoothness(u), problem.strong_convexity(u)
    alpha = step_frac / L
    update = gradient_descent(problem.f, alpha)
    x0 = jax.random.normal(key_x, (N,))
    x_star, jac = problem.x_star(u), problem.jacobian(u)
    xs = iterate(update, x0, u, K)
    norm_A = jnp.linalg.norm(u[0], 2)
    return dict(
        e=errors.iterate_errors(xs, x_star),
        edot=errors.derivative_errors(forward_mode(update, x0, u, K), jac, "op"),
        one_step=errors.derivative_errors(
            jax.vmap(lambda x: one_step_jacobian(update, x, u))(xs[:-1]), jac, "op"),
        rho=bounds.gd_contraction(alpha, L, mu), alpha=alpha, norm_A=norm_A,
        L_F=alpha * (jnp.linalg.norm(u[0] @ x_star - u[1])
                     + norm_A * (jnp.linalg.norm(x_star) + 1.0)),
        x_star_norm=jnp.linalg.norm(x_star))


step_fracs = st.floats(0.05, 1.95)       # alpha = frac / L in (0, 2 / L): a contraction
weights = st.floats(0.01, 2.0)           # the ridge weight u
kinds = st.sampled_from(["ridge", "spectral"])
x0_kinds = st.sampled_from(sorted(X0_KINDS))


# --- Mehmood et al.: iterate bound (8), Lemma 4 (15), Theorem 7, Theorem 8 --------

@PROPERTY
@given(seed=seeds, u=weights, frac=step_fracs, kind=kinds, x0_kind=x0_kinds)
def test_theorem7_lemma4_and_iterate_bound_dominate_gd_on_quadratics(seed, u, frac, kind,
                                                                     x0_kind):
    r = measure(seed, u, frac, x0_kind, kind)
    rho, gamma = r["rho"], bounds.gamma(0.0, r["alpha"], 0.0, r["rho"])   # Γ = α
    assert np.isclose(gamma, r["alpha"])
    e, edot, k = r["e"], r["edot"][0], np.arange(K + 1)
    scale = edot[0] + e[0] + 1.0
    assert dominated(e, bounds.iterate_bound(k, rho, e[0]), scale)[0]
    assert dominated(edot, bounds.lemma4_bound(rho, gamma, edot[0], e), scale)[0]
    assert dominated(edot, bounds.theorem7(k, rho, gamma, e[0], edot[0]), scale)[0]


@PROPERTY
@given(seed=seeds, frac=step_fracs)
def test_theorem7_dominates_gd_on_least_squares_in_data(seed, frac):
    r = jax.device_get(gd_least_squares(seed, frac))
    gamma = bounds.gamma(0.0, 2 * r["alpha"] * r["norm_A"], 0.0, r["rho"])  # Γ = 2α‖A‖
    e, edot, k = r["e"], r["edot"], np.arange(K + 1)
    scale = edot[0] + e[0] + 1.0
    assert dominated(e, bounds.iterate_bound(k, r["rho"], e[0]), scale)[0]
    assert dominated(edot, bounds.lemma4_bound(r["rho"], gamma, edot[0], e), scale)[0]
    assert dominated(edot, bounds.theorem7(k, r["rho"], gamma, e[0], edot[0]), scale)[0]


@PROPERTY
@given(seed=seeds, u=weights, frac=step_fracs, kind=kinds, x0_kind=x0_kinds)
def test_theorem8_dominates_late_started_forward_mode(seed, u, frac, kind, x0_kind):
    r = measure(seed, u, frac, x0_kind, kind)
    rho, gamma, e = r["rho"], r["alpha"], r["e"]
    edot0 = r["edot"][0][0]                 # late start keeps Ẋ^(0) = D x^(0)
    scale = edot0 + e[0] + 1.0
    for start in STARTS[1:]:
        late, k = r["edot"][start], np.arange(K - start + 1)
        assert dominated(late, bounds.theorem8(k, start, rho, gamma, e[0], edot0), scale)[0]
        # Lemma 4 (15) for the late-started sequence: iterate errors from T' on.
        assert dominated(late, bounds.lemma4_bound(rho, gamma, edot0, e[start:]), scale)[0]


def test_theorem8_with_reallocated_budget_is_the_eq22_objective():
    """K' = K + ωT iterations, differentiate the last K - T: error <= h(T) of eq. (22)."""
    assert (K_PRIME, T_PRIME) == (K_SMALL + OMEGA * T_SMALL, T_SMALL + OMEGA * T_SMALL)
    for seed, frac in [(3, 1.9), (4, 1.0), (5, 0.3)]:
        r = measure(seed, 0.2, frac, "constant")
        h = bounds.truncation_objective(T_SMALL, K_SMALL, OMEGA, r["rho"], r["alpha"],
                                        r["e"][0], r["edot"][0][0])
        assert r["edot_realloc"].shape == (K_SMALL - T_SMALL + 1,)
        assert dominated(r["edot_realloc"][-1], h, 1.0)[0]


def test_printed_eq19_with_edot0_in_the_curse_term_is_not_a_bound(key):
    """Mehmood et al. print (19) as ρ^k ė0 + kρ^{k-1}Γ ė0; Lemma 4 gives Γ e0 (bounds.py).
    On f = ½xᵀ(4I + uI)x - cᵀx (u = 0) with x0 = 0 the measured error is
    ρ^{k-1}(1 + (k-1)αλ)‖x*‖/λ, above the printed ρ^{k-1}(ρ + kα)‖x*‖/λ whenever λ > 1."""
    alpha = 0.1

    @jax.jit
    def measured(key):
        problem = problems.spectral_quadratic(key, jnp.full(N, 4.0))
        derivs = forward_mode(gradient_descent(problem.f, alpha), jnp.zeros(N), 0.0, 20)
        return (errors.derivative_errors(derivs, problem.jacobian(0.0)),
                jnp.linalg.norm(problem.x_star(0.0)))
    edot, e0 = measured(key)
    rho, k = 1 - alpha * 4.0, np.arange(21)
    printed = rho**k * edot[0] + k * rho ** np.maximum(k - 1, 0) * alpha * edot[0]
    assert np.all(edot[1:] > printed[1:])
    assert dominated(edot, bounds.theorem7(k, rho, alpha, e0, edot[0]), 1.0)[0]


# --- Mehmood et al. eq. (22), Lemma 11: optimal truncation --------------------------

def eq22_objective(T, K, omega, rho, gamma, e0, edot0):
    """Thm 8 at k = K - T derivative steps after T' = T + ωT idle ones (numpy, independent)."""
    T = np.asarray(T, dtype=float)
    return rho ** (K - T) * edot0 + (K - T) * rho ** (K + omega * T - 1) * gamma * e0


truncation_cases = dict(K=st.sampled_from([1, 2, 3, 10, 57, 300]),   # few shapes: fast
                        omega=st.floats(0.0, 5.0),
                        rho=st.floats(0.5, 0.999), gamma=st.floats(1e-3, 10.0),
                        e0=st.floats(1e-3, 10.0), edot0=st.floats(1e-3, 10.0))


@PROPERTY
@given(**truncation_cases)
def test_optimal_truncation_is_the_brute_force_minimum(K, omega, rho, gamma, e0, edot0):
    values = eq22_objective(np.arange(K + 1), K, omega, rho, gamma, e0, edot0)
    lib = bounds.truncation_objective(np.arange(K + 1), K, omega, rho, gamma, e0, edot0)
    np.testing.assert_allclose(lib, values, rtol=1e-12, atol=0)
    T_int = int(bounds.optimal_truncation(K, omega, rho, gamma, e0, edot0))
    assert 0 <= T_int <= K
    assert values[T_int] <= values.min() * (1 + 1e-12)
    # No truncation is Theorem 7 at k = K.
    np.testing.assert_allclose(lib[0], bounds.theorem7(K, rho, gamma, e0, edot0), rtol=1e-12)


@PROPERTY
@given(**truncation_cases)
def test_relaxed_truncation_is_convex_and_near_the_integer_optimum(K, omega, rho, gamma, e0,
                                                                   edot0):
    grid = np.linspace(0.0, K, 2001)
    values = np.asarray(bounds.truncation_objective(grid, K, omega, rho, gamma, e0, edot0))
    second = values[2:] - 2 * values[1:-1] + values[:-2]
    assert np.all(second >= -1e-10 * values.max())                 # Lemma 11: convex
    T_rel = float(bounds.optimal_truncation_relaxed(K, omega, rho, gamma, e0, edot0))
    T_int = int(bounds.optimal_truncation(K, omega, rho, gamma, e0, edot0))
    assert 0.0 <= T_rel <= K
    assert T_int - 1 - 1e-9 <= T_rel <= T_int + 1 + 1e-9
    h_rel = eq22_objective(T_rel, K, omega, rho, gamma, e0, edot0)
    assert h_rel <= values.min() * (1 + 1e-9)                     # the grid's minimum


# --- Scieur et al.: Theorem 2, Corollaries 1 and 2, Theorem 3, Proposition 1 --------

@PROPERTY
@given(seed=seeds, u=weights, frac=step_fracs, kind=kinds, x0_kind=x0_kinds)
def test_scieur_gd_dominates_gd_jacobian_error(seed, u, frac, kind, x0_kind):
    r = measure(seed, u, frac, x0_kind, kind)
    t = np.arange(K + 1)
    bound = bounds._scieur_gd(t, r["alpha"], r["L"], r["mu"], r["jac0_err"], r["G"])
    # p = 1: the Frobenius norm of the Jacobian error is its operator norm.
    ok, gap = dominated(r["edot"][0], bound, r["jac0_err"] + r["G"] + 1.0)
    assert ok, gap


@PROPERTY
@given(seed=seeds, u=weights, kind=kinds, x0_kind=x0_kinds)
def test_scieur_corollary1_closed_forms(seed, u, kind, x0_kind):
    t = np.arange(K + 1)
    short = measure(seed, u, 1.0, x0_kind, kind)                        # h = 1/L
    L, mu, jac0, G = short["L"], short["mu"], short["jac0_err"], short["G"]
    short_form = bounds.scieur_gd_short_step(t, L, mu, jac0, G)
    np.testing.assert_allclose(short_form, bounds._scieur_gd(t, 1 / L, L, mu, jac0, G),
                               rtol=1e-10, atol=1e-300)
    assert dominated(short["edot"][0], short_form, jac0 + G + 1.0)[0]
    long = measure(seed, u, 2 * L / (L + mu), x0_kind, kind)            # h = 2/(L+mu)
    long_form = bounds.scieur_gd_long_step(t, L, mu, jac0, G)
    assert dominated(bounds._scieur_gd(t, 2 / (L + mu), L, mu, jac0, G), long_form, 1e-300)[0]
    assert dominated(long["edot"][0], long_form, jac0 + G + 1.0)[0]


@PROPERTY
@given(kappa=st.floats(1e-3, 0.9), frac=st.floats(0.01, 1.0), jac0=st.floats(1e-3, 10.0))
def test_scieur_corollary2_monotone_for_step_below_sqrt2_over_L(kappa, frac, jac0):
    L = 1.0
    bound = np.asarray(bounds._scieur_gd(np.arange(200), frac * np.sqrt(2) / L, L, kappa * L,
                                        jac0, 0.0))
    assert np.all(np.diff(bound) <= 1e-12 * bound[:-1])


def test_scieur_corollary2_fails_above_sqrt2_over_L(key):
    """With h = 1.6/L > √2/L the bound rises from t = 1 to t = 2 (by (hL)² - 1 = 1.56),
    and so does the measured error when Dx* lies along the top eigenvector."""
    lam = jnp.array([0.01, 0.1, 0.5, 1.0])
    h = 1.6 / lam[-1]
    bound = bounds._scieur_gd(np.arange(4), h, lam[-1], lam[0], 1.0, 0.0)
    assert bound[2] > 1.5 * bound[1]

    @jax.jit
    def errors_along_top(key, u):
        problem = problems.spectral_quadratic(key, lam, jnp.array([0.0, 0.0, 0.0, 1.0]))
        derivs = forward_mode(gradient_descent(problem.f, h), jnp.zeros(4), u, 3)
        return errors.derivative_errors(derivs, problem.jacobian(u))

    err = errors_along_top(key, 0.0)
    assert err[2] > 1.5 * err[1]


@PROPERTY
@given(seed=seeds, u=weights, kind=kinds, x0_kind=x0_kinds)
def test_scieur_chebyshev_dominates_and_prop1_is_below(seed, u, kind, x0_kind):
    r = measure(seed, u, 1.0, x0_kind, kind)
    t = np.arange(K + 1)
    bound = bounds.scieur_chebyshev(t, r["L"], r["mu"], r["jac0_err"], r["G"])
    assert dominated(r["cheb"], bound, r["jac0_err"] + r["G"] + 1.0)[0]
    lower = bounds.scieur_lower(t, r["L"], r["mu"], r["jac0_err"])
    assert np.all(np.asarray(lower) <= np.asarray(bound) * (1 + 1e-12))


@pytest.mark.parametrize("kappa", [0.9, 0.3, 0.05, 0.002])
def test_scieur_theorem3_envelope_holds_over_the_whole_spectrum(kappa):
    """The two factors of Thm 3 bound |C_t - λC_t'| and |C_t'| on all of [mu, L] (grid),
    not only on the spectra of the drawn instances; equality is attained at λ = L."""
    L, mu = 1.0, kappa
    lam = np.linspace(mu, L, 4001)
    m, m0 = (2 * lam - L - mu) / (L - mu), -(L + mu) / (L - mu)
    for t in range(40):
        coef = np.eye(t + 1)[t]
        scale = np.polynomial.chebyshev.chebval(m0, coef)
        C = np.polynomial.chebyshev.chebval(m, coef) / scale
        dC = np.polynomial.chebyshev.chebval(m, np.polynomial.chebyshev.chebder(coef))
        dC = dC * 2 / (L - mu) / scale
        both = float(bounds.scieur_chebyshev(t, L, mu, 1.0, 0.0))
        assert np.max(np.abs(C - lam * dC)) <= both * (1 + 1e-9)
        np.testing.assert_allclose(abs(C[-1] - L * dC[-1]), both, rtol=1e-9)
        g_term = float(bounds.scieur_chebyshev(t, L, mu, 0.0, 1.0))
        assert np.max(np.abs(dC)) <= g_term * (1 + 1e-9) + 1e-300


# --- Bolte et al. Corollary 1: the one-step estimator -----------------------------

@PROPERTY
@given(seed=seeds, u=weights, frac=step_fracs, x0_kind=x0_kinds)
def test_one_step_bound_dominates_on_ridge(seed, u, frac, x0_kind):
    r = measure(seed, u, frac, x0_kind)
    alpha = r["alpha"]
    bound = bounds.one_step_bound(r["rho"], alpha * r["x_star_norm"], alpha, r["e"][:-1])
    ok, gap = dominated(r["one_step"], bound, r["x_star_norm"] + 1.0)
    assert ok, gap


@PROPERTY
@given(seed=seeds, frac=step_fracs)
def test_one_step_bound_dominates_on_least_squares(seed, frac):
    r = jax.device_get(gd_least_squares(seed, frac))
    bound = bounds.one_step_bound(r["rho"], r["L_F"], 2 * r["alpha"] * r["norm_A"], r["e"][:-1])
    assert dominated(r["one_step"], bound, r["x_star_norm"] + 1.0)[0]


@jax.jit
def lemma6_sides(key):
    """Both sides of Lemma 6, (17), along GD iterates on least squares in u = (A, b)."""
    u = data.least_squares_instance(key, M, N)
    problem = problems.least_squares()
    alpha = 1.0 / problem.smoothness(u)
    update = gradient_descent(problem.f, alpha)
    flat_u, unravel = ravel_pytree(u)
    x_star, jac = problem.x_star(u), problem.jacobian(u)
    B_of = jax.jacfwd(update, 0)                                   # B_k = D_x A(x^(k))
    C_of = jax.jacfwd(lambda x, w: update(x, unravel(w)), 1)       # C_k = D_u A(x^(k))
    B, C = B_of(x_star, u), C_of(x_star, flat_u)

    def lhs(x):
        return jnp.linalg.norm((B_of(x, u) - B) @ jac + C_of(x, flat_u) - C, 2)

    xs = iterate(update, jnp.ones(N), u, 20)
    gamma = 2 * alpha * jnp.linalg.norm(u[0], 2)
    return jax.vmap(lhs)(xs), gamma * errors.iterate_errors(xs, x_star)


def test_lemma6_gamma_for_least_squares_in_data(key):
    """‖(B_k - B)Dx* + C_k - C‖ <= Γ e^(k) with Γ = 2α‖A‖ (the constant used above)."""
    lhs, rhs = lemma6_sides(key)
    assert np.all(lhs <= rhs * (1 + 1e-9) + 1e-12)


def test_gamma_formula():
    """Lemma 6, eq. (18): Γ = M_x κ / (1 - ρ) + M_u."""
    assert np.isclose(bounds.gamma(2.0, 3.0, 0.5, 0.75), 2.0 * 0.5 / 0.25 + 3.0)
