r"""The bilevel tasks of chapter 5 (private; re-exported by :mod:`unrolling.bilevel`).

Each task bundles an inner map, an outer loss and the exact solution map, hypergradient
and value, as :class:`jax.tree_util.Partial` objects (so that the compiled outer step of
:func:`unrolling.bilevel.hypergradient_descent` is reused across data of the same shapes).
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from . import _validate, problems
from .methods import gradient_descent


class _BilevelTask(NamedTuple):
    """A bilevel problem with its exact solution map and hypergradient (all ``Partial``)."""
    update: Partial          # (x, u) -> x, the inner map
    outer_loss: Partial      # (x, u) -> scalar, ell
    x_star: Partial          # u -> x*(u)
    hypergradient: Partial   # u -> grad h(u), exact
    value: Partial           # u -> h(u) = ell(x*(u), u), exact


def _ridge_objective(A, b, x, u):
    r = A @ x - b
    return 0.5 * r @ r + 0.5 * jnp.exp(u) * x @ x


@jax.jit
def _gd_step(objective, alpha, x, u):
    """The library's gradient step, with the objective and step size as pytree data."""
    return gradient_descent(objective, alpha)(x, u)


def _validation_loss(A_val, b_val, x, u):
    r = A_val @ x - b_val
    return 0.5 * r @ r


@jax.jit
def _ridge_x_star(A, b, u):
    return problems.ridge(A, b).x_star(jnp.exp(u))


@jax.jit
def _ridge_hypergradient(A, b, A_val, b_val, u):
    lam = jnp.exp(u)
    x = problems.ridge(A, b).x_star(lam)
    dx = problems.ridge(A, b).jacobian(lam)[:, 0] * lam       # chain rule through lam = e^u
    return dx @ jax.grad(_validation_loss, argnums=2)(A_val, b_val, x, u)


@jax.jit
def _ridge_value(A, b, A_val, b_val, u):
    return _validation_loss(A_val, b_val, _ridge_x_star(A, b, u), u)


def ridge_task(A, b, A_val, b_val, step_size=None):
    r"""Tune the ridge weight on validation data, log-parametrized: :math:`\lambda = e^u`.

    Inner: :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac{e^u}{2}\|x\|^2`, solved by
    gradient descent :math:`x - \alpha\nabla_x f` (``step_size`` α, default
    :math:`1/\|A\|_2^2`; it contracts while :math:`e^u < 2/\alpha - \|A\|_2^2`).
    Outer: :math:`\ell(x) = \tfrac12\|A_{val}x - b_{val}\|^2`. Exact pieces from
    :func:`unrolling.problems.ridge`: :math:`x^*(u) = (A^\top A + e^uI)^{-1}A^\top b`,
    :math:`Dx^*(u) = -e^u (A^\top A + e^uI)^{-1} x^*(u)`, so
    :math:`\nabla h(u) = Dx^*(u)^\top A_{val}^\top(A_{val}x^*(u) - b_{val})`.
    u is a scalar. Chapter 5.
    """
    A, b, A_val, b_val = map(jnp.asarray, (A, b, A_val, b_val))
    if A.ndim != 2 or b.shape != A.shape[:1] or A_val.ndim != 2 \
            or A_val.shape[1] != A.shape[1] or b_val.shape != A_val.shape[:1]:
        raise ValueError("need A (M, N), b (M,), A_val (M_val, N), b_val (M_val,); got "
                         f"{A.shape}, {b.shape}, {A_val.shape}, {b_val.shape}")
    alpha = 1.0 / jnp.linalg.norm(A, 2) ** 2 if step_size is None else step_size
    _validate.positive(alpha, "step_size")
    return _BilevelTask(update=Partial(_gd_step, Partial(_ridge_objective, A, b), alpha),
                       outer_loss=Partial(_validation_loss, A_val, b_val),
                       x_star=Partial(_ridge_x_star, A, b),
                       hypergradient=Partial(_ridge_hypergradient, A, b, A_val, b_val),
                       value=Partial(_ridge_value, A, b, A_val, b_val))


def _linear_objective(H, C, x, u):
    return 0.5 * x @ (H @ x) - x @ (C @ u)


def _pseudo_huber(target, x, u):
    return jnp.sum(jnp.sqrt(1.0 + (x - target) ** 2) - 1.0)


@jax.jit
def _linear_x_star(H, C, u):
    return jnp.linalg.solve(H, C @ u)


@jax.jit
def _linear_hypergradient(H, C, target, u):
    x = _linear_x_star(H, C, u)
    return C.T @ jnp.linalg.solve(H, jax.grad(_pseudo_huber, argnums=1)(target, x, u))


@jax.jit
def _linear_value(H, C, target, u):
    return _pseudo_huber(target, _linear_x_star(H, C, u), u)


def linear_task(key, rho, num_features=5, num_params=2):
    r"""A bilevel task whose constants in Bolte et al. Cor. 4-5 are known exactly.

    Inner: :math:`f(x, u) = \tfrac12 x^\top H x - x^\top C u`, H with spectrum in
    :math:`[1-\rho, 1]` (both ends attained), solved by gradient descent with step 1, so
    :math:`F(x, u) = x - (Hx - Cu)` contracts with factor exactly ρ;
    :math:`J_u F = C` is constant, so :math:`L_F = \|C\|_{op} = 1`, :math:`L_J = 0`.
    Outer: the pseudo-Huber loss :math:`g(x) = \sum_i (\sqrt{1 + (x_i - t_i)^2} - 1)`,
    with :math:`\|\nabla g\| \le l_g = \sqrt n`, :math:`l_\nabla = 1` and :math:`g \ge 0`.

    Returns:
      ``(task, constants)`` with constants a dict (rho, L_F, L_J, l_g, l_grad). Chapter 5.
    """
    _validate.in_range(rho, "rho", 0.0, 1.0, high_open=True)
    n = _validate.num_steps(num_features, "num_features")
    p = _validate.num_steps(num_params, "num_params")
    if not 1 <= p <= n:
        raise ValueError(f"need 1 <= num_params <= num_features, got {p}, {n}")
    draw = jax.random.normal(key, (n * n + n * p + n,))    # one draw: Q, C and the target
    Q, _ = jnp.linalg.qr(draw[:n * n].reshape(n, n))
    H = (Q * jnp.linspace(1.0 - rho, 1.0, n)[None]) @ Q.T
    C = draw[n * n:n * n + n * p].reshape(n, p)
    C = C / jnp.linalg.norm(C, 2)
    target = draw[n * n + n * p:]
    task = _BilevelTask(update=Partial(_gd_step, Partial(_linear_objective, H, C), 1.0),
                       outer_loss=Partial(_pseudo_huber, target),
                       x_star=Partial(_linear_x_star, H, C),
                       hypergradient=Partial(_linear_hypergradient, H, C, target),
                       value=Partial(_linear_value, H, C, target))
    return task, dict(rho=float(rho), L_F=1.0, L_J=0.0, l_g=math.sqrt(n), l_grad=1.0)
