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
from unrolling import data

K, N, M = 8, 3, 6
FD_STEP, FD_TOL = 1e-6, 1e-7


def close(a, b, rtol=1e-11, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def evaluate(fn, *args):
    """fn(*args) under one ``jax.jit``, fetched to numpy.

    Every eager call of a loop (lax.scan) compiles it again; running a whole comparison
    as one jitted program compiles once, which keeps this file fast. Eager calls are
    checked against jitted ones in test_jit_matches_eager_and_keeps_float64.
    """
    return jax.device_get(jax.jit(fn)(*args))


# --- problems (fixed data from an explicit key; step sizes 1/L computed on the host) ---

KEY = jax.random.PRNGKey(0)
A_DATA, B_DATA = (np.asarray(a) for a in data.least_squares_instance(KEY, M, N))
V_DIR = (np.asarray(jax.random.normal(jax.random.PRNGKey(1), (M, N))),
         np.asarray(jax.random.normal(jax.random.PRNGKey(2), (M,))))   # tangent, shape of u
W_DIR = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (N,)))     # cotangent, shape of x
RIDGE_U = 0.3
RIDGE_L = np.linalg.eigvalsh(A_DATA.T @ A_DATA).max() + RIDGE_U
LS_L = np.linalg.eigvalsh(A_DATA.T @ A_DATA).max()


def ridge_setup(u=RIDGE_U):
    """GD with step 1/L on ridge in its weight u (scalar), p = 1."""
    problem = problems.ridge(A_DATA, B_DATA)
    return problem, gradient_descent(problem.f, 1.0 / RIDGE_L), jnp.asarray(u)


def ls_setup():
    """GD with step 1/L on least squares in u = (A, b): p = M N + M = 24."""
    problem = problems.least_squares()
    u = (jnp.asarray(A_DATA), jnp.asarray(B_DATA))
    return problem, gradient_descent(problem.f, 1.0 / LS_L), u


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

