"""Chapter 1 figures: right number of axes and lines, bounds drawn above the errors,
and the registered contraction explorer draws for its defaults and variations."""
import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from unrolling import bounds, errors, gradient_descent, heavy_ball, iterate, plotting, problems
from unrolling import widgets

L, MU, K = 1.0, 0.05, 60


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _lines(ax, style):
    return [line for line in ax.get_lines() if line.get_linestyle() == style]


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


def test_gd_contraction_figure_lines_and_minimum_at_optimal_step():
    spectra = {"a": (L, MU), "b": (2.0, 0.5)}
    fig = plotting.gd_contraction_figure(spectra, num=2001)
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


def test_iterate_error_figure_bounds_dominate_gd_errors(quadratic_problem):
    x_star, x0 = quadratic_problem.x_star(0.0), jnp.zeros(8)
    curves, bound_curves = {}, {}
    for alpha in (0.5 / L, 1 / L, 2 / (L + MU)):
        e = errors.iterate_errors(iterate(gradient_descent(quadratic_problem.f, alpha),
                                          x0, 0.0, K), x_star)
        curves[f"{alpha:.3g}"] = e
        bound_curves[f"bound {alpha:.3g}"] = bounds.iterate_bound(
            jnp.arange(K + 1), bounds.gd_contraction(alpha, L, MU), e[0])
    fig = plotting.iterate_error_figure(curves, bound_curves, title="GD")
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 6
    _assert_bounds_above(fig.axes[0])


def test_iterate_error_figure_without_bounds_draws_only_curves():
    fig = plotting.iterate_error_figure({"a": np.geomspace(1, 1e-3, 5), "b": np.ones(5)})
    assert len(fig.axes) == 1 and len(_lines(fig.axes[0], "-")) == 2
    assert not _lines(fig.axes[0], "--")


def test_heavy_ball_figure_not_a_norm_contraction_yet_bounded(quadratic_problem):
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
    fig = plotting.heavy_ball_figure(power_norms, np.max(np.abs(np.linalg.eigvals(B))),
                                     {"heavy ball": e_x}, {"bound": power_norms * e_phase[0]})
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    left, right = fig.axes
    assert len(left.get_lines()) == 3 and len(right.get_lines()) == 2
    assert power_norms[1] > 1  # not a contraction in the 2-norm
    _assert_bounds_above(right)


def test_ch1_explorer_registered_and_draws_defaults_and_variations():
    draw, defaults, variations = widgets.EXPLORERS["ch1_contraction"]
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
