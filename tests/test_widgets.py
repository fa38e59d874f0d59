"""The chapter explorers (unrolling.widgets, live figures in unrolling._live): a slider move
updates one live figure in place.

For every registered explorer and each of its variations, the live figure after the
update must show what a new figure drawn for the same values shows: the same line
data, labels, titles and limits, and the same pixels in the PNG the widget displays.
"""
import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from unrolling import _live, plotting, widgets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def course_style():
    plotting.use_style()
    yield
    plt.close("all")


def pixels(png):
    assert png.startswith(PNG_SIGNATURE)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def texts(fig):
    """Every text of a figure, axes by axes: titles, axis labels, legend entries."""
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        legend = ax.get_legend()
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
                *([t.get_text() for t in legend.get_texts()] if legend else [])]
    return out


def assert_same_picture(live, fresh):
    """Same axes, line data and styles, texts, limits and scales."""
    assert len(live.axes) == len(fresh.axes)
    assert texts(live) == texts(fresh)
    for ax_live, ax_fresh in zip(live.axes, fresh.axes):
        assert ax_live.get_xlim() == pytest.approx(ax_fresh.get_xlim(), rel=1e-12)
        assert ax_live.get_ylim() == pytest.approx(ax_fresh.get_ylim(), rel=1e-12)
        assert ax_live.get_yscale() == ax_fresh.get_yscale()
        lines_live, lines_fresh = ax_live.get_lines(), ax_fresh.get_lines()
        assert len(lines_live) == len(lines_fresh)
        for a, b in zip(lines_live, lines_fresh):
            np.testing.assert_array_equal(a.get_xydata(), b.get_xydata())
            assert (a.get_color(), a.get_linestyle(), a.get_label()) == \
                (b.get_color(), b.get_linestyle(), b.get_label())


@pytest.mark.parametrize("name", sorted(_live.EXPLORERS))
def test_live_update_shows_what_a_new_figure_shows(name):
    draw, defaults, variations = _live.EXPLORERS[name]
    assert variations
    live = _live.LiveFigure(draw)
    first = live(**defaults)
    fig = live.fig
    assert plt.fignum_exists(fig.number) is False  # not shown again as a static figure
    assert_same_picture(fig, draw(**defaults))
    for values in [*variations, defaults, variations[0]]:
        png = live(**values)
        assert live.fig is fig                       # updated in place, not redrawn
        fresh = draw(**values)
        assert_same_picture(fig, fresh)
        np.testing.assert_array_equal(pixels(png), pixels(_live.render(fresh)))
    assert not np.array_equal(pixels(first), pixels(live(**variations[0])))


def test_an_update_changes_the_lines():
    """Guard against a vacuous comparison: two settings draw different curves."""
    draw, defaults, variations = _live.EXPLORERS["ch3_curse"]
    a, b = draw(**defaults), draw(**variations[1])
    assert not np.array_equal(a.axes[0].get_lines()[1].get_ydata(),
                              b.axes[0].get_lines()[1].get_ydata())
    assert a.axes[0].get_title() != b.axes[0].get_title()


