"""Tests for the adaptive truncation rule (unrolling._adaptive) and the Adaptive() estimator.

The estimator is checked against the library's plain recursions (forward_mode with a late
start, reverse_mode with a stop), the bilevel reverse sweep against the same, and the
rule's estimates against paths where the truth is known in closed form.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import Adaptive, bilevel as bl, data, forward_mode, methods, reverse_mode
from unrolling import _adaptive


def _least_squares(N=12, seed=0):
    A, b, _, _ = data.appendix_c_draws(jax.random.PRNGKey(seed), 1, 50, N)
    lam = np.linalg.eigvalsh(A[0].T @ A[0])
    return (A[0], b[0]), float(lam[-1]), float(lam[0])


def _f(x, u):
    return 0.5 * jnp.sum((u[0] @ x - u[1]) ** 2)


def test_observables_match_a_loop():
    path = jax.random.normal(jax.random.PRNGKey(1), (7, 3))
    delta, share, dist0, xnorm = (np.asarray(a) for a in _adaptive.observables(path))
    p = np.asarray(path)
    for k in range(2, 7):
        d, d_prev = p[k] - p[k - 1], p[k - 1] - p[k - 2]
        assert np.isclose(delta[k], np.linalg.norm(d), rtol=1e-13)
        expected = np.sum((d - d_prev) ** 2) / (2 * (d @ d + d_prev @ d_prev))
        assert np.isclose(share[k], expected, rtol=1e-13)
        assert np.isclose(dist0[k], np.linalg.norm(p[k] - p[0]), rtol=1e-13)
        assert np.isclose(xnorm[k], np.linalg.norm(p[k]), rtol=1e-13)
    assert share[0] == share[1] == 0.0


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.8])
def test_estimates_on_a_geometric_path(rho):
    """x_k = ρ^k a (x* = 0): ρ̂ = |ρ|; the reversing share is (1-ρ)²/(2(1+ρ²)) (near 1
    for ρ near -1, near 0 for ρ near 1); for ρ > 0 the estimated ê0 is ‖a‖ exactly."""
    a = jnp.array([1.0, -2.0, 0.5])
    path = rho ** jnp.arange(30.0)[:, None] * a[None]
    delta, share, dist0, xnorm = _adaptive.observables(path)
    rho_hat, ratio = _adaptive._estimates(delta, share, dist0, xnorm, window=10)
    k = np.arange(2, 30)
    assert np.allclose(rho_hat[k], abs(rho), rtol=1e-12)
    assert np.allclose(share[k], (1 - rho) ** 2 / (2 * (1 + rho**2)), rtol=1e-12)
    e0 = ratio[k] * xnorm[k] / (share[k] * (1 - rho_hat[k]))
    if rho > 0:
        assert np.allclose(e0, np.linalg.norm(a), rtol=1e-9)
    else:                                   # oscillation: the geometric tail overestimates
        assert np.all(e0 > np.linalg.norm(a))


def test_monotone_run_gives_up_only_the_observation_steps():
    """Short step 1/(3L): no direction flips sign, no burn-in to cut: T = 2 (the rule
    needs two differences before it can decide)."""
    u, L, m = _least_squares()
    update = methods.gradient_descent(_f, 1 / (3 * L))
    x0 = jax.random.uniform(jax.random.PRNGKey(2), (12,))
    assert Adaptive().start(update, x0, u, 300) <= 2


def test_oscillating_unconverged_run_truncates_to_the_cap():
    """Long step 2/(L+m) from a start far along the top eigenvector, K far below
    1/(1-ρ): the derivative cannot converge, the rule gives up max_fraction of K."""
    u, L, m = _least_squares(N=40, seed=0)
    update = methods.gradient_descent(_f, 2 / (L + m))
    x0 = 10 * jnp.ones(40)
    for cap in (0.8, 0.5):
        assert Adaptive(max_fraction=cap).start(update, x0, u, 200) == int(cap * 200)


def test_estimator_equals_late_start_forward_and_stopped_reverse_mode():
    u, L, m = _least_squares()
    update = methods.gradient_descent(_f, 2 / (L + m))
    x0 = 3 * jnp.ones(12)
    est, K = Adaptive(), 120
    T = est.start(update, x0, u, K)
    assert 2 <= T <= int(0.8 * K)
    v = jax.tree.map(lambda a: jnp.ones_like(a) / a.size, u)
    w = jnp.linspace(-1.0, 1.0, 12)
    jvp, vjp = est.jvp(update, x0, u, K, v), est.vjp(update, x0, u, K, w)
    assert np.allclose(jvp, forward_mode(update, x0, u, K, start=T, v=v)[-1], rtol=1e-12)
    assert np.allclose(vjp, reverse_mode(update, x0, u, K, stop=T, w=w)[-1], rtol=1e-12)
    v_flat = ravel_pytree(v)[0]                         # vjp is over the flattened u
    assert np.isclose(float(w @ jvp), float(vjp @ v_flat), rtol=1e-10)  # forward == reverse


def test_bilevel_sweep_stops_where_the_estimator_does():
    A, b, A_val, b_val = data.synthetic_regression(jax.random.PRNGKey(3), num_train=8,
                                                   num_val=6, num_features=4, noise=1.0,
                                                   condition=10.0)
    task = bl.ridge_task(A, b, A_val, b_val)
    x0, u = 5 * jnp.ones(4), jnp.asarray(0.3)
    d, x, K = bl.hypergradient(task.update, task.outer_loss, x0, u, estimator=Adaptive(),
                               eps=1e-6, max_inner=400)
    T = Adaptive().start(task.update, x0, u, int(K))
    w = jax.grad(task.outer_loss, argnums=0)(x, u)
    ref = reverse_mode(task.update, x0, u, int(K), stop=T, w=w)[-1]
    direct = jax.grad(task.outer_loss, argnums=1)(x, u)
    assert np.isclose(float(d), float(ref[0] + direct), rtol=1e-10)


def test_omega_reallocation_keeps_the_cap():
    path = (-0.99) ** jnp.arange(201.0)[:, None] * jnp.array([[5.0, 1.0]]) + 0.01
    obs = _adaptive.observables(path)
    for omega in (0.0, 1.0, 3.0):
        T = int(_adaptive.choose_start(*obs, 200, omega=omega))
        assert 0 <= T <= 160


@pytest.mark.parametrize("kwargs, words", [
    (dict(scale=0.0), "Adaptive.scale"), (dict(scale=float("nan")), "Adaptive.scale"),
    (dict(window=0), "Adaptive.window"), (dict(window=2.5), "Adaptive.window"),
    (dict(max_fraction=1.0), "Adaptive.max_fraction"),
    (dict(max_fraction=-0.1), "Adaptive.max_fraction")])
def test_invalid_arguments_name_themselves(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Adaptive(**kwargs)
