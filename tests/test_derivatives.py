"""Every derivative estimator of ``unrolling.derivatives`` against independent references.

References: closed forms (ridge and least-squares Jacobians, JVPs, VJPs), ``jax.jacfwd``
/ ``jax.jacrev`` through the unrolled loop (``iterate(...)``), central finite
differences, and the other AD mode.

Finite differences: the central quotient (g(u + h) - g(u - h)) / 2h has truncation
error h^2 |g'''| / 6 and roundoff error about eps |g| / h (eps = 2.2e-16). With
h = 1e-6 these are ~1e-12 |g'''| and ~2e-10 |g|; on these small, well-scaled
instances (|g|, |g'''| <= ~1e2) both are below 1e-7, the tolerance used (relative to
max(1, |reference|)). The optimal h ~ eps^(1/3) ~ 6e-6 would balance the two; 1e-6 is
within a factor of a few of it.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import (chebyshev, forward_mode, gradient_descent, heavy_ball,
                       implicit_jacobian, iterate, newton, one_step_jacobian, problems,
                       reverse_mode)

K, N, M = 8, 3, 6
FD_STEP, FD_TOL = 1e-6, 1e-7


def close(a, b, rtol=1e-11, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# --- problems -----------------------------------------------------------------------

def ridge_setup(key, u=0.3):
    """GD with step 1/L on ridge in its weight u (scalar)."""
    problem = problems.ridge(*problems.least_squares_instance(key, M, N))
    return problem, gradient_descent(problem.f, 1.0 / problem.smoothness(u)), u


def ls_setup(key):
    """GD with step 1/L on least squares in u = (A, b): p = M N + M = 24."""
    problem = problems.least_squares()
    u = problems.least_squares_instance(key, M, N)
    return problem, gradient_descent(problem.f, 1.0 / problem.smoothness(u)), u


def constant_x0(n=N):
    return jnp.linspace(-1.0, 1.0, n)


def callable_x0(u):
    """An initial point that depends on u (any pytree u): 0.1 * sum(u) * (1, 2, 3)."""
    total = sum(jnp.sum(leaf) for leaf in jax.tree.leaves(u))
    return 0.1 * total * jnp.arange(1.0, N + 1.0)


def flat_fn(fn, u):
    """fn as a function of the flattened u, and that flat u."""
    u_flat, unravel = ravel_pytree(u)
    return (lambda w: fn(unravel(w))), u_flat


SETUPS = {"ridge": ridge_setup, "least_squares": ls_setup}
X0S = {"constant": constant_x0(), "callable": callable_x0}


# --- unrolled iterates and derivatives vs jax.jacfwd / jax.jacrev -------------------

@pytest.mark.parametrize("x0_name", list(X0S))
def test_iterate_is_the_python_loop(key, x0_name):
    _, update, u = ls_setup(key)
    x0 = X0S[x0_name]
    x = x0(u) if callable(x0) else x0
    rows = [x]
    for _ in range(K):
        x = update(x, u)
        rows.append(x)
    xs = iterate(update, x0, u, K)
    assert xs.shape == (K + 1, N) and xs.dtype == jnp.float64
    close(xs, jnp.stack(rows), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("x0_name", list(X0S))
def test_forward_mode_equals_jacfwd_through_the_loop(key, setup, x0_name):
    _, update, u = SETUPS[setup](key)
    x0 = X0S[x0_name]
    path, u_flat = flat_fn(lambda u: iterate(update, x0, u, K), u)
    reference = jax.jacfwd(path)(u_flat)                        # (K + 1, n, p)
    derivs = forward_mode(update, x0, u, K)
    assert derivs.shape == (K + 1, N, u_flat.size) and derivs.dtype == jnp.float64
    close(derivs, reference)


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("x0_name", list(X0S))
def test_reverse_mode_equals_jacrev_through_the_loop(key, setup, x0_name):
    _, update, u = SETUPS[setup](key)
    x0 = X0S[x0_name]
    last, u_flat = flat_fn(lambda u: iterate(update, x0, u, K)[-1], u)
    sweep = reverse_mode(update, x0, u, K)
    assert sweep.shape == (K + 1, N, u_flat.size)
    close(sweep[-1], jax.jacrev(last)(u_flat))                   # entry k = 0: D x^(K)
    init, _ = flat_fn(lambda u: x0(u) if callable(x0) else x0, u)
    close(sweep[0], jax.jacfwd(init)(u_flat))                    # entry k = K: D x^(0)
    close(sweep[-1], forward_mode(update, x0, u, K)[-1])         # full unrolling: equal


@pytest.mark.parametrize("x0_name", list(X0S))
def test_reverse_entries_are_late_started_forward_mode(key, x0_name):
    """Entry k of the sweep (position K - k) == forward mode started at T' = k, for all k."""
    _, update, u = ls_setup(key)
    x0 = X0S[x0_name]
    sweep = reverse_mode(update, x0, u, K)
    for T in range(K + 1):
        late = forward_mode(update, x0, u, K, start=T)
        assert late.shape[0] == K - T + 1
        close(sweep[K - T], late[-1])
        close(reverse_mode(update, x0, u, K, stop=T), sweep[:K - T + 1])


