"""Chapter 7 exercise checkers: each accepts an independently computed correct answer,
rejects a wrong one, and prints a one-line verdict."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from unrolling import checks, methods, problems


def _ridge(seed=0, n=4):
    rng = np.random.default_rng(seed)
    A, b = rng.normal(size=(8, n)), rng.normal(size=8)
    return A, b, problems.ridge(A, b)


def test_ch7_neumann_terms(capsys):
    rho, tol = 0.9, 1e-3
    k = int(np.ceil(np.log(tol) / np.log(rho)))                  # 66 (not an exact power)
    assert rho ** k <= tol < rho ** (k - 1)
    assert checks.ch7_neumann_terms(rho, tol, k)
    assert not checks.ch7_neumann_terms(rho, tol, k - 1)
    assert checks.ch7_neumann_terms(0.5, 0.25, 2)                 # exact power: 2 terms
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[ch7_neumann_terms] correct" and "not yet" in out[1]
    with pytest.raises(ValueError, match="rho"):
        checks.ch7_neumann_terms(1.0, 0.1, 3)


def test_ch7_fixed_point_adjoint(capsys):
    A, b, problem = _ridge()
    u, alpha = 0.5, 0.01
    update = methods.gradient_descent(problem.f, alpha)
    x = np.linalg.solve(A.T @ A + u * np.eye(4), A.T @ b)
    w = np.arange(1.0, 5.0)
    # by hand: B = I - alpha (A^T A + u I) (symmetric), C = -alpha x (d/du of -alpha u x)
    B = np.eye(4) - alpha * (A.T @ A + u * np.eye(4))
    y = np.zeros(4)
    for _ in range(7):
        y = B @ y + w
    by_hand = np.array([-alpha * x @ y])
    assert checks.ch7_fixed_point_adjoint(update, x, u, w, 7, by_hand)
    assert not checks.ch7_fixed_point_adjoint(update, x, u, w, 7, -by_hand)
    assert not checks.ch7_fixed_point_adjoint(update, x, u, w, 8, by_hand)
    assert capsys.readouterr().out.splitlines()[0] == "[ch7_fixed_point_adjoint] correct"


def test_ch7_cg_steps(capsys):
    assert checks.ch7_cg_steps([1.0, 2.0, 2.0, 5.0], 3)
    assert not checks.ch7_cg_steps([1.0, 2.0, 2.0, 5.0], 4)
    assert checks.ch7_cg_steps(np.full(6, 3.0), 1)
    assert capsys.readouterr().out.splitlines()[0] == "[ch7_cg_steps] correct"


def test_ch7_danskin_gradient(capsys):
    A, b, problem = _ridge(1)
    x, u = np.ones(4), 0.3
    by_hand = 0.5 * x @ x                       # d/du of (u/2)|x|^2 with x fixed
    assert checks.ch7_danskin_gradient(problem.f, x, u, by_hand)
    assert not checks.ch7_danskin_gradient(problem.f, x, u, 2 * by_hand)
    assert capsys.readouterr().out.splitlines()[0] == "[ch7_danskin_gradient] correct"


def test_ch7_unrolled_value_gradient(capsys):
    A, b, problem = _ridge(2)
    u, alpha, K = 0.3, 0.02, 12
    x0 = np.zeros(4)

    def value(v):                               # central differences of u -> f(x_K(u), u)
        x = x0
        for _ in range(K):
            x = x - alpha * (A.T @ (A @ x - b) + v * x)
        return 0.5 * np.sum((A @ x - b) ** 2) + 0.5 * v * x @ x
    h = 1e-6
    by_fd = (value(u + h) - value(u - h)) / (2 * h)
    assert checks.ch7_unrolled_value_gradient(problem.f, jnp.asarray(x0), u, K, alpha,
                                              by_fd)
    assert not checks.ch7_unrolled_value_gradient(problem.f, jnp.asarray(x0), u, K, alpha,
                                                  1.1 * by_fd)
    assert capsys.readouterr().out.splitlines()[0] == "[ch7_unrolled_value_gradient] correct"
