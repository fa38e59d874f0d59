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


def test_piggyback_step_refuses_inputs_where_a_partial_formula_is_the_answer(ridge, key,
                                                                            capsys):
    """X_dot = 0: the answer is C_k alone, so forgetting B_k X_dot would pass; at the
    fixed point with X_dot = Dx*, the answer is X_dot itself: both inputs are refused."""
    alpha, update, u = ridge["alpha"], ridge["update"], ridge["u"]
    x = jax.random.normal(key, (4,))
    C = -alpha * x[:, None]
    assert not checks.ch2_piggyback_step(update, x, u, jnp.zeros((4, 1)), C)
    assert "C_k alone" in capsys.readouterr().out
    problem = problems.ridge(ridge["A"], ridge["b"])
    x_star, J_star = problem.x_star(u), problem.jacobian(u)
    assert not checks.ch2_piggyback_step(update, x_star, u, J_star, J_star)
    assert "X_dot itself" in capsys.readouterr().out
    X_dot = jax.random.normal(jax.random.PRNGKey(1), (4, 1))
    assert not checks.ch2_piggyback_step(update, x, u, X_dot, X_dot)   # the previous tangent


def test_reverse_sweep_refuses_a_single_step(ridge, capsys):
    """For K = 1 the sweep is the last step's term w^T C_0 alone: a sweep that forgets
    to accumulate would pass, so K = 1 is refused; K = 2 tells them apart."""
    w = jnp.arange(1.0, 5.0)
    last_term = -ridge["alpha"] * w @ ridge["x0"]
    assert not checks.ch2_reverse_sweep(ridge["update"], ridge["x0"], ridge["u"], 1, w,
                                        last_term[None])
    assert "last step's term alone" in capsys.readouterr().out
    xs = _python_loop(ridge, 2)
    assert not checks.ch2_reverse_sweep(ridge["update"], ridge["x0"], ridge["u"], 2, w,
                                        (-ridge["alpha"] * w @ xs[1])[None])


def test_one_step_estimate_refuses_converged_and_zero_inputs(ridge, capsys):
    """From x0 = x* every iterate is x*, so C at x^(K) (the classic slip) is the answer
    too; from x0 = 0 with K = 1 the answer -alpha x0 is zero. Both inputs are refused."""
    update, u, alpha = ridge["update"], ridge["u"], ridge["alpha"]
    x_star = problems.ridge(ridge["A"], ridge["b"]).x_star(u)
    assert not checks.ch2_one_step_estimate(update, x_star, u, 5, -alpha * x_star)
    assert "at x^(K)" in capsys.readouterr().out
    assert not checks.ch2_one_step_estimate(update, jnp.zeros(4), u, 1, jnp.zeros(4))
    assert "answer equals zero" in capsys.readouterr().out