@pytest.mark.parametrize("x0_name", list(X0S))
@pytest.mark.parametrize("start", [0, 2, 5, K])
def test_late_start_equals_jacfwd_of_detached_start(key, x0_name, start):
    """Reference for Mehmood eq. (20): start the loop from x^(T') with its derivative
    replaced by D x^(0), i.e. x^(T') detached plus (x0(u) - detached x0(u))."""
    _, update, u = ridge_setup(key)
    x0 = X0S[x0_name]
    sg = jax.lax.stop_gradient

    def x_start(u):
        x_init = x0(u) if callable(x0) else x0
        return sg(iterate(update, x0, u, start)[-1]) + x_init - sg(x_init)

    path, u_flat = flat_fn(lambda u: iterate(update, x_start, u, K - start), u)
    close(forward_mode(update, x0, u, K, start=start), jax.jacfwd(path)(u_flat))


# --- finite differences ---------------------------------------------------------------

def test_forward_and_reverse_match_finite_differences_on_ridge(key):
    _, update, u = ridge_setup(key)
    x0 = constant_x0()

    def last(u):
        return iterate(update, x0, u, K)[-1]
    fd = (last(u + FD_STEP) - last(u - FD_STEP)) / (2 * FD_STEP)
    scale = max(1.0, float(jnp.max(jnp.abs(fd))))
    close(forward_mode(update, x0, u, K)[-1][:, 0], fd, rtol=0, atol=FD_TOL * scale)
    close(reverse_mode(update, x0, u, K)[-1][:, 0], fd, rtol=0, atol=FD_TOL * scale)


def test_jvp_and_vjp_match_finite_differences_on_least_squares(key):
    _, update, u = ls_setup(key)
    key_v, key_w = jax.random.split(key)
    v = (jax.random.normal(key_v, (M, N)), jax.random.normal(key_v, (M,)))
    w = jax.random.normal(key_w, (N,))

    def last(t):  # x^(K)(u + t v)
        return iterate(update, callable_x0, jax.tree.map(lambda a, b: a + t * b, u, v), K)[-1]
    fd = (last(FD_STEP) - last(-FD_STEP)) / (2 * FD_STEP)
    scale = max(1.0, float(jnp.max(jnp.abs(fd))))
    close(forward_mode(update, callable_x0, u, K, v=v)[-1], fd, rtol=0, atol=FD_TOL * scale)
    vjp = reverse_mode(update, callable_x0, u, K, w=w)[-1]
    close(vjp @ ravel_pytree(v)[0], w @ fd, rtol=0, atol=FD_TOL * scale * float(
        jnp.linalg.norm(w)))


# --- JVP / VJP variants equal the contracted Jacobians ---------------------------------

@pytest.mark.parametrize("x0_name", list(X0S))
@pytest.mark.parametrize("index", [0, 3])
def test_tangent_and_cotangent_variants_contract_the_jacobians(key, x0_name, index):
    _, update, u = ls_setup(key)
    x0 = X0S[x0_name]
    key_v, key_w = jax.random.split(key)
    v = (jax.random.normal(key_v, (M, N)), jax.random.normal(key_v, (M,)))
    w = jax.random.normal(key_w, (N,))
    v_flat = ravel_pytree(v)[0]
    jac_fwd = forward_mode(update, x0, u, K, start=index)
    jac_rev = reverse_mode(update, x0, u, K, stop=index)
    close(forward_mode(update, x0, u, K, start=index, v=v), jnp.einsum("knp,p->kn", jac_fwd,
                                                                        v_flat))
    close(reverse_mode(update, x0, u, K, stop=index, w=w), jnp.einsum("n,knp->kp", w, jac_rev))


