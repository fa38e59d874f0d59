"""Test problems: solutions, closed-form Jacobians and curvature constants.

References: NumPy least squares / linear solves on the host, ``jax.jacfwd`` of the
solution map, and the gradient and Hessian of f by autodiff. Each check runs as one
jitted program (eager solves and eigendecompositions compile op by op).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import problems
from unrolling import data
import zoo  # noqa: E402  (tests/zoo.py)

M, N = 12, 4
A_DATA, B_DATA = (np.asarray(a) for a in data.least_squares_instance(
    jax.random.PRNGKey(0), M, N))


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def evaluate(fn, *args):
    """fn(*args) as one jitted program, fetched to NumPy."""
    return jax.device_get(jax.jit(fn)(*args))


def check_problem(problem, u, jacfwd=True):
    """Gradient at x*, Jacobian vs jacfwd of x* (unless jacfwd=False), curvature vs the
    Hessian's spectrum (returned)."""
    def compute(u):
        u_flat, unravel = ravel_pytree(u)
        x_star = problem.x_star(u)
        out = dict(grad=jax.grad(problem.f)(x_star, u), jac=problem.jacobian(u),
                   eig=jnp.linalg.eigvalsh(jax.hessian(problem.f)(x_star, u)),
                   L=problem.smoothness(u), mu=problem.strong_convexity(u))
        if jacfwd:
            out["jacfwd"] = jax.jacfwd(lambda w: problem.x_star(unravel(w)))(u_flat)
        return out
    r = evaluate(compute, u)
    close(r["grad"], 0.0, atol=1e-10)
    if jacfwd:
        close(r["jac"], r["jacfwd"], rtol=1e-8, atol=1e-10)
    return r


def test_quadratic():
    H0 = A_DATA.T @ A_DATA
    c = np.linspace(-1.0, 1.0, N)
    u = 0.7
    problem = problems.quadratic(H0, c)
    r = check_problem(problem, u)
    close(r["L"], r["eig"][-1])
    close(r["mu"], r["eig"][0])
    close(problem.x_star(u), np.linalg.solve(H0 + u * np.eye(N), c))
    assert r["jac"].shape == (N, 1)


def test_ridge_is_regularized_least_squares():
    u = 0.3
    problem = problems.ridge(A_DATA, B_DATA)
    r = check_problem(problem, u)
    close(r["L"], r["eig"][-1])
    close(r["mu"], r["eig"][0])
    augmented = np.vstack([A_DATA, np.sqrt(u) * np.eye(N)])      # [A; √u I] x ≈ [b; 0]
    expected = np.linalg.lstsq(augmented, np.concatenate([B_DATA, np.zeros(N)]), rcond=None)[0]
    close(problem.x_star(u), expected)
    # Same objective as quadratic(AᵀA, Aᵀb) up to the constant ‖b‖²/2.
    q = problems.quadratic(A_DATA.T @ A_DATA, A_DATA.T @ B_DATA)
    x = np.linspace(-1.0, 1.0, N)
    close(problem.f(x, u), q.f(x, u) + 0.5 * B_DATA @ B_DATA)


def test_least_squares_in_the_data():
    problem = problems.least_squares()
    u = (A_DATA, B_DATA)
    r = check_problem(problem, u)
    assert r["jac"].shape == (N, M * N + M)
    close(problem.x_star(u), np.linalg.lstsq(A_DATA, B_DATA, rcond=None)[0])
    eig = np.linalg.eigvalsh(A_DATA.T @ A_DATA)
    close(r["L"], eig[-1])
    close(r["mu"], eig[0])


def test_least_squares_jvp_and_vjp_contract_the_jacobian():
    u = (A_DATA, B_DATA)
    rng = np.random.default_rng(2)
    v = (rng.normal(size=(M, N)), rng.normal(size=M))
    w = rng.normal(size=N)

    def compute(u, v, w):
        jac = problems.least_squares().jacobian(u)
        return (zoo.least_squares_jvp(u, v), jac @ ravel_pytree(v)[0],
                zoo.least_squares_vjp(u, w), w @ jac)
    jvp, jac_v, (grad_A, grad_b), w_jac = evaluate(compute, u, v, w)
    close(jvp, jac_v)
    assert grad_A.shape == (M, N) and grad_b.shape == (M,)
    close(np.concatenate([grad_A.ravel(), grad_b]), w_jac)


def test_least_squares_instance(key):
    A, b = jax.device_get(data.least_squares_instance(key, 50, 10))
    assert A.shape == (50, 10) and b.shape == (50,)
    assert A.dtype == b.dtype == np.float64
    assert 0.0 <= A.min() and A.max() < 1.0                             # U(0, 1) entries
    A2, b2 = data.least_squares_instance(key, 50, 10)
    close(A2, A, rtol=0, atol=0)                                          # same key, same draw
    A3, _ = data.least_squares_instance(jax.random.PRNGKey(1), 50, 10)
    assert not np.allclose(A3, A)
    A_default, _ = data.least_squares_instance(key)
    assert A_default.shape == (50, 10)                                    # App. C: M = 50


def test_logistic_regression():
    X = 0.5 * np.asarray(jax.random.normal(jax.random.PRNGKey(3), (25, N)))
    y = np.sign(X[:, 0] + 0.2)
    problem = problems.logistic_regression(X, y)
    u = -1.5
    # Its Jacobian (implicit function theorem) is checked against finite differences of
    # x* in test_derivatives.py; here: stationarity and the global curvature bounds.
    r = check_problem(problem, u, jacfwd=False)
    assert r["jac"].shape == (N, 1)

    @jax.jit
    def curvature(x):
        return jnp.linalg.eigvalsh(jax.hessian(problem.f)(x, u))
    for x in (np.zeros(N), 3 * np.ones(N), np.asarray(problem.x_star(u))):
        eig = np.asarray(curvature(x))
        assert r["mu"] * (1 - 1e-12) <= eig[0] and eig[-1] <= r["L"] * (1 + 1e-12)


@pytest.mark.parametrize("weights", [None, np.array([0.0, 1.0, -2.0, 3.0])])
def test_spectral_quadratic(key, weights):
    lam = np.array([0.01, 0.2, 0.5, 1.0])
    problem = problems.spectral_quadratic(key, lam, weights)
    s = np.ones(N) if weights is None else weights

    def compute(u):
        H0 = jax.hessian(problem.f)(jnp.zeros(N), 0.0)
        return H0, problem.x_star(u), problem.smoothness(u), problem.strong_convexity(u)
    H0, x_star, L, mu = evaluate(compute, 0.25)
    eig, V = np.linalg.eigh(H0)
    close(eig, lam)
    x_star0 = np.asarray(problem.x_star(0.0))
    close(np.abs(V.T @ x_star0), np.abs(s))           # component along eigenvector i is ±s_i
    close(x_star, np.linalg.solve(H0 + 0.25 * np.eye(N), H0 @ x_star0))
    close((L, mu), (lam[-1] + 0.25, lam[0] + 0.25))
    check_problem(problem, 0.25)


def test_problem_fields():
    problem = problems.ridge(A_DATA, B_DATA)
    assert problem._fields == ("f", "x_star", "jacobian", "smoothness", "strong_convexity")
    assert all(callable(field) for field in problem)