def test_iterate_is_the_python_loop():
    def both(u):
        _, update, _ = ls_setup()
        x = callable_x0(u)
        rows = [x]
        for _ in range(K):
            x = update(x, u)
            rows.append(x)
        return iterate(update, callable_x0, u, K), jnp.stack(rows)
    xs, rows = evaluate(both, ls_setup()[2])
    assert xs.shape == (K + 1, N) and xs.dtype == np.float64
    close(xs, rows, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("setup", list(SETUPS))
def test_forward_and_reverse_mode_equal_jacfwd_and_jacrev_through_the_loop(setup):
    _, update, u = SETUPS[setup]()

    def compare(u, x0):
        path, u_flat = flat_fn(lambda u: iterate(update, x0, u, K), u)
        init, _ = flat_fn(lambda u: x0(u) if callable(x0) else x0, u)
        return dict(forward=forward_mode(update, x0, u, K), jacfwd=jax.jacfwd(path)(u_flat),
                    reverse=reverse_mode(update, x0, u, K),
                    jacrev=jax.jacrev(lambda w: path(w)[-1])(u_flat),
                    init=jax.jacfwd(init)(u_flat))
    results = evaluate(lambda u: [compare(u, x0) for x0 in X0S.values()], u)
    for r in results:
        p = r["jacfwd"].shape[-1]
        assert r["forward"].shape == r["reverse"].shape == (K + 1, N, p)
        assert r["forward"].dtype == r["reverse"].dtype == np.float64
        close(r["forward"], r["jacfwd"])                    # every k: D x^(k)
        close(r["reverse"][-1], r["jacrev"])                # entry k = 0: D x^(K)
        close(r["reverse"][0], r["init"])                   # entry k = K: D x^(0)
        close(r["reverse"][-1], r["forward"][-1])           # full unrolling: equal


@pytest.mark.parametrize("x0_name", list(X0S))
def test_late_start_forward_equals_truncated_reverse(x0_name):
    """Entry k of the full sweep (position K - k) == forward mode started at T' = k;
    the sweep stopped at T' is the head of the full sweep (several T')."""
    _, update, u = ls_setup()
    x0, starts = X0S[x0_name], (1, 4, K)

    def compare(u):
        return dict(sweep=reverse_mode(update, x0, u, K),
                    late=[forward_mode(update, x0, u, K, start=T) for T in starts],
                    stopped=[reverse_mode(update, x0, u, K, stop=T) for T in starts])
    r = evaluate(compare, u)
    for T, late, stopped in zip(starts, r["late"], r["stopped"]):
        assert late.shape[0] == stopped.shape[0] == K - T + 1
        close(r["sweep"][K - T], late[-1])
        close(stopped, r["sweep"][:K - T + 1])


@pytest.mark.parametrize("x0_name", list(X0S))
def test_late_start_equals_jacfwd_of_detached_start(x0_name):
    """Reference for Mehmood eq. (20): start the loop from x^(T') with its derivative
    replaced by D x^(0), i.e. x^(T') detached plus (x0(u) - detached x0(u))."""
    _, update, u = ridge_setup()
    x0, sg, starts = X0S[x0_name], jax.lax.stop_gradient, (3, K)

    def reference(u, start):
        def x_start(u):
            x_init = x0(u) if callable(x0) else x0
            return sg(iterate(update, x0, u, start)[-1]) + x_init - sg(x_init)
        return jax.jacfwd(lambda u: iterate(update, x_start, u, K - start))(u)

    def compare(u):
        return ([forward_mode(update, x0, u, K, start=T)[..., 0] for T in starts],
                [reference(u, T) for T in starts])
    for late, ref in zip(*evaluate(compare, u)):
        close(late, ref)


# --- finite differences ---------------------------------------------------------------

def test_forward_and_reverse_match_finite_differences_on_ridge():
    _, update, u = ridge_setup()
    x0 = constant_x0()

    def compare(u):
        last = lambda u: iterate(update, x0, u, K)[-1]  # noqa: E731
        fd = (last(u + FD_STEP) - last(u - FD_STEP)) / (2 * FD_STEP)
        return (fd, forward_mode(update, x0, u, K)[-1][:, 0],
                reverse_mode(update, x0, u, K)[-1][:, 0])
    fd, forward, reverse = evaluate(compare, u)
    scale = max(1.0, np.max(np.abs(fd)))
    close(forward, fd, rtol=0, atol=FD_TOL * scale)
    close(reverse, fd, rtol=0, atol=FD_TOL * scale)


def test_jvp_and_vjp_match_finite_differences_on_least_squares():
    _, update, u = ls_setup()

    def compare(u, v, w):
        def last(t):  # x^(K)(u + t v)
            u_t = jax.tree.map(lambda a, b: a + t * b, u, v)
            return iterate(update, callable_x0, u_t, K)[-1]
        fd = (last(FD_STEP) - last(-FD_STEP)) / (2 * FD_STEP)
        vjp = reverse_mode(update, callable_x0, u, K, w=w)[-1]
        return fd, forward_mode(update, callable_x0, u, K, v=v)[-1], vjp @ ravel_pytree(v)[0]
    fd, jvp, vjp_v = evaluate(compare, u, V_DIR, W_DIR)
    scale = max(1.0, np.max(np.abs(fd)))
    close(jvp, fd, rtol=0, atol=FD_TOL * scale)
    close(vjp_v, W_DIR @ fd, rtol=0, atol=FD_TOL * scale * np.linalg.norm(W_DIR))


# --- JVP / VJP variants equal the contracted Jacobians ---------------------------------

@pytest.mark.parametrize("x0_name", list(X0S))
def test_tangent_and_cotangent_variants_contract_the_jacobians(x0_name):
    _, update, u = ls_setup()
    x0, index = X0S[x0_name], 3

    def compare(u, v, w):
        return (forward_mode(update, x0, u, K, start=index, v=v),
                jnp.einsum("knp,p->kn", forward_mode(update, x0, u, K, start=index),
                           ravel_pytree(v)[0]),
                reverse_mode(update, x0, u, K, stop=index, w=w),
                jnp.einsum("n,knp->kp", w, reverse_mode(update, x0, u, K, stop=index)))
    jvps, contracted_fwd, vjps, contracted_rev = evaluate(compare, u, V_DIR, W_DIR)
    close(jvps, contracted_fwd)
    close(vjps, contracted_rev)


# --- implicit differentiation -----------------------------------------------------------

def test_implicit_jacobian_is_the_ridge_closed_form():
    problem, update, u = ridge_setup()
    w = jnp.arange(1.0, N + 1.0)

    def compare(u):
        x_star = problem.x_star(u)
        return dict(jac=implicit_jacobian(update, x_star, u), closed=problem.jacobian(u),
                    jvp=implicit_jacobian(update, x_star, u, v=1.0),
                    vjp=implicit_jacobian(update, x_star, u, w=w))
    r = evaluate(compare, u)
    close(r["jac"], r["closed"])
    close(r["jvp"], r["closed"][:, 0])
    close(r["vjp"], w @ r["closed"])


def test_implicit_jacobian_is_the_least_squares_closed_form():
    problem, update, u = ls_setup()

    def compare(u, v, w):
        x_star = problem.x_star(u)
        return dict(jac=implicit_jacobian(update, x_star, u), closed=problem.jacobian(u),
                    jvp=implicit_jacobian(update, x_star, u, v=v),
                    closed_jvp=zoo.least_squares_jvp(u, v),
                    vjp=implicit_jacobian(update, x_star, u, w=w),
                    closed_vjp=ravel_pytree(zoo.least_squares_vjp(u, w))[0])
    r = evaluate(compare, u, V_DIR, W_DIR)
    close(r["jac"], r["closed"])
    close(r["jvp"], r["closed_jvp"])
    close(r["vjp"], r["closed_vjp"])


def logistic_problem():
    """L2-regularized logistic regression on 20 Gaussian points, labels from a hyperplane."""
    X = A_DATA.std() * np.asarray(jax.random.normal(jax.random.PRNGKey(4), (20, N)))
    return problems.logistic_regression(X, np.sign(X[:, 0] + 0.3))


def test_implicit_jacobian_matches_finite_differences_on_logistic_regression():
    """No closed form: compare with central differences of the Newton solution x*(u)."""
    problem = logistic_problem()

    def compare(u):
        x_star = problem.x_star(u)
        fd = (problem.x_star(u + FD_STEP) - problem.x_star(u - FD_STEP)) / (2 * FD_STEP)
        gd = gradient_descent(problem.f, 1.0 / problem.smoothness(u))
        return (fd, implicit_jacobian(gd, x_star, u)[:, 0],
                implicit_jacobian(newton(problem.f), x_star, u)[:, 0], problem.jacobian(u)[:, 0])
    fd, *estimates = evaluate(compare, -1.0)
    scale = max(1.0, np.max(np.abs(fd)))
    for estimate in estimates:      # GD's and Newton's implicit Jacobians, the problem's own
        close(estimate, fd, rtol=0, atol=FD_TOL * scale)


def test_implicit_and_one_step_reject_both_directions():
    _, update, u = ridge_setup()
    for estimator in (implicit_jacobian, one_step_jacobian):
        with pytest.raises(ValueError, match="at most one of v"):
            estimator(update, jnp.zeros(N), u, v=1.0, w=jnp.ones(N))


# --- one-step differentiation --------------------------------------------------------------

def test_one_step_jacobian_is_the_last_step_alone():
    """C = d_u A(x, u) with x held fixed, and its JVP / VJP variants."""
    _, update, u = ls_setup()
    x = constant_x0()

    def compare(u, v, w):
        step, u_flat = flat_fn(lambda u: update(x, u), u)
        C = jax.jacfwd(step)(u_flat)
        return dict(C=C, one_step=one_step_jacobian(update, x, u),
                    jvp=one_step_jacobian(update, x, u, v=v), Cv=C @ ravel_pytree(v)[0],
                    vjp=one_step_jacobian(update, x, u, w=w), wC=w @ C)
    r = evaluate(compare, u, V_DIR, W_DIR)
    close(r["one_step"], r["C"])
    close(r["jvp"], r["Cv"])
    close(r["vjp"], r["wC"])


def test_one_step_is_exact_for_newton_on_a_quadratic_but_not_for_gd():
    """On a quadratic, Newton maps every x to x*(u): d_u A(x, u) = Dx*(u) for all x
    (Bolte et al.: superlinear methods). GD's d_u A(x*, u) = -α x* differs from Dx*."""
    problem, gd_update, u = ridge_setup()
    newton_update = newton(problem.f)

    def compare(u):
        x_star = problem.x_star(u)
        points = (jnp.zeros(N), 10 * constant_x0(), x_star)
        return dict(jac=problem.jacobian(u), x_star=x_star,
                    steps=[newton_update(x, u) for x in points],
                    newton=[one_step_jacobian(newton_update, x, u) for x in points],
                    gd=one_step_jacobian(gd_update, x_star, u))
    r = evaluate(compare, u)
    for x_next, one_step in zip(r["steps"], r["newton"]):
        close(x_next, r["x_star"], rtol=1e-9, atol=1e-10)
        close(one_step, r["jac"], rtol=1e-9, atol=1e-10)
    close(r["gd"][:, 0], -r["x_star"] / RIDGE_L)
    assert np.linalg.norm(r["gd"] - r["jac"]) > 0.1 * np.linalg.norm(r["jac"])


def test_one_step_equals_implicit_at_a_newton_fixed_point():
    """Logistic regression: ∂x A = 0 at x* for Newton, so one-step == implicit there."""
    problem = logistic_problem()
    update = newton(problem.f)

    def compare(u):
        x_star = problem.x_star(u)
        return one_step_jacobian(update, x_star, u), implicit_jacobian(update, x_star, u)
    one_step, implicit = evaluate(compare, 0.0)
    close(one_step, implicit, rtol=1e-8, atol=1e-10)


# --- methods with memory: heavy ball and Chebyshev -------------------------------------

def test_heavy_ball_jacobians_in_phase_space():
    problem, _, u = ridge_setup()
    update = heavy_ball(problem.f, 1.0 / RIDGE_L, 0.3)
    z0 = (constant_x0(), constant_x0())

    def compare(u):
        path = lambda u: iterate(update, z0, u, K)  # noqa: E731
        return (forward_mode(update, z0, u, K), jax.jacfwd(path)(u),
                reverse_mode(update, z0, u, K)[-1])
    derivs, reference, reverse = evaluate(compare, u)
    assert derivs.shape == (K + 1, 2 * N, 1)
    close(derivs[..., 0], reference)
    close(reverse, derivs[-1])
    # The second block lags the first by one step: z^(k) = (x^(k), x^(k-1)).
    close(derivs[2:, N:], derivs[1:-1, :N])


def test_heavy_ball_on_a_pytree_iterate_converges_to_the_implicit_jacobian():
    """x is a dict {"c": scalar, "w": (N-1,)} (ravel order c, w); z = (x1, x2);
    Polyak's parameters make the phase-space map converge (rate sqrt(momentum))."""
    unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})[1]
    problem, _, u = ridge_setup()
    f_tree = lambda x, u: problem.f(ravel_pytree(x)[0], u)  # noqa: E731
    lam = np.linalg.eigvalsh(A_DATA.T @ A_DATA) + RIDGE_U
    sqL, sqm = np.sqrt(lam.max()), np.sqrt(lam.min())
    update = heavy_ball(f_tree, 4 / (sqL + sqm) ** 2, ((sqL - sqm) / (sqL + sqm)) ** 2)
    z0 = (unravel(constant_x0()), unravel(constant_x0()))

    def compare(u):
        path = lambda u: iterate(update, z0, u, K)  # noqa: E731
        return (forward_mode(update, z0, u, 400)[-1, :N], problem.jacobian(u),
                forward_mode(update, z0, u, K)[..., 0], jax.jacfwd(path)(u))
    converged, jac, derivs, reference = evaluate(compare, u)
    close(converged, jac, rtol=1e-8, atol=1e-10)
    close(derivs, reference)