# --- implicit differentiation -----------------------------------------------------------

def test_implicit_jacobian_is_the_ridge_closed_form(key):
    problem, update, u = ridge_setup(key)
    x_star = problem.x_star(u)
    close(implicit_jacobian(update, x_star, u), problem.jacobian(u))
    close(implicit_jacobian(update, x_star, u, v=1.0), problem.jacobian(u)[:, 0])
    w = jnp.arange(1.0, N + 1.0)
    close(implicit_jacobian(update, x_star, u, w=w), w @ problem.jacobian(u))


def test_implicit_jacobian_is_the_least_squares_closed_form(key):
    problem, update, u = ls_setup(key)
    x_star = problem.x_star(u)
    key_v, key_w = jax.random.split(key)
    v = (jax.random.normal(key_v, (M, N)), jax.random.normal(key_v, (M,)))
    w = jax.random.normal(key_w, (N,))
    close(implicit_jacobian(update, x_star, u), problem.jacobian(u))
    close(implicit_jacobian(update, x_star, u, v=v), problems.least_squares_jvp(u, v))
    close(implicit_jacobian(update, x_star, u, w=w),
          ravel_pytree(problems.least_squares_vjp(u, w))[0])


def test_implicit_jacobian_matches_finite_differences_on_logistic_regression(key):
    """No closed form: compare with central differences of the Newton solution x*(u)."""
    key_X, key_y = jax.random.split(key)
    X = jax.random.normal(key_X, (20, N))
    y = jnp.where(jax.random.normal(key_y, (20,)) > 0, 1.0, -1.0)
    problem = problems.logistic_regression(X, y)
    u = -1.0
    x_star = problem.x_star(u)
    fd = (problem.x_star(u + FD_STEP) - problem.x_star(u - FD_STEP)) / (2 * FD_STEP)
    scale = max(1.0, float(jnp.max(jnp.abs(fd))))
    for update in (gradient_descent(problem.f, 1.0 / problem.smoothness(u)), newton(problem.f)):
        close(implicit_jacobian(update, x_star, u)[:, 0], fd, rtol=0, atol=FD_TOL * scale)
    close(problem.jacobian(u)[:, 0], fd, rtol=0, atol=FD_TOL * scale)


def test_implicit_jacobian_rejects_both_directions(key):
    problem, update, u = ridge_setup(key)
    with pytest.raises(ValueError, match="at most one of v"):
        implicit_jacobian(update, problem.x_star(u), u, v=1.0, w=jnp.ones(N))


# --- one-step differentiation --------------------------------------------------------------

def test_one_step_jacobian_is_the_last_step_alone(key):
    """C = d_u A(x, u) with x held fixed, and its JVP / VJP variants."""
    _, update, u = ls_setup(key)
    x = constant_x0()
    step, u_flat = flat_fn(lambda u: update(x, u), u)
    C = jax.jacfwd(step)(u_flat)
    close(one_step_jacobian(update, x, u), C)
    key_v, key_w = jax.random.split(key)
    v = (jax.random.normal(key_v, (M, N)), jax.random.normal(key_v, (M,)))
    w = jax.random.normal(key_w, (N,))
    close(one_step_jacobian(update, x, u, v=v), C @ ravel_pytree(v)[0])
    close(one_step_jacobian(update, x, u, w=w), w @ C)
    with pytest.raises(ValueError, match="at most one of v"):
        one_step_jacobian(update, x, u, v=v, w=w)


def test_one_step_is_exact_for_newton_on_a_quadratic_but_not_for_gd(key):
    """On a quadratic, Newton maps every x to x*(u): d_u A(x, u) = Dx*(u) for all x
    (Bolte et al.: superlinear methods). GD's d_u A(x*, u) = -α x* differs from Dx*."""
    problem, gd_update, u = ridge_setup(key)
    newton_update = newton(problem.f)
    jac = problem.jacobian(u)
    for x in (jnp.zeros(N), 10 * constant_x0(), problem.x_star(u)):
        close(newton_update(x, u), problem.x_star(u))
        close(one_step_jacobian(newton_update, x, u), jac, rtol=1e-9, atol=1e-10)
    x_star, alpha = problem.x_star(u), 1.0 / problem.smoothness(u)
    gd_one_step = one_step_jacobian(gd_update, x_star, u)
    close(gd_one_step[:, 0], -alpha * x_star)
    assert jnp.linalg.norm(gd_one_step - jac) > 0.1 * jnp.linalg.norm(jac)


