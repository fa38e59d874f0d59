"""The bridge to production code (book/appendix/A3_production): the course's estimators
agree with Optimistix's adjoints and with plain JAX to a relative 1e-8.

One problem, chapter 5's synthetic ridge task at u = 0 from x0 = 0: Optimistix's
``FixedPointIteration`` solves it to a tolerance in K steps, and every estimator is
taken at that same K.

* ``Implicit()`` against ``optimistix.ImplicitAdjoint()`` and ``jax.lax.custom_root``;
* ``Unrolled()`` (reverse mode) against ``optimistix.RecursiveCheckpointAdjoint()``
  (default and few checkpoints);
* ``ConjugateGradientAdjoint(k)`` against ``ImplicitAdjoint(lineax.CG(0, 0, k))``.

Optimistix is pinned in requirements.txt (CI installs it); without it this module is
skipped, with the reason.
"""
import jax
import jax.numpy as jnp
import pytest
from jax import lax

from unrolling import ConjugateGradientAdjoint, Implicit, Unrolled, data, iterate
from unrolling import bilevel as bl

optx = pytest.importorskip(
    "optimistix", reason="optimistix is not installed: the agreement tests of the "
    "production appendix need it (pip install -r requirements.txt pins it)")
lx = pytest.importorskip("lineax", reason="lineax (an optimistix dependency) is missing")

#: The stated tolerance of the appendix: relative difference of two hypergradients.
TOL = 1e-8
MAX_STEPS = 10_000


def _relative(a, b):
    return float(jnp.abs(a - b) / jnp.abs(b))


@pytest.fixture(scope="module")
def ridge():
    """(task, u, x0, solver, K, w): the task, the point, Optimistix's solver and its
    number of steps K, and the outer gradient w at x^(K)."""
    task = bl.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(1)))
    u, x0 = jnp.asarray(0.0), jnp.zeros(10)
    solver = optx.FixedPointIteration(rtol=1e-12, atol=1e-12)
    sol = optx.fixed_point(task.update, solver, x0, u, max_steps=MAX_STEPS)
    K = int(sol.stats["num_steps"])
    w = jax.grad(task.outer_loss)(sol.value, u)
    return task, u, x0, solver, K, w


def _optx_hypergradient(ridge, adjoint, tags=frozenset()):
    task, u, x0, solver, _, _ = ridge

    def h(u_):
        x = optx.fixed_point(task.update, solver, x0, u_, max_steps=MAX_STEPS,
                             adjoint=adjoint, tags=tags).value
        return task.outer_loss(x, u_)
    return jax.grad(h)(u)


def test_optimistix_iterates_are_the_course_iterates(ridge):
    """FixedPointIteration's x^(K) is the course's K-th iterate, so the estimators below
    are all taken at the same point."""
    task, u, x0, solver, K, _ = ridge
    assert 100 < K < MAX_STEPS
    sol = optx.fixed_point(task.update, solver, x0, u, max_steps=MAX_STEPS)
    course = iterate(task.update, x0, u, K)[-1]
    assert float(jnp.max(jnp.abs(sol.value - course))) <= 1e-14 * float(jnp.max(jnp.abs(course)))


def test_implicit_agrees_with_implicit_adjoint_and_custom_root(ridge):
    task, u, x0, _, K, w = ridge
    course = Implicit().vjp(task.update, x0, u, K, w)[0]

    def root_solution(u_):
        def f(x):
            return task.update(x, u_) - x

        def solve(f, x):
            return lax.fori_loop(0, K, lambda _, x: x + f(x), x)

        def tangent_solve(g, y):
            return jnp.linalg.solve(jax.jacobian(g)(y), y)
        return lax.custom_root(f, x0, solve, tangent_solve)

    custom_root = jax.grad(lambda u_: task.outer_loss(root_solution(u_), u_))(u)
    implicit_adjoint = _optx_hypergradient(ridge, optx.ImplicitAdjoint())
    assert _relative(implicit_adjoint, course) <= TOL
    assert _relative(custom_root, course) <= TOL
    assert _relative(custom_root, implicit_adjoint) <= TOL
    # ... and all three are the implicit hypergradient at x^(K): the closed form up to
    # the inner solve's error (tolerance 1e-12 on the steps, rate rho < 1).
    assert _relative(course, task.hypergradient(u)) <= 1e-6


@pytest.mark.parametrize("checkpoints", [None, 4])
def test_unrolled_reverse_mode_agrees_with_recursive_checkpointing(ridge, checkpoints):
    """Checkpointing changes what is stored and recomputed, not the derivative: the same
    K steps differentiated, with Optimistix's default (about sqrt(2K)) or 4 checkpoints."""
    task, u, x0, _, K, w = ridge
    course = Unrolled().vjp(task.update, x0, u, K, w)[0]
    checkpointed = _optx_hypergradient(
        ridge, optx.RecursiveCheckpointAdjoint(checkpoints=checkpoints))
    assert _relative(checkpointed, course) <= TOL
    # Unrolled and implicit differ here by far more than the tolerance at small K, not
    # at this K: the test would not tell the two adjoints apart otherwise.
    assert _relative(course, Implicit().vjp(task.update, x0, u, K, w)[0]) <= 1e-6


def test_recursive_checkpointing_is_unrolling_not_implicit_at_small_k(ridge):
    """At K = 200 steps (far from the fixed point) the checkpointed derivative is still
    the unrolled one, which differs from the implicit one by tens of percent."""
    task, u, x0, _, _, _ = ridge
    never = optx.FixedPointIteration(rtol=0.0, atol=0.0)       # runs exactly max_steps

    def h(adjoint):
        def loss(u_):
            x = optx.fixed_point(task.update, never, x0, u_, max_steps=200,
                                 adjoint=adjoint, throw=False).value
            return task.outer_loss(x, u_)
        return jax.grad(loss)(u)
    x_200 = iterate(task.update, x0, u, 200)[-1]
    w = jax.grad(task.outer_loss)(x_200, u)
    unrolled = Unrolled().vjp(task.update, x0, u, 200, w)[0]
    implicit = Implicit().vjp(task.update, x0, u, 200, w)[0]
    assert _relative(h(optx.RecursiveCheckpointAdjoint()), unrolled) <= TOL
    assert _relative(h(optx.ImplicitAdjoint()), implicit) <= TOL
    assert _relative(unrolled, implicit) > 0.1


@pytest.mark.parametrize("steps", [3, 5])
def test_conjugate_gradient_adjoint_agrees_with_lineax_cg(ridge, steps):
    """ImplicitAdjoint with lineax's CG, no tolerance and max_steps=k runs exactly k CG
    iterations on the adjoint system: ConjugateGradientAdjoint(k). The tags say that the
    Jacobian of x -> A(x, u) - x, B - I = -alpha * Hessian, is symmetric negative definite."""
    task, u, x0, _, K, w = ridge
    course = ConjugateGradientAdjoint(steps).vjp(task.update, x0, u, K, w)[0]
    tags = frozenset({lx.symmetric_tag, lx.negative_semidefinite_tag})
    cg = _optx_hypergradient(
        ridge, optx.ImplicitAdjoint(lx.CG(rtol=0.0, atol=0.0, max_steps=steps)), tags)
    assert _relative(cg, course) <= TOL