def test_chebyshev_jacobians_match_jacfwd():
    problem, _, u = ridge_setup()
    lam = np.linalg.eigvalsh(A_DATA.T @ A_DATA) + RIDGE_U
    update, init = chebyshev(problem.f, lam.max(), lam.min())
    state0 = lambda u: init(callable_x0(u))  # noqa: E731

    def compare(u):
        return (forward_mode(update, state0, u, K),
                jax.jacfwd(lambda u: iterate(update, state0, u, K))(u),
                reverse_mode(update, state0, u, K)[-1])
    derivs, reference, reverse = evaluate(compare, u)
    assert derivs.shape == (K + 1, 2 * N + 1, 1)
    close(derivs[..., 0], reference)
    close(reverse, derivs[-1])
    close(derivs[:, -1], 0.0)                     # the ω state does not depend on u


# --- pytrees, jit, vmap ---------------------------------------------------------------------

def test_dict_parameters():
    """u = {"A": A, "b": b} (ravel order A, b: the order of the tuple (A, b))."""
    problem, _, u = ls_setup()
    f_dict = lambda x, u: problem.f(x, (u["A"], u["b"]))  # noqa: E731
    update = gradient_descent(f_dict, 1.0 / LS_L)

    def compare(u_dict):
        x_star, w = problem.x_star(u), jnp.ones(N)
        path, u_flat = flat_fn(lambda u: iterate(update, callable_x0, u, K), u_dict)
        return dict(implicit=implicit_jacobian(update, x_star, u_dict), closed=problem.jacobian(u),
                    forward=forward_mode(update, callable_x0, u_dict, K),
                    reverse=reverse_mode(update, callable_x0, u_dict, K)[-1],
                    reference=jax.jacfwd(path)(u_flat),
                    vjp=one_step_jacobian(update, x_star, u_dict, w=w),
                    one_step=w @ one_step_jacobian(update, x_star, u_dict))
    r = evaluate(compare, {"A": u[0], "b": u[1]})
    close(r["implicit"], r["closed"])
    close(r["forward"], r["reference"])
    close(r["reverse"], r["reference"][-1])
    close(r["vjp"], r["one_step"])


