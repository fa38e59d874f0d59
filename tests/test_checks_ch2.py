"""Tests of the chapter 2 exercise checkers: each accepts a right answer computed
independently (closed forms for gradient descent on ridge regression, jax.jacfwd
through a Python loop) and rejects the usual wrong ones."""
import jax
import jax.numpy as jnp
import pytest

import unrolling as U
from unrolling import checks, problems
from unrolling import data


@pytest.fixture
def ridge(key):
    """GD on ridge, f = |Ax - b|^2/2 + u|x|^2/2 in its weight u; B = I - αH, C = -αx."""
    A, b = data.least_squares_instance(key, 20, 4)
    problem, u = problems.ridge(A, b), 0.3
    alpha = 1.0 / problem.smoothness(u)
    H = A.T @ A + u * jnp.eye(4)
    return dict(update=U.gradient_descent(problem.f, alpha), alpha=alpha, H=H, A=A, b=b,
                u=u, x0=jnp.ones(4))


def _python_loop(r, K):
    """x^(0..K) of GD on ridge by a plain Python loop (independent of the library)."""
    xs = [r["x0"]]
    for _ in range(K):
        x = xs[-1]
        xs.append(x - r["alpha"] * (r["H"] @ x - r["A"].T @ r["b"]))
    return xs


def test_piggyback_step_accepts_the_chain_rule_and_rejects_mistakes(ridge, key, capsys):
    x = jax.random.normal(key, (4,))
    X_dot = jax.random.normal(jax.random.PRNGKey(1), (4, 1))
    B = jnp.eye(4) - ridge["alpha"] * ridge["H"]
    right = B @ X_dot - ridge["alpha"] * x[:, None]
    args = (ridge["update"], x, ridge["u"], X_dot)
    assert checks.ch2_piggyback_step(*args, right)
    assert checks.ch2_piggyback_step(*args, right[:, 0])         # (n,) for p = 1 is fine
    assert "correct" in capsys.readouterr().out
    assert not checks.ch2_piggyback_step(*args, B @ X_dot)       # forgot C_k
    assert not checks.ch2_piggyback_step(*args, right - ridge["alpha"] * X_dot)  # wrong B
    assert not checks.ch2_piggyback_step(*args, jnp.ones((4, 2)))
    assert "not yet" in capsys.readouterr().out


def test_reverse_sweep_accepts_the_jacobian_of_the_loop(ridge):
    K = 12
    x_K = lambda u: _python_loop(dict(ridge, H=ridge["A"].T @ ridge["A"] + u * jnp.eye(4)), K)[-1]  # noqa: E731
    J = jax.jacfwd(x_K)(ridge["u"])[:, None]
    w = jnp.arange(1.0, 5.0)
    args = (ridge["update"], ridge["x0"], ridge["u"], K)
    assert checks.ch2_reverse_sweep(*args, None, J)
    assert checks.ch2_reverse_sweep(*args, w, w @ J)
    J_short = jax.jacfwd(lambda u: _python_loop(
        dict(ridge, H=ridge["A"].T @ ridge["A"] + u * jnp.eye(4)), K - 1)[-1])(ridge["u"])
    assert not checks.ch2_reverse_sweep(*args, None, J_short[:, None])   # one step short
    assert not checks.ch2_reverse_sweep(*args, w, J[:, 0])               # forgot the cotangent


def test_one_step_estimate_accepts_minus_alpha_x_prev(ridge):
    K = 8
    xs = _python_loop(ridge, K)
    args = (ridge["update"], ridge["x0"], ridge["u"], K)
    assert checks.ch2_one_step_estimate(*args, -ridge["alpha"] * xs[K - 1])
    assert checks.ch2_one_step_estimate(*args, (-ridge["alpha"] * xs[K - 1])[:, None])
    assert not checks.ch2_one_step_estimate(*args, -ridge["alpha"] * xs[K])  # at x^(K)
    implicit = -jnp.linalg.solve(ridge["H"], xs[K])
    assert not checks.ch2_one_step_estimate(*args, implicit)


def test_one_step_estimate_needs_a_step(ridge):
    with pytest.raises(ValueError, match="num_steps"):
        checks.ch2_one_step_estimate(ridge["update"], ridge["x0"], ridge["u"], 0, ridge["x0"])