def test_one_step_equals_implicit_at_a_newton_fixed_point(key):
    """Logistic regression: ∂x A = 0 at x* for Newton, so one-step == implicit there."""
    X = jax.random.normal(key, (20, N))
    y = jnp.sign(X[:, 0] + 0.3)
    problem = problems.logistic_regression(X, y)
    u = 0.0
    update = newton(problem.f)
    x_star = problem.x_star(u)
    close(one_step_jacobian(update, x_star, u), implicit_jacobian(update, x_star, u),
          rtol=1e-8, atol=1e-10)


# --- methods with memory: heavy ball and Chebyshev -------------------------------------

def test_heavy_ball_jacobians_in_phase_space(key):
    problem, _, u = ridge_setup(key)
    L, mu = problem.smoothness(u), problem.strong_convexity(u)
    update = heavy_ball(problem.f, 1.0 / L, 0.5 * ((jnp.sqrt(L) - jnp.sqrt(mu))
                                                   / (jnp.sqrt(L) + jnp.sqrt(mu))) ** 2)
    z0 = (constant_x0(), constant_x0())
    path = lambda u: iterate(update, z0, u, K)  # noqa: E731
    derivs = forward_mode(update, z0, u, K)
    assert derivs.shape == (K + 1, 2 * N, 1)
    close(derivs[..., 0], jax.jacfwd(path)(u))
    close(reverse_mode(update, z0, u, K)[-1], derivs[-1])
    # The second block lags the first by one step: z^(k) = (x^(k), x^(k-1)).
    close(derivs[2:, N:], derivs[1:-1, :N])


def test_heavy_ball_on_a_pytree_iterate_converges_to_the_implicit_jacobian(key):
    """x is a dict {"c": scalar, "w": (N-1,)} (ravel order c, w); z = (x1, x2)."""
    problem, _, u = ridge_setup(key)
    unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})[1]
    f_tree = lambda x, u: problem.f(ravel_pytree(x)[0], u)  # noqa: E731
    L, mu = problem.smoothness(u), problem.strong_convexity(u)
    sqL, sqm = jnp.sqrt(L), jnp.sqrt(mu)
    update = heavy_ball(f_tree, 4 / (sqL + sqm) ** 2, ((sqL - sqm) / (sqL + sqm)) ** 2)
    x0 = unravel(constant_x0())
    derivs = forward_mode(update, (x0, x0), u, 400)
    close(derivs[-1, :N], problem.jacobian(u), rtol=1e-8, atol=1e-10)
    path = lambda u: iterate(update, (x0, x0), u, K)  # noqa: E731
    close(forward_mode(update, (x0, x0), u, K)[..., 0], jax.jacfwd(path)(u))


def test_chebyshev_jacobians_match_jacfwd(key):
    problem, _, u = ridge_setup(key)
    update, init = chebyshev(problem.f, problem.smoothness(u), problem.strong_convexity(u))
    state0 = lambda u: init(callable_x0(u))  # noqa: E731
    derivs = forward_mode(update, state0, u, K)
    assert derivs.shape == (K + 1, 2 * N + 1, 1)
    close(derivs[..., 0], jax.jacfwd(lambda u: iterate(update, state0, u, K))(u))
    close(reverse_mode(update, state0, u, K)[-1], derivs[-1])
    close(derivs[:, -1], 0.0)                     # the ω state does not depend on u


# --- pytrees, jit, vmap ---------------------------------------------------------------------

def test_dict_parameters(key):
    """u = {"A": A, "b": b} (ravel order A, b: the order of the tuple (A, b))."""
    problem, _, u = ls_setup(key)
    u_dict = {"A": u[0], "b": u[1]}
    f_dict = lambda x, u: problem.f(x, (u["A"], u["b"]))  # noqa: E731
    update = gradient_descent(f_dict, 1.0 / problem.smoothness(u))
    x_star = problem.x_star(u)
    close(implicit_jacobian(update, x_star, u_dict), problem.jacobian(u))
    path, u_flat = flat_fn(lambda u: iterate(update, callable_x0, u, K), u_dict)
    close(forward_mode(update, callable_x0, u_dict, K), jax.jacfwd(path)(u_flat))
    close(reverse_mode(update, callable_x0, u_dict, K)[-1], jax.jacfwd(path)(u_flat)[-1])
    w = jnp.ones(N)
    close(one_step_jacobian(update, x_star, u_dict, w=w),
          w @ one_step_jacobian(update, x_star, u_dict))