def test_dict_iterate():
    """x = {"c": scalar, "w": (N-1,)}: same numbers as the flat problem, cotangent w a dict."""
    unravel = ravel_pytree({"c": jnp.zeros(()), "w": jnp.zeros(N - 1)})[1]
    problem, flat_update, u = ridge_setup()
    f_tree = lambda x, u: problem.f(ravel_pytree(x)[0], u)  # noqa: E731
    update = gradient_descent(f_tree, 1.0 / RIDGE_L)
    x0_flat, w_flat = constant_x0(), jnp.arange(1.0, N + 1.0)
    x0, w = unravel(x0_flat), unravel(w_flat)

    def compare(u):
        x_star = unravel(problem.x_star(u))
        return dict(   # forward_mode runs the iterates too: no separate iterate check
            tree=(forward_mode(update, x0, u, K), reverse_mode(update, x0, u, K, w=w),
                  implicit_jacobian(update, x_star, u), implicit_jacobian(update, x_star, u, w=w)),
            flat=(forward_mode(flat_update, x0_flat, u, K),
                  reverse_mode(flat_update, x0_flat, u, K, w=w_flat), problem.jacobian(u),
                  w_flat @ problem.jacobian(u)))
    r = evaluate(compare, u)
    for tree_value, flat_value in zip(r["tree"], r["flat"]):
        close(tree_value, flat_value)


