"""Chapter 1 exercise checkers: each accepts the right answer and rejects a wrong one.

The right answers are derived here independently of the checkers' own reference
computations (closed forms from the chapter's solutions, or jax.jacfwd through the
fixed-point equation).
"""
import math
import re

import jax
import jax.numpy as jnp
import pytest

from unrolling import checks, gradient_descent, problems

L, MU = 4.0, 0.1


def test_contraction_factor_accepts_max_over_spectrum_end_points(capsys):
    for alpha in (0.1, 1 / L, 2 / (L + MU), 0.45):
        rho = max(abs(1 - alpha * MU), abs(1 - alpha * L))
        assert checks.ch1_contraction_factor(alpha, L, MU, rho)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("alpha", [0.1, 0.45])
def test_contraction_factor_rejects_the_smaller_branch(alpha, capsys):
    wrong = min(abs(1 - alpha * L), abs(1 - alpha * MU))
    assert wrong < max(abs(1 - alpha * L), abs(1 - alpha * MU))
    assert not checks.ch1_contraction_factor(alpha, L, MU, wrong)
    assert "not yet" in capsys.readouterr().out


def test_optimal_step_size_accepts_two_over_L_plus_mu():
    assert checks.ch1_optimal_step_size(L, MU, 2 / (L + MU))


@pytest.mark.parametrize("wrong", [1 / L, 2 / L, 1 / (L + MU), 2 / (L + MU) * 1.01])
def test_optimal_step_size_rejects_other_steps(wrong):
    assert not checks.ch1_optimal_step_size(L, MU, wrong)


@pytest.mark.parametrize("rho, e0, tol", [(0.97, 1.0, 1e-6), (0.5, 3.0, 1e-3), (0.9, 1.0, 2.0)])
def test_iterations_to_tolerance_accepts_smallest_k(rho, e0, tol):
    k = max(math.ceil(math.log(tol / e0) / math.log(rho)), 0)
    assert rho**k * e0 <= tol and (k == 0 or rho ** (k - 1) * e0 > tol)
    assert checks.ch1_iterations_to_tolerance(rho, e0, tol, k)


def test_iterations_to_tolerance_rejects_off_by_one():
    k = math.ceil(math.log(1e-6) / math.log(0.97))
    assert not checks.ch1_iterations_to_tolerance(0.97, 1.0, 1e-6, k - 1)
    assert not checks.ch1_iterations_to_tolerance(0.97, 1.0, 1e-6, k + 1)


def test_iterations_to_tolerance_rejects_rho_outside_unit_interval():
    with pytest.raises(ValueError, match="rho"):
        checks.ch1_iterations_to_tolerance(1.2, 1.0, 1e-6, 10)


def test_heavy_ball_rate_accepts_polyak_root():
    sqrt_kappa = math.sqrt(L / MU)
    assert checks.ch1_heavy_ball_rate(L, MU, (sqrt_kappa - 1) / (sqrt_kappa + 1))


@pytest.mark.parametrize("wrong", ["momentum", "gd_rate"])
def test_heavy_ball_rate_rejects_momentum_and_gd_rate(wrong):
    sqrt_kappa = math.sqrt(L / MU)
    answer = {"momentum": ((sqrt_kappa - 1) / (sqrt_kappa + 1)) ** 2,
              "gd_rate": (L - MU) / (L + MU)}[wrong]
    assert not checks.ch1_heavy_ball_rate(L, MU, answer)


@pytest.fixture
def ridge_fixed_point(key):
    A = jax.random.normal(key, (30, 5))
    b = jax.random.normal(jax.random.PRNGKey(1), (30,))
    problem, u = problems.ridge(A, b), jnp.asarray(0.3)
    update = gradient_descent(problem.f, 1.0 / problem.smoothness(u))
    return problem, update, problem.x_star(u), u


def test_ift_jacobian_accepts_closed_form_and_jacfwd_of_solution(ridge_fixed_point):
    problem, update, x_star, u = ridge_fixed_point
    assert checks.ch1_ift_jacobian(update, x_star, u, problem.jacobian(u))
    assert checks.ch1_ift_jacobian(update, x_star, u, jax.jacfwd(problem.x_star)(u)[:, None])


def test_ift_jacobian_rejects_partial_C_and_wrong_shape(ridge_fixed_point, capsys):
    _, update, x_star, u = ridge_fixed_point
    C = jax.jacfwd(update, argnums=1)(x_star, u)[:, None]
    assert not checks.ch1_ift_jacobian(update, x_star, u, C)
    assert not checks.ch1_ift_jacobian(update, x_star, u, jax.jacfwd(update, argnums=1)(x_star, u))
    assert "expected shape" in capsys.readouterr().out


def test_checkers_are_named_after_their_chapter_in_chapter_order():
    """Every public checker is chN_...; the file lists them chapter by chapter; none
    shares a name with a function of the library it checks against. The one other
    public name is student_key, the graded assignments' per-student key."""
    import unrolling
    from unrolling import bilevel, bounds, budget, curse, derivatives, polynomials
    assert checks.__all__[0] == "student_key"
    names = checks.__all__[1:]
    assert all(re.match(r"ch[1-9]_\w+$", name) for name in names)
    assert [int(name[2]) for name in names] == sorted(int(name[2]) for name in names)
    library = {name for module in (unrolling, bilevel, bounds, budget, curse, derivatives,
                                   polynomials) for name in dir(module)}
    assert not library & set(names)
    assert "report" not in dir(checks)


def test_ift_jacobian_refuses_a_point_where_zero_is_the_answer(ridge_fixed_point, capsys):
    """At x = 0 ridge's (I - B)^{-1} C = -H^{-1} x is zero: a zero placeholder (or any
    formula that forgets x) would pass, so the checker refuses the input."""
    _, update, x_star, u = ridge_fixed_point
    zero = jnp.zeros((x_star.size, 1))
    assert not checks.ch1_ift_jacobian(update, jnp.zeros_like(x_star), u, zero)
    assert "answer equals zero" in capsys.readouterr().out
    assert not checks.ch1_ift_jacobian(update, x_star, u, zero)


@pytest.mark.parametrize("shape", [(1,), (2,)])
def test_scalar_checkers_reject_non_scalars_with_a_verdict(shape, capsys):
    k = math.ceil(math.log(1e-6) / math.log(0.97))        # the right k, in an array
    assert not checks.ch1_iterations_to_tolerance(0.97, 1.0, 1e-6, jnp.full(shape, k))
    assert not checks.ch1_optimal_step_size(L, MU, [2 / (L + MU)])
    assert capsys.readouterr().out.count("not yet") == 2


def test_student_key_depends_on_the_identifier_only():
    """Same identifier (up to surrounding spaces), same key; another identifier, another
    key; an empty or non-string identifier is refused with the argument's name."""
    import numpy as np
    a, again, b = (np.asarray(checks.student_key(s)) for s in ("s123", " s123 ", "s124"))
    assert np.array_equal(a, again) and not np.array_equal(a, b)
    for bad in ("", "   ", None, 123):
        with pytest.raises(ValueError, match="student_id"):
            checks.student_key(bad)
