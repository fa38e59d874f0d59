"""unrolling.plotting: one colour per role, the generic builders (curves, panels) and the
chapter 1 figures: right number of axes and lines, bounds drawn above the errors, and
the registered contraction explorer draws for its defaults and variations."""
from typing import NamedTuple
import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import bounds, errors, gradient_descent, heavy_ball, iterate, plotting, problems
from unrolling import _live, widgets

L, MU, K = 1.0, 0.05, 60


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _lines(ax, style):
    return [line for line in ax.get_lines() if line.get_linestyle() == style]


class _Estimator(NamedTuple):
    """Stands for an estimator value of the numerical core (``OneStep()`` ...)."""
    name: str


def _assert_bounds_above(ax):
    """Each dashed line (a bound) lies above the solid line of the same colour."""
    solid = {line.get_color(): line for line in _lines(ax, "-")}
    dashed = _lines(ax, "--")
    assert dashed
    for bound in dashed:
        error = solid[bound.get_color()]
        np.testing.assert_array_equal(bound.get_xdata(), error.get_xdata())
        assert np.all(bound.get_ydata() >= error.get_ydata() * (1 - 1e-12))


@pytest.fixture
def quadratic_problem(key):
    return problems.spectral_quadratic(key, jnp.geomspace(MU, L, 8))


def test_contraction_factor_figure_lines_and_minimum_at_optimal_step():
    spectra = {"a": (L, MU), "b": (2.0, 0.5)}
    fig = plotting.contraction_factor_figure(spectra, num=2001)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 * len(spectra) + 1
    for (L_, mu_), curve, dot in zip(spectra.values(), lines[1::2], lines[2::2]):
        alpha, values = curve.get_xdata(), curve.get_ydata()
        np.testing.assert_allclose(values, np.maximum(abs(1 - alpha * mu_), abs(1 - alpha * L_)))
        spacing = alpha[1] - alpha[0]
        assert abs(alpha[np.argmin(values)] - 2 / (L_ + mu_)) <= spacing
        assert dot.get_xdata()[0] == pytest.approx(2 / (L_ + mu_))
        assert dot.get_ydata()[0] == pytest.approx((L_ - mu_) / (L_ + mu_))
        assert values.min() >= dot.get_ydata()[0] - 1e-12


def test_curves_bounds_take_their_curves_colours_and_dominate_gd_errors(quadratic_problem):
    x_star, x0 = quadratic_problem.x_star(0.0), jnp.zeros(8)
    curves, bound_curves = {}, {}
    for alpha in (0.5 / L, 1 / L, 2 / (L + MU)):
        e = errors.iterate_errors(iterate(gradient_descent(quadratic_problem.f, alpha),
                                          x0, 0.0, K), x_star)
        curves[f"{alpha:.3g}"] = e
        bound_curves[f"bound {alpha:.3g}"] = bounds.iterate_bound(
            jnp.arange(K + 1), bounds.gd_contraction(alpha, L, MU), e[0])
    fig = plotting.curves(curves, bound_curves, title="GD")
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 6
    _assert_bounds_above(fig.axes[0])


def test_curves_without_bounds_draws_only_curves():
    fig = plotting.curves({"a": np.geomspace(1, 1e-3, 5), "b": np.ones(5)})
    assert len(fig.axes) == 1 and len(_lines(fig.axes[0], "-")) == 2
    assert not _lines(fig.axes[0], "--")


def test_heavy_ball_panels_not_a_norm_contraction_yet_bounded(quadratic_problem):
    sL, smu = np.sqrt(L), np.sqrt(MU)
    update = heavy_ball(quadratic_problem.f, 4 / (sL + smu) ** 2, ((sL - smu) / (sL + smu)) ** 2)
    x_star = quadratic_problem.x_star(0.0)
    z_flat, unravel = ravel_pytree((x_star, x_star))
    B = np.asarray(jax.jacfwd(lambda z: ravel_pytree(update(unravel(z), 0.0))[0])(z_flat))
    powers = [np.linalg.matrix_power(B, k) for k in range(K + 1)]
    power_norms = np.array([np.linalg.norm(P, 2) for P in powers])
    zs = iterate(update, (jnp.zeros(8), jnp.zeros(8)), 0.0, K)
    e_phase = errors.iterate_errors(zs, z_flat)
    e_x = errors.iterate_errors(zs[:, :8], x_star)
    r_B = np.max(np.abs(np.linalg.eigvals(B)))
    fig = plotting.panels([
        dict(curves={"norm": power_norms}, bounds={"r^k": r_B ** np.arange(K + 1)},
             colors="iterate", bound_colors="bound", hline=1.0),
        dict(curves={"heavy ball": e_x}, bounds={"bound": power_norms * e_phase[0]})])
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    left, right = fig.axes
    assert len(left.get_lines()) == 3 and len(right.get_lines()) == 2
    assert power_norms[1] > 1  # not a contraction in the 2-norm
    _assert_bounds_above(right)