def test_jit_matches_eager_and_keeps_float64():
    problem, update, u = ls_setup()
    x_star = problem.x_star(u)
    estimators = {   # (iterate and one_step run eagerly in test_methods / test_validation)
        "forward": lambda u: forward_mode(update, callable_x0, u, K, start=2),
        "reverse": lambda u: reverse_mode(update, callable_x0, u, K, stop=2, w=W_DIR),
        "implicit": lambda u: implicit_jacobian(update, x_star, u),
    }
    for fn in estimators.values():
        eager, jitted = fn(u), jax.jit(fn)(u)
        assert eager.dtype == jitted.dtype == jnp.float64
        close(jitted, eager, rtol=1e-13, atol=1e-14)


def test_vmap_over_three_ridge_weights():
    problem, _, _ = ridge_setup()
    update = gradient_descent(problem.f, 0.5 / (RIDGE_L + 2.0))
    x0, us = constant_x0(), jnp.array([0.1, 0.5, 2.0])

    def compare(us):
        return dict(
            forward=jax.vmap(lambda u: forward_mode(update, x0, u, K)[-1])(us),
            one_by_one=jnp.stack([forward_mode(update, x0, u, K)[-1] for u in us]),
            reverse=jax.vmap(lambda u: reverse_mode(update, x0, u, K)[-1])(us),
            implicit=jax.vmap(lambda u: implicit_jacobian(update, problem.x_star(u), u))(us),
            closed=jnp.stack([problem.jacobian(u) for u in us]))
    r = evaluate(compare, us)
    assert r["forward"].shape == (3, N, 1) and r["forward"].dtype == np.float64
    close(r["forward"], r["one_by_one"])
    close(r["reverse"], r["forward"])
    close(r["implicit"], r["closed"])