def test_explorer_callback_displays_the_live_picture(monkeypatch):
    """Moving a slider displays the PNG of the updated figure (no new pyplot figure)."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda image: shown.append(image.data))
    box = widgets.ch3_curse_explorer()
    step_scale = box.children[0].children[0]
    assert len(shown) == 1 and not plt.get_fignums()
    step_scale.value = 1.0
    assert len(shown) == 2 and not plt.get_fignums()
    draw, defaults, _ = _live.EXPLORERS["ch3_curse"]
    expected = _live.render(draw(**{**defaults, "step_scale": 1.0}))
    np.testing.assert_array_equal(pixels(shown[-1]), pixels(expected))


def test_render_returns_png_and_closes_the_figure():
    fig, ax = plt.subplots()
    ax.plot([0.0, 1.0])
    png = _live.render(fig)
    assert png.startswith(PNG_SIGNATURE) and not plt.fignum_exists(fig.number)
    assert pixels(png).shape[:2] == (fig.get_figheight() * fig.dpi, fig.get_figwidth() * fig.dpi)


EXPLORER_NAMES = {"ch1_contraction": ("step_fraction", "condition_number"),
                  "ch2_unrolling_errors": ("init_scale", "step_fraction"),
                  "ch3_curse": ("step_scale", "log10_cond", "init_scale"),
                  "ch4_truncation": ("T", "omega"),
                  "ch5_bilevel": ("step_size", "eps", "warm_start"),
                  "ch6_worst_case": ("condition_number", "num_steps"),
                  "ch7_matched_cost": ("init_scale", "logistic")}


@pytest.mark.parametrize("name", sorted(EXPLORER_NAMES))
def test_one_public_explorer_per_chapter_whose_controls_start_at_the_defaults(name):
    """widgets.chN_..._explorer() shows the registered draw function's default values,
    one control per argument; the static figure (where public) is the draw function."""
    draw, defaults, _ = _live.EXPLORERS[name]
    box = getattr(widgets, f"{name}_explorer")()
    controls = box.children[0].children
    assert [c.value for c in controls] == [defaults[k] for k in EXPLORER_NAMES[name]]
    assert getattr(widgets, name, draw) is draw
    plt.close("all")


def test_public_names_are_the_explorers_and_their_static_figures():
    assert all(re.match(r"ch\d_", name) for name in widgets.__all__)
    assert {f"{name}_explorer" for name in EXPLORER_NAMES} <= set(widgets.__all__)
    assert not {"EXPLORERS", "LiveFigure", "render", "png_bytes", "register"} & set(widgets.__all__)


def test_ch3_explorer_draws_a_title():
    draw, _, variations = _live.EXPLORERS["ch3_curse"]
    fig = draw(**variations[0])
    assert fig.axes and fig.axes[0].get_title()
    _live.render(fig)


def test_ch5_explorer_draws_three_panels_one_line_each():
    draw, defaults, variations = _live.EXPLORERS["ch5_bilevel"]
    for values in [defaults, *variations]:
        fig = draw(**values)
        assert len(fig.axes) == 3 and all(len(ax.get_lines()) == 1 for ax in fig.axes)
        plt.close(fig)


def _frames_data(html):
    import json
    import re
    return json.loads(re.search(r'<script type="application/json" class="cx-data">(.*?)</script>',
                                html, flags=re.S).group(1))


@pytest.mark.parametrize("name", sorted(EXPLORER_NAMES))
def test_explorer_output_carries_frames_for_the_static_site(name):
    """The explorer's output bundle holds the live widget and the frames (HTML); the
    frame shown first is the picture of the initial control values, and each frame is the
    draw function's picture of its setting, at twice the figure's resolution."""
    import base64
    import io

    from PIL import Image
    draw, defaults, _ = _live.EXPLORERS[name]
    bundle = getattr(widgets, f"{name}_explorer")()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    data = _frames_data(html)
    assert 1 < len(data["frames"]) <= _live.MAX_FRAMES
    assert len(data["frames"]) == np.prod(data["shape"]) == len(data["alts"])
    assert len(set(data["frames"])) == len(data["frames"]), "two settings drew the same frame"
    shown = re.search(r'<img class="cx-frame" src="([^"]+)"', html).group(1)
    first = Image.open(io.BytesIO(base64.b64decode(shown.split(",", 1)[1])))
    fig = draw(**defaults)
    size = (fig.get_figwidth() * fig.dpi * 2, fig.get_figheight() * fig.dpi * 2)
    png, _ = _live._frame_png(fig)
    assert first.size == size and shown == "data:image/png;base64," + base64.b64encode(png).decode()
    plt.close("all")


def test_frames_html_refuses_too_many_frames():
    draw, defaults, _ = _live.EXPLORERS["ch4_truncation"]
    with pytest.raises(ValueError, match="frames: give 1 to 12"):
        _live.frames_html(draw, {"T": list(range(13))}, defaults, {"T": "T"})
