"""Chapter 4 experiments: the App. C sweep against the plain recursions, the late-start
helpers, the bounds they draw, and compiled memory."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import _appendix_c
from unrolling import (bounds, budget, data, forward_mode, problems, profiling, reverse_mode,
                       truncation)
from unrolling.methods import gradient_descent
import zoo  # noqa: E402  (tests/zoo.py)

M_SMALL, N_SMALL, K_MAX, POINTS = 8, 3, 30, 5
LONG, SHORT = (lambda L, m: 2 / (L + m)), (lambda L, m: 1 / (3 * L))


def _single_draw(key, M, N):
    A, b, (dA, db), w = data.appendix_c_draws(key, 1, M, N)
    return jnp.asarray(A[0]), jnp.asarray(b[0]), (jnp.asarray(dA[0]), jnp.asarray(db[0])), \
        jnp.asarray(w[0])


@pytest.mark.parametrize("step, start, seed", [
    (LONG, 0.0, 3), (SHORT, 0.0, 11), (LONG, jax.random.uniform, 5),
    (SHORT, jax.random.normal, 7), (LONG, np.array([0.3, -1.0, 2.0]), 9)])
def test_sweep_curves_equal_forward_and_reverse_mode(step, start, seed):
    """With one draw the medians are that draw's values: every sampled forward/reverse error,
    final error and iterate error equals the library's plain recursions, from the origin,
    from a random start (a law) and from a given array."""
    key = jax.random.PRNGKey(seed)
    res = truncation.truncation_sweep(key, N_SMALL, step, start, num_draws=1, M=M_SMALL,
                                       max_K=K_MAX, num_points=POINTS)
    A, b, v, w = _single_draw(key, M_SMALL, N_SMALL)
    u = (A, b)
    lam = jnp.linalg.eigvalsh(A.T @ A)
    alpha = step(lam[-1], lam[0])
    update = gradient_descent(problems.least_squares().f, alpha)
    x0 = jnp.asarray(truncation._start(start, key, (1, N_SMALL))[0])
    if start is jax.random.uniform:                     # the law is used, not the origin
        assert jnp.all(x0 > 0) and jnp.all(x0 < 1)
    jvp_star = zoo.least_squares_jvp(u, v)
    vjp_star = ravel_pytree(zoo.least_squares_vjp(u, w))[0]
    x_star = problems.least_squares().x_star(u)
    K, _, T_prime, K_prime = truncation._appendix_c_plan(res.rho_star, max_K=K_MAX)
    s = np.linspace(0.0, 1.0, POINTS)
    for j in (0, 3, 8):                                              # T = 0, 0.3K, 0.8K
        kp, tp = int(K_prime[0, j]), int(T_prime[0, j])
        fwd = forward_mode(update, x0, u, kp, start=tp, v=v)
        rev = reverse_mode(update, x0, u, kp, stop=tp, w=w)
        e_fwd = jnp.linalg.norm(fwd - jvp_star[None], axis=-1)
        e_rev = jnp.linalg.norm(rev - vjp_star[None], axis=-1)
        fwd_idx = np.rint(tp + s * (kp - tp)).astype(int) - tp       # steps after T'
        rev_idx = kp - np.rint(kp + s * (tp - kp)).astype(int)       # entries from k = K'
        np.testing.assert_allclose(res.forward_err[j], e_fwd[fwd_idx], rtol=1e-9)
        np.testing.assert_allclose(res.reverse_err[j], e_rev[rev_idx], rtol=1e-9)
        np.testing.assert_allclose(res.forward_final[j], e_fwd[-1], rtol=1e-9)
        np.testing.assert_allclose(res.reverse_final[j], e_rev[-1], rtol=1e-9)
        xs = jax.jit(lambda u_, n=kp: truncation._late_start_tangents(
            update, x0, u_, v, jnp.zeros(1, int), jnp.zeros(1, int), n)[0])(u)
        np.testing.assert_allclose(res.iterate_final[j], jnp.linalg.norm(xs[-1] - x_star),
                                   rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(res.forward_band[:, j], res.forward_err[j][None].repeat(2, 0))
    np.testing.assert_allclose(res.e0, jnp.linalg.norm(x0 - x_star), rtol=1e-9)
    assert int(K[0]) == min(int(np.ceil(np.log(1e-3) / np.log(res.rho_star[0]))), K_MAX)


def test_sweep_bound_dominates_every_draw():
    """The eq. (22) bound (Theorem 8 along v) holds for every draw's final forward error,
    so its median dominates the median error."""
    res = truncation.truncation_sweep(jax.random.PRNGKey(0), 4, LONG, jax.random.uniform,
                                       num_draws=8, M=12, max_K=60, num_points=4)
    assert res.bound_ok
    assert np.all(res.bound_final >= res.forward_final)
    assert 0.0 <= res.best_fraction_bound <= 1.0 and 0.0 <= res.best_fraction_relaxed <= 1.0


def test_plan_follows_the_paper_and_the_budget_rule():
    rho = np.array([0.5, 0.9, 0.999, 0.9999])
    K, T, T_prime, K_prime = truncation._appendix_c_plan(rho, omega=3.0)
    expected_K = np.minimum(np.ceil(np.log(1e-3) / np.log(rho)), 1000).astype(int)
    np.testing.assert_array_equal(K, expected_K)
    np.testing.assert_array_equal(T[:, 0], 0)
    np.testing.assert_array_equal(K_prime - T_prime, K[:, None] - T)      # same derivative steps
    np.testing.assert_array_equal(K_prime + 3 * (K_prime - T_prime),
                                  np.broadcast_to(4 * K[:, None], T.shape))  # same cost
    assert budget.reallocate(500, 100, 3) == (800, 400)
    with pytest.raises(ValueError, match="rho_star"):
        truncation._appendix_c_plan(np.array([1.0]))


def test_draws_are_nested_unit_and_in_range():
    key = jax.random.PRNGKey(5)
    A5, b5, (dA5, db5), w5 = data.appendix_c_draws(key, 4, 20, 5, N_max=12)
    A9, b9, _, _ = data.appendix_c_draws(key, 4, 20, 9, N_max=12)
    np.testing.assert_array_equal(A5, A9[..., :5])
    np.testing.assert_array_equal(b5, b9)
    assert A5.min() >= 0.0 and A5.max() <= 1.0
    np.testing.assert_allclose(np.sum(dA5**2, axis=(1, 2)) + np.sum(db5**2, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(w5, axis=1), 1.0)
    with pytest.raises(ValueError):
        data.appendix_c_draws(key, 0, 20, 5)


def test_median_rho_star_close_to_the_paper_captions():
    """The captions' ρ are close to the median contraction factor over 100 draws."""
    for N, paper in truncation.PAPER_RHO.items():
        A = data.appendix_c_draws(jax.random.PRNGKey(0), 100, 50, N)[0]
        lam = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", A, A))
        assert abs(np.median((lam[:, -1] - lam[:, 0]) / (lam[:, -1] + lam[:, 0])) - paper) < 1e-2