def test_ch1_explorer_registered_and_draws_defaults_and_variations():
    draw, defaults, variations = _live.EXPLORERS["ch1_contraction"]
    assert draw is widgets.ch1_contraction
    assert variations
    for values in [defaults, *variations]:
        fig = draw(**values)
        assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 1
        assert len(fig.axes[0].get_lines()) == 3
        _assert_bounds_above(fig.axes[0])
        plt.close(fig)


def test_ch1_explorer_controls_match_draw_arguments():
    box = widgets.ch1_contraction_explorer()
    controls = box.children[0].children
    assert {c.value for c in controls} == {0.5, 30.0}
    assert len(controls) == 2


ROLES = ["iterate", "unrolled", "forward", "reverse", "truncated", "one-step", "implicit",
         "adjoint, fixed point", "adjoint, CG", "adaptive", "bound", "reference"]
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
             "#CC79A7", "#999999"}
#: Okabe-Ito has eight colours; the estimators of chapters 6-7 take three of Tol's muted
#: palette, also safe for colour-blind readers.
TOL_MUTED = {"#882255", "#117733", "#332288"}
ESTIMATORS = ("unrolled", "truncated", "one-step", "implicit", "adjoint, fixed point",
              "adjoint, CG", "adaptive")


def test_one_colour_table_in_the_course_vocabulary():
    assert list(plotting.COLORS) == ROLES
    assert set(plotting.COLORS.values()) <= OKABE_ITO | TOL_MUTED
    estimators = [plotting.COLORS[k] for k in ESTIMATORS]
    assert len(set(estimators)) == len(ESTIMATORS)
    for name in ("STRATEGY_COLORS", "CYCLE", "_family_colors", "_ESTIMATOR_COLORS"):
        assert not hasattr(plotting, name)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_color_takes_a_role_an_estimator_value_or_a_label(name):
    expected = plotting.COLORS[name]
    assert plotting.color(name) == expected
    assert plotting.color(_Estimator(name)) == expected
    assert plotting.color(f"{name}, warm") == expected
    assert plotting.color("#123456") == "#123456"
    with pytest.raises(KeyError, match="one-step"):
        plotting.color("one_step")


def test_roles_curves_differ_in_marker_not_only_colour():
    fig = plotting.curves({name: np.geomspace(1, 1e-3, 20) for name in
                           ("unrolled", "truncated", "one-step", "implicit")})
    lines = fig.axes[0].get_lines()
    assert [line.get_color() for line in lines] == [plotting.color(n) for n in
                                                    ("unrolled", "truncated", "one-step", "implicit")]
    assert len({line.get_marker() for line in lines}) == 4


class _Curves(NamedTuple):
    iterate: np.ndarray
    forward: np.ndarray
    reverse: object
    k_dot: int
    k_bar: object


def test_curves_of_a_result_object_in_role_colours_with_the_peak_marked():
    k = np.arange(50.0)
    result = _Curves(0.9 ** k, (1 + k) * 0.9 ** k, None, 9, None)
    ax = plotting.curves(result, normalize=True, k_max=40).axes[0]
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert [line.get_color() for line in solid] == [plotting.COLORS["iterate"],
                                                    plotting.COLORS["forward"]]
    np.testing.assert_allclose(solid[1].get_ydata(), result.forward / result.forward[0])
    mark = [line for line in ax.get_lines() if line.get_label() == r"$\dot k = 9$"]
    assert mark and mark[0].get_xdata()[0] == 9
    assert ax.get_xlim() == (0, 40)


def test_panels_share_options_and_label_the_left_column():
    fig = plotting.panels([dict(field="forward", title="left"), dict(field="iterate")],
                          curves={"a": _Curves(np.ones(5), 2 * np.ones(5), None, 0, None)},
                          ylabel="error", log="")
    left, right = fig.axes
    assert (left.get_title(), left.get_ylabel(), right.get_ylabel()) == ("left", "error", "")
    np.testing.assert_array_equal(left.get_lines()[0].get_ydata(), 2 * np.ones(5))
    np.testing.assert_array_equal(right.get_lines()[0].get_ydata(), np.ones(5))


def test_rows_of_a_2d_bound_take_the_rows_colours_with_one_legend_entry():
    rows = np.array([np.geomspace(1, 1e-2, 10), np.geomspace(1, 1e-4, 10)])
    ax = plotting.curves({"a": rows[0] / 2, "b": rows[1] / 2}, {"bound": rows}).axes[0]
    _assert_bounds_above(ax)
    assert ax.get_legend_handles_labels()[1] == ["a", "b", "bound"]


@pytest.mark.parametrize("module", ["plotting", "_live"])
def test_presentation_modules_import_no_numerics_at_import_time(module):
    """plotting and _live import matplotlib, numpy and each other at module level only;
    numerical modules (jax, chapter modules) at most inside the functions that need them."""
    import ast
    import pathlib

    import unrolling
    tree = ast.parse((pathlib.Path(unrolling.__file__).parent / f"{module}.py").read_text())
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import)
           for alias in node.names}
    top |= {(node.module or "").split(".")[0] or "." + node.names[0].name
            for node in tree.body if isinstance(node, ast.ImportFrom)}
    import sys
    third_party = top - set(sys.stdlib_module_names)
    assert third_party <= {"matplotlib", "numpy", "cycler", "PIL", "._live", "_sweep_figures"}, top