def test_vmap_over_three_least_squares_instances():
    problem = problems.least_squares()
    us = [data.least_squares_instance(k, M, N) for k in jax.random.split(KEY, 3)]
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), *us)
    update = gradient_descent(problem.f, 0.02)
    x0 = constant_x0()

    def compare(batch, w):
        us = [jax.tree.map(lambda leaf: leaf[i], batch) for i in range(3)]
        return dict(
            reverse=jax.vmap(lambda u: reverse_mode(update, x0, u, K, w=w)[-1])(batch),
            one_by_one=jnp.stack([reverse_mode(update, x0, u, K, w=w)[-1] for u in us]),
            implicit=jax.vmap(lambda u: implicit_jacobian(update, problem.x_star(u), u))(batch),
            closed=jnp.stack([problem.jacobian(u) for u in us]))
    r = evaluate(compare, batch, W_DIR)
    assert r["reverse"].shape == (3, M * N + M) and r["reverse"].dtype == np.float64
    close(r["reverse"], r["one_by_one"])
    close(r["implicit"], r["closed"])


def test_zero_steps_and_full_truncation():
    _, update, u = ls_setup()
    x0, p = constant_x0(), M * N + M

    def compare(u):
        return dict(
            iterate=iterate(update, x0, u, 0), forward0=forward_mode(update, x0, u, 0),
            reverse0=reverse_mode(update, x0, u, 0),
            forwardK=forward_mode(update, x0, u, K, start=K),
            reverseK=reverse_mode(update, callable_x0, u, K, stop=K),
            init=jax.jacfwd(flat_fn(callable_x0, u)[0])(ravel_pytree(u)[0]))
    r = evaluate(compare, u)
    assert r["iterate"].shape == (1, N)
    for name in ("forward0", "reverse0", "forwardK"):
        close(r[name], np.zeros((1, N, p)))
    close(r["reverseK"], r["init"][None])


# --- the estimator values: one vocabulary, each with its JVP and VJP ------------------------