def test_geometric_kernel_equals_the_sum():
    x = np.array([0.9, 0.9 + 1e-12, -0.9, 0.3, -0.35, 0.0, 0.999])
    for n in (0, 1, 2, 7, 40):
        direct = sum((x[:, None] ** (n - 1 - m) * x[None, :] ** m for m in range(n)),
                     np.zeros((x.size, x.size)))
        got = _appendix_c._geometric(x, _appendix_c._ipow(x, n),
                                     _appendix_c._ipow(x, max(n - 1, 0)), n)
        np.testing.assert_allclose(got, direct, rtol=1e-6, atol=1e-15)


def test_a_step_beyond_two_over_L_is_rejected():
    """A step at or beyond 2/L diverges: the sweep refuses it."""
    with pytest.raises(ValueError, match="step"):
        truncation.truncation_sweep(jax.random.PRNGKey(0), 3, lambda L, m: 3 / L, 0.0,
                                     num_draws=1, M=8, max_K=10)


def test_random_start_shows_the_curse_and_the_origin_does_not():
    """App. C's finding at 30 draws: at N = 40 with step 2/(L+m), a U(0, 1) start makes
    the largest truncation (0.8K) best in forward and reverse mode; from x0 = 0 the best
    is at most 0.4K and T = 0.8K is worse than no truncation. At N = 5 both starts prefer
    a small truncation, and with the short step truncation gains less than 10 %."""
    key = jax.random.PRNGKey(0)
    random = truncation.truncation_sweep(key, 40, LONG, jax.random.uniform, num_draws=30)
    origin = truncation.truncation_sweep(key, 40, LONG, 0.0, num_draws=30)
    assert random.best_fraction("forward") >= 0.6 and random.best_fraction("reverse") >= 0.6
    assert origin.best_fraction("forward") <= 0.4
    assert origin.forward_final[-1] > origin.forward_final[0]
    small = truncation.truncation_sweep(key, 5, LONG, jax.random.uniform, num_draws=30)
    assert small.best_fraction("forward") <= 0.2
    short = truncation.truncation_sweep(key, 40, SHORT, jax.random.uniform, num_draws=30)
    assert short.forward_final.min() >= 0.9 * short.forward_final[0]