def test_dict_iterate(key):
    """x = {"c": scalar, "w": (N-1,)}: same numbers as the flat problem, cotangent w a dict."""
    problem, flat_update, u = ridge_setup(key)
    x0_flat = constant_x0()
    unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})[1]
    f_tree = lambda x, u: problem.f(ravel_pytree(x)[0], u)  # noqa: E731
    update = gradient_descent(f_tree, 1.0 / problem.smoothness(u))
    x0 = unravel(x0_flat)
    close(iterate(update, x0, u, K), iterate(flat_update, x0_flat, u, K))
    close(forward_mode(update, x0, u, K), forward_mode(flat_update, x0_flat, u, K))
    w = unravel(jnp.arange(1.0, N + 1.0))
    close(reverse_mode(update, x0, u, K, w=w),
          reverse_mode(flat_update, x0_flat, u, K, w=jnp.arange(1.0, N + 1.0)))
    x_star = unravel(problem.x_star(u))
    close(implicit_jacobian(update, x_star, u), problem.jacobian(u))
    close(implicit_jacobian(update, x_star, u, w=w), jnp.arange(1.0, N + 1.0) @ problem.jacobian(u))


def test_jit_matches_eager_and_keeps_float64(key):
    _, update, u = ls_setup(key)
    x0 = constant_x0()
    x_star = problems.least_squares().x_star(u)
    estimators = {
        "iterate": lambda u: iterate(update, x0, u, K),
        "forward": lambda u: forward_mode(update, x0, u, K, start=2),
        "reverse": lambda u: reverse_mode(update, x0, u, K, stop=2),
        "implicit": lambda u: implicit_jacobian(update, x_star, u),
        "one_step": lambda u: one_step_jacobian(update, x_star, u),
    }
    for fn in estimators.values():
        jitted = jax.jit(fn)(u)
        assert jitted.dtype == jnp.float64
        close(jitted, fn(u), rtol=1e-13, atol=1e-14)


def test_vmap_over_three_ridge_weights(key):
    problem, _, _ = ridge_setup(key)
    update = gradient_descent(problem.f, 0.5 / problem.smoothness(2.0))
    x0 = constant_x0()
    us = jnp.array([0.1, 0.5, 2.0])
    batched = jax.vmap(lambda u: forward_mode(update, x0, u, K)[-1])(us)
    assert batched.shape == (3, N, 1) and batched.dtype == jnp.float64
    close(batched, jnp.stack([forward_mode(update, x0, u, K)[-1] for u in us]))
    close(jax.vmap(lambda u: reverse_mode(update, x0, u, K)[-1])(us), batched)
    close(jax.vmap(lambda u: implicit_jacobian(update, problem.x_star(u), u))(us),
          jnp.stack([problem.jacobian(u) for u in us]))


def test_vmap_over_three_least_squares_instances(key):
    problem = problems.least_squares()
    us = [problems.least_squares_instance(k, M, N) for k in jax.random.split(key, 3)]
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), *us)
    update = gradient_descent(problem.f, 0.02)
    x0, w = constant_x0(), jnp.arange(1.0, N + 1.0)
    batched = jax.vmap(lambda u: reverse_mode(update, x0, u, K, w=w)[-1])(batch)
    assert batched.shape == (3, M * N + M) and batched.dtype == jnp.float64
    close(batched, jnp.stack([reverse_mode(update, x0, u, K, w=w)[-1] for u in us]))
    close(jax.vmap(lambda u: implicit_jacobian(update, problem.x_star(u), u))(batch),
          jnp.stack([problem.jacobian(u) for u in us]))


def test_zero_steps_and_full_truncation(key):
    _, update, u = ls_setup(key)
    x0, p = constant_x0(), M * N + M
    assert iterate(update, x0, u, 0).shape == (1, N)
    close(forward_mode(update, x0, u, 0), jnp.zeros((1, N, p)))
    close(reverse_mode(update, x0, u, 0), jnp.zeros((1, N, p)))
    close(forward_mode(update, x0, u, K, start=K), jnp.zeros((1, N, p)))
    close(reverse_mode(update, callable_x0, u, K, stop=K)[0],
          jax.jacfwd(flat_fn(callable_x0, u)[0])(ravel_pytree(u)[0]))