from unrolling import Implicit, OneStep, Truncated, Unrolled  # noqa: E402
import zoo  # noqa: E402  (tests/zoo.py)

LS_SETUP = (lambda: (gradient_descent(problems.least_squares().f, 1.0 / LS_L), jnp.zeros(N),
                     (jnp.asarray(A_DATA), jnp.asarray(B_DATA))))


def _loop_jvp_vjp(update, x0, u, num_steps, v, w):
    """Independent reference: jax.jvp / jax.vjp through a Python loop of the last steps."""
    def x_K(u_):
        x = x0
        for _ in range(num_steps):
            x = update(x, u_)
        return x
    return jax.jvp(x_K, (u,), (v,))[1], jax.vjp(x_K, u)[1](w)[0]


def test_estimator_names_are_the_book_vocabulary():
    assert [e.name for e in (Unrolled(), Truncated(3), OneStep(), Implicit())] == \
        ["unrolled", "truncated", "one-step", "implicit"]


def test_unrolled_jvp_and_vjp_equal_autodiff_through_the_loop():
    update, x0, u = LS_SETUP()
    v, w = (jnp.asarray(V_DIR[0]), jnp.asarray(V_DIR[1])), jnp.asarray(W_DIR)
    jvp_ref, vjp_ref = _loop_jvp_vjp(update, x0, u, K, v, w)
    close(Unrolled().jvp(update, x0, u, K, v), jvp_ref)
    close(ravel_pytree(Unrolled().vjp(update, x0, u, K, w))[0], ravel_pytree(vjp_ref)[0])


@pytest.mark.parametrize("steps", [1, 3, K, K + 5])
def test_truncated_equals_differentiating_the_last_steps_only(steps):
    """Reference: autodiff through the last min(steps, K) steps, started at x^(K - steps)."""
    update, x0, u = LS_SETUP()
    v, w = (jnp.asarray(V_DIR[0]), jnp.asarray(V_DIR[1])), jnp.asarray(W_DIR)
    k = min(steps, K)
    x_start = iterate(update, x0, u, K - k)[-1]
    jvp_ref, vjp_ref = _loop_jvp_vjp(update, x_start, u, k, v, w)
    close(Truncated(steps).jvp(update, x0, u, K, v), jvp_ref)
    close(ravel_pytree(Truncated(steps).vjp(update, x0, u, K, w))[0], ravel_pytree(vjp_ref)[0])
    assert Truncated(steps).stored_iterates(K) == k


def test_one_step_is_truncated_one_and_the_one_step_jacobian():
    update, x0, u = LS_SETUP()
    v, w = (jnp.asarray(V_DIR[0]), jnp.asarray(V_DIR[1])), jnp.asarray(W_DIR)
    close(OneStep().jvp(update, x0, u, K, v), Truncated(1).jvp(update, x0, u, K, v))
    close(ravel_pytree(OneStep().vjp(update, x0, u, K, w))[0],
          ravel_pytree(Truncated(1).vjp(update, x0, u, K, w))[0])
    with pytest.raises(ValueError, match="OneStep needs num_steps >= 1"):
        OneStep().jvp(update, x0, u, 0, v)


def test_implicit_converges_to_the_closed_form_jacobian():
    problem, update, u = ridge_setup()
    J = np.asarray(problem.jacobian(u))[:, 0]
    close(Implicit().jvp(update, jnp.zeros(N), u, 3000, 1.0), J, rtol=1e-9, atol=1e-12)
    close(Implicit().vjp(update, jnp.zeros(N), u, 3000, jnp.asarray(W_DIR)),
          jnp.asarray(W_DIR) @ J, rtol=1e-9, atol=1e-12)


def test_truncated_steps_must_be_a_positive_int():
    with pytest.raises(ValueError, match="Truncated.steps must be an int >= 1"):
        Truncated(0)
    with pytest.raises(TypeError, match="Truncated.steps"):
        Truncated(2.0)