def test_top_direction_is_near_the_mean_and_the_origin_is_near_x_star_there():
    """The outlier eigenvector is close to 1/sqrt(N); a U(0, 1) start is far from x* along
    it, the origin is not; the split errors are the forward error (no late start)."""
    key = jax.random.PRNGKey(2)
    far = truncation.truncation_sweep(key, 20, LONG, jax.random.uniform, num_draws=20,
                                      max_K=60, num_points=2)
    assert np.median(far.top_cosine) > 0.95 and np.median(far.top_ratio) > 10
    assert np.median(far.x0_top / far.x_star_top) > 20
    near = truncation.truncation_sweep(key, 20, LONG, 0.0, num_draws=1, fractions=(0.0,),
                                       num_points=2, max_K=60, split_at=[0, 60])
    np.testing.assert_array_equal(near.x0_top, 0.0)
    k, top, rest = near.split
    np.testing.assert_allclose(np.hypot(top, rest), [near.edot0[0], near.forward_final[0]],
                               rtol=1e-8)


@pytest.fixture(scope="module")
def demo():
    return truncation.demo_quadratic()


def test_late_start_errors_equal_forward_mode(demo):
    starts, stops = [0, 7, 20], [40, 40, 33]
    _, errors = truncation.late_start_errors(demo, starts, stops, horizon=45)
    jac = demo.problem.jacobian(demo.u)
    for j, (T, K) in enumerate(zip(starts, stops)):
        ref = np.linalg.norm(forward_mode(demo.update, demo.x0, demo.u, K, start=T)[:, :, 0]
                             - jac[None, :, 0], axis=-1)
        np.testing.assert_allclose(errors[j, T:K + 1], ref, rtol=1e-10)
        assert np.all(np.isnan(errors[j, :T])) and np.all(np.isnan(errors[j, K + 1:]))


def test_theorem8_bound_dominates_late_start_errors(demo):
    starts = [0, 30, 90, 200]
    _, errors = truncation.late_start_errors(demo, starts, [400] * 4)
    k = np.arange(401)
    bound = np.stack([np.where(k >= T, bounds.theorem8(np.maximum(k - T, 0), T, demo.rho,
                                                       demo.gamma, demo.e0, demo.edot0), np.nan)
                      for T in starts])
    ok = np.isnan(errors) | (bound >= errors * (1 - 1e-12))
    assert ok.all()


def test_reallocated_final_errors_and_truncation_objective(demo):
    K, omega, Ts = 60, 3.0, [0, 5, 17, 40, 60]
    jac = demo.problem.jacobian(demo.u)[:, 0]
    measured = truncation.reallocated_final_errors(demo.update, demo.x0, demo.u, 1.0, jac, K,
                                                    Ts, omega)
    for T, err in zip(Ts, measured):
        K_p, T_p = budget.reallocate(K, T, omega)
        ref = forward_mode(demo.update, demo.x0, demo.u, K_p, start=T_p)[-1][:, 0]
        np.testing.assert_allclose(err, jnp.linalg.norm(ref - jac), rtol=1e-10)
    bound = bounds.truncation_objective(np.array(Ts), K, omega, demo.rho, demo.gamma, demo.e0,
                                        demo.edot0)
    assert np.all(bound >= measured)


def test_budget_curves_follow_the_rule_and_the_bound_holds(demo):
    data = truncation.budget_curves(demo, 30, 2.5, 80, omega_max=3.0)
    assert (data["K_prime"], data["T_prime"]) == budget.reallocate(80, 30, 2.5)
    late = data["late"]
    assert np.all(np.isnan(late) == np.isnan(data["bound"]))
    assert np.nanmin(data["bound"] - late * (1 - 1e-12)) >= 0
    with pytest.raises(ValueError, match="omega"):
        truncation.budget_curves(demo, 30, 3.5, 80, omega_max=3.0)


def test_reverse_memory_grows_with_differentiated_steps_forward_does_not(demo):
    w = jnp.ones(demo.c.size)
    rev = [profiling.reverse_memory_bytes(demo.update, demo.x0, demo.u, 200, s, w)
           for s in (0, 100)]
    fwd = [profiling.forward_memory_bytes(demo.update, demo.x0, demo.u, 200, s, 1.0)
           for s in (0, 100)]
    slope = (rev[0] - rev[1]) / 100
    assert slope >= 8 * demo.c.size                  # at least one stored iterate per step
    assert abs(fwd[0] - fwd[1]) <= 0.1 * fwd[0] and fwd[0] < rev[1]
