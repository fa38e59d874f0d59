"""The live explorer figure (private): one figure per explorer, updated in place at every
slider move and painted in cached layers.

Every explorer is built by :func:`explorer` from a function
``draw(**values, fig=None) -> Figure``: called without ``fig`` it draws a new figure
(the notebook shows the default state as a static figure this way), and given a figure
it drew before, it updates that figure in place (new line data, labels, limits). The
widget keeps one :class:`LiveFigure` per explorer, whose call is the whole work of a
slider move (compute, update in place, PNG bytes); the benchmark
(benchmarks/widgets.py) times exactly that call, for every draw function recorded in
:data:`EXPLORERS` by :func:`register`. Compute inside ``draw`` must be jit-compiled
once (keep jitted functions outside ``draw``) so that an update feels instant; drawing
a new figure at every move would cost several times the budget of 100 ms per update.

:func:`curves_figure` is the explorers' generic picture: curves on a log-y axis in a
fixed layout, drawn for speed; :func:`history_figure` draws chapter 5's three panels
(:func:`unrolling.plotting.bilevel_history_figure`). This module imports no numerics
(numpy, matplotlib, PIL; ipywidgets when an explorer is built).
"""
import base64
import functools
import html
import io
import itertools
import json
import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

#: name -> (draw, defaults, variations): every chapter explorer registers its draw
#: function here, with its default values and a few other settings, so the widget
#: benchmark (benchmarks/widgets.py) and the tests can drive a :class:`LiveFigure`.
EXPLORERS = {}


def register(name, defaults, variations):
    """Decorator recording ``draw`` in :data:`EXPLORERS` under ``name``."""
    def decorate(draw):
        EXPLORERS[name] = (draw, dict(defaults), [dict(v) for v in variations])
        return draw
    return decorate


def png_bytes(fig):
    """Rasterize ``fig`` with Agg (at its own dpi, as the widget shows it) to PNG bytes."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return _encode_png(canvas)


def render(fig):
    """Rasterize a figure to PNG bytes (:func:`png_bytes`) and close it."""
    png = png_bytes(fig)
    plt.close(fig)
    return png


class LiveFigure:
    """One explorer's figure, kept across slider moves.

    The first call ``live(**values)`` draws the figure, ``draw(**values)``; every later
    call updates it in place, ``draw(**values, fig=live.fig)``. Each call returns the PNG
    bytes of the picture: the same pixels as a full draw, painted in layers. Matplotlib
    paints each axes' x axis, then its y axis, then a legend set beneath the lines,
    before anything else; these layers (ticks, grid and texts: most of the time) are
    kept as pixels, and a call repaints from the first layer that changed (limits,
    ticks, labels, legend entries), then the rest (lines, titles, other legends). The
    figure is detached from pyplot, so the notebook does not show it a second time.
    """

    def __init__(self, draw):
        self.draw, self.fig = draw, None
        self._keys, self._pixels = [], []   # per kept layer: what it shows, pixels after it

    def __call__(self, **values):
        if self.fig is None:
            self.fig = self.draw(**values)
            plt.close(self.fig)
            FigureCanvasAgg(self.fig)
        else:
            self.draw(**values, fig=self.fig)
        return self._png()

    def _png(self):
        canvas, (layers, rest) = self.fig.canvas, _layers(self.fig)
        renderer, keys = canvas.get_renderer(), [_layer_key(layer) for layer in layers]
        kept = 0
        while kept < min(len(keys), len(self._keys)) and keys[kept] == self._keys[kept]:
            kept += 1
        changed = kept
        if kept == 0:   # the figure and axes backgrounds and the first layer, by Agg
            later = [artist for layer in layers[1:] for artist in layer] + rest
            for artist in later:
                artist.set_animated(True)
            try:
                canvas.draw()
            finally:
                for artist in later:
                    artist.set_animated(False)
            self._pixels, kept = [canvas.copy_from_bbox(self.fig.bbox)], 1
        canvas.restore_region(self._pixels[kept - 1])
        del self._pixels[kept:]
        for layer in layers[kept:]:
            for artist in layer:
                artist.draw(renderer)
            self._pixels.append(canvas.copy_from_bbox(self.fig.bbox))
        # keys after painting: painting can change a formatter's state, part of its key
        self._keys = keys[:changed] + [_layer_key(layer) for layer in layers[changed:]]
        for artist in rest:
            artist.draw(renderer)
        return _encode_png(canvas)


#: The layers a :class:`LiveFigure` keeps, in the order every axes paints them.
_LAYERS = (mpl.axis.XAxis, mpl.axis.YAxis, mpl.legend.Legend)


def _layers(fig):
    """``(layers, rest)``: per entry of :data:`_LAYERS`, the artists of that kind that their
    axes paint before anything else (in this order), and all other artists in the order
    a full draw paints them (axes by axes, then the figure's own texts). The axes do not
    overlap, so painting layer by layer across the axes gives the same pixels."""
    def by_zorder(artists):   # stable, as Figure.draw and Axes.draw sort
        return sorted(artists, key=lambda artist: artist.get_zorder())
    layers, rest = [[] for _ in _LAYERS], []
    for artist in by_zorder(a for a in fig.get_children() if a is not fig.patch):
        if not isinstance(artist, mpl.axes.Axes):
            rest.append(artist)
            continue
        children, level = by_zorder(a for a in artist.get_children() if a is not artist.patch), 0
        for i, child in enumerate(children):
            kinds = [k for k in range(level, len(_LAYERS)) if isinstance(child, _LAYERS[k])]
            if not kinds:
                rest += children[i:]
                break
            level = kinds[0]
            layers[level].append(child)
    return layers, rest


def _layer_key(layer):
    """What the pixels of a layer depend on: for an axis its limits, scale, ticks and
    label; for a legend its place, entries and their styles."""
    return [_axis_key(a) if isinstance(a, mpl.axis.Axis) else _legend_key(a) for a in layer]


def _axis_key(axis):
    # the ticks follow from the limits, the axis length and the locators and formatters
    def settings(ticker):
        return type(ticker), sorted((k, tuple(np.ravel(v).tolist()) if isinstance(v, np.ndarray)
                                     else v) for k, v in vars(ticker).items() if k != "axis")
    return (tuple(axis.get_view_interval()), axis.get_scale(), axis.label.get_text(),
            tuple(axis.axes.get_position().bounds),
            *(settings(t) for t in (axis.major.locator, axis.major.formatter,
                                    axis.minor.locator, axis.minor.formatter)))


def _legend_key(legend):
    renderer = legend.get_figure(root=True).canvas.get_renderer()
    return (tuple(legend.get_window_extent(renderer).bounds),
            tuple(text.get_text() for text in legend.get_texts()),
            tuple(_handle_style(handle) for handle in legend.legend_handles))


def _handle_style(handle):
    if isinstance(handle, mpl.lines.Line2D):
        return (handle.get_color(), handle.get_linestyle(), handle.get_linewidth(),
                handle.get_marker(), handle.get_markersize())
    return (type(handle).__name__, str(handle.properties()))


def _encode_png(canvas):
    """The canvas's pixels as PNG bytes, encoded by PIL at a low compression level
    (``savefig``'s default level takes several times longer for a file ~5% smaller)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def explorer(draw, frames=None, **controls):
    """A box of controls above an output area that a :class:`LiveFigure` refreshes.

    Args:
      draw: function of the control values returning a matplotlib Figure, which
        updates the figure given as ``fig=`` in place instead of drawing a new one.
      frames: for the static site, ``{control name: values}``: a small grid (at most
        :data:`MAX_FRAMES` combinations; other controls stay at their initial value)
        drawn ahead of time, see :func:`frames_html`.
      **controls: ipywidgets value widgets (sliders, toggles), keyed by ``draw``'s
        argument names.

    Returns:
      An ``ipywidgets.VBox``; the figure for the initial values is drawn at once. In a
      kernel the box shows as the live widget; its output also carries the frames as
      HTML, which the static site shows instead (the widget needs a kernel there).
    """
    import ipywidgets as w
    from IPython.display import Image as PNGImage
    from IPython.display import display

    out, live = w.Output(), LiveFigure(draw)

    def update(change=None):
        png = live(**{name: c.value for name, c in controls.items()})
        with out:
            out.clear_output(wait=True)
            display(PNGImage(png))

    for control in controls.values():
        control.observe(update, names="value")
    update()
    initial = {name: c.value for name, c in controls.items()}
    labels = {name: c.description for name, c in controls.items()}
    html = frames_html(draw, frames or {}, initial, labels)
    return _explorer_box()([w.HBox(list(controls.values())), out], static_html=html)


@functools.cache
def _explorer_box():
    """The explorer's VBox class, made on first use (ipywidgets is imported lazily)."""
    import ipywidgets as w

    class ExplorerBox(w.VBox):
        """A VBox whose output also holds an HTML version for pages without a kernel."""

        def __init__(self, children, static_html):
            super().__init__(children)
            self._static_html = static_html

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/html"] = self._static_html
            return bundle

    return ExplorerBox


#: At most this many precomputed frames per explorer on the static site; frames are
#: drawn at FRAME_SCALE times the figure's dpi (sharp on phones) and stored as PNG
#: with a 64-colour palette (about 20-40 kB each).
MAX_FRAMES, FRAME_SCALE = 12, 2


def _frame_png(fig):
    fig.set_dpi(fig.dpi * FRAME_SCALE)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    buf = io.BytesIO()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    image.quantize(64).save(buf, format="png", optimize=True)
    plt.close(fig)
    return buf.getvalue(), canvas.get_width_height()[0] // FRAME_SCALE


def _format(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, np.integer)):
        return str(value)
    return f"{value:.3g}"


def frames_html(draw, grids, initial, labels):
    """A kernel-free explorer for the static site: one range input per varied control,
    swapping precomputed frames of ``draw`` (every combination of ``grids``' values;
    the other controls at ``initial``). It opens folded, under a summary that says what
    it is, so that the page does not show the default picture twice."""
    names = list(grids)
    shape = [len(grids[n]) for n in names]
    if not names or math.prod(shape) > MAX_FRAMES:
        raise ValueError(f"frames: give 1 to {MAX_FRAMES} combinations of control values, "
                         f"got {math.prod(shape) if names else 0} ({shape})")
    frames, alts, width = [], [], None
    for combo in itertools.product(*(grids[n] for n in names)):
        png, width = _frame_png(draw(**{**initial, **dict(zip(names, combo))}))
        frames.append("data:image/png;base64," + base64.b64encode(png).decode())
        alts.append("Explorer frame with " + ", ".join(
            f"{labels[n]} = {_format(v)}" for n, v in zip(names, combo)))
    start = [_nearest(grids[n], initial[n]) for n in names]
    index = int(np.ravel_multi_index(start, shape))
    inputs = "".join(
        f'<label class="cx-control">{html.escape(labels[n])} '
        f'<input type="range" min="0" max="{len(grids[n]) - 1}" step="1" value="{i}" '
        f'aria-label="{html.escape(labels[n])}"> <output>{_format(grids[n][i])}</output></label>'
        for n, i in zip(names, start))
    data = json.dumps({"frames": frames, "alts": alts, "shape": shape,
                       "values": [[_format(v) for v in grids[n]] for n in names]})
    return (f'<details class="course-explorer-static"><summary>Explore this figure without '
            f'a kernel: {len(frames)} precomputed settings (open the chapter in Colab for '
            f'the live explorer)</summary><div class="cx-controls">{inputs}</div>'
            f'<img class="cx-frame" src="{frames[index]}" alt="{html.escape(alts[index])}" '
            f'style="width: 100%; max-width: {width}px">'
            f'<script type="application/json" class="cx-data">{data}</script>'
            f'<script>{_FRAMES_JS}</script></details>')


def _nearest(values, value):
    return int(np.argmin([abs(float(v) - float(value)) for v in values]))


#: Swaps the frame when a range input moves (row-major index over the inputs).
_FRAMES_JS = """(function (root) {
  var data = JSON.parse(root.querySelector('.cx-data').textContent);
  var inputs = root.querySelectorAll('input[type=range]'), img = root.querySelector('.cx-frame');
  function show() {
    var index = 0;
    inputs.forEach(function (input, d) {
      index = index * data.shape[d] + Number(input.value);
      input.nextElementSibling.textContent = data.values[d][Number(input.value)];
    });
    img.src = data.frames[index]; img.alt = data.alts[index];
  }
  inputs.forEach(function (input) { input.addEventListener('input', show); });
})(document.currentScript.parentElement);"""


# --- The explorers' picture: curves on a log-y axis in a fixed layout ---------------------

#: An explorer figure's one axes, in figure coordinates: a fixed layout (the
#: constrained layout solver would redo its work at every slider move).
_EXPLORER_RECT = (0.12, 0.14, 0.85, 0.76)


def _exponent_label(value, _pos=None):
    """A log-axis tick label as plain text, "1e-04" (mathtext labels are costly to draw)."""
    return f"{value:.0e}"


def _explorer_axes(xlabel, ylabel):
    """A new explorer figure: one empty log-y axes in a fixed layout."""
    fig = plt.figure(figsize=mpl.rcParams["figure.figsize"])   # the course style's size
    ax = fig.add_axes(_EXPLORER_RECT)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(_exponent_label))
    ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def _explorer_log_ticks(ax):
    """Log y ticks, no minor ones: at most five labelled decades over more than three
    decades, else 1, 2 and 5 times each power of ten, all labelled."""
    low, high = ax.get_ylim()
    wide = low > 0 and high / low > 1e3
    ax.yaxis.set_major_locator(mpl.ticker.LogLocator(numticks=5) if wide
                               else mpl.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())


def _set_curves(ax, curves, title, ylim=(None, None), **legend_kw):
    """Fill an explorer's axes: its i-th line takes ``curves[i] = (label, x, y)`` (label
    None keeps the line's label), then the y view is refitted to whole decades (clipped
    to ``ylim`` where given) and the title and legend are redrawn. A new figure and an
    updated one take this same path, so an update shows exactly what a new figure would.

    Whole decades keep the y axis still while a slider moves a little, and the legend
    sits at a fixed place beneath the curves (``zorder`` 1.8 < 2): the explorer then
    reuses the pixels of both from the previous picture (:class:`LiveFigure`).
    """
    for line, (label, x, y) in zip(ax.get_lines(), curves):
        line.set_data(np.asarray(x), np.asarray(y))
        if label is not None:
            line.set_label(label)
    ax.set_autoscaley_on(True)
    ax.relim()
    ax.autoscale_view(scaley=False)
    with mpl.rc_context({"axes.autolimit_mode": "round_numbers"}):
        ax.autoscale_view(scalex=False)
    if ylim != (None, None):
        ax.set_ylim(*ylim)
    _explorer_log_ticks(ax)
    ax.set_title(title or "")
    ax.legend(loc="lower left", **legend_kw).set_zorder(1.8)


def curves_figure(lines, title, fig=None, xlabel="iteration $k$", ylabel="error",
                  ylim=(None, None), xlim=None, **legend_kw):
    """An explorer's picture: one line per entry ``(label, x, y, style)`` of ``lines``
    (``style``: keyword arguments of ``Axes.plot``, or of ``Axes.axvline`` with
    ``vline=True``, whose y runs over the axes), on a log-y axis in a fixed layout.

    Given ``fig`` (a figure this function drew, with as many lines) only the data,
    labels, limits, title and legend are updated: what a slider move does. Drawn for
    speed: no constrained layout, no minor ticks, plain "1e-04" tick labels.
    """
    if fig is None:
        fig, ax = _explorer_axes(xlabel, ylabel)
        for *_, style in lines:
            style = dict(style)
            if style.pop("vline", False):
                ax.axvline(0.0, **style)
            else:
                ax.plot([], [], **style)
    if xlim is not None:
        fig.axes[0].set_xlim(*xlim)
    _set_curves(fig.axes[0], [(label, x, y) for label, x, y, _ in lines], title, ylim,
                **legend_kw)
    return fig


# --- Chapter 5: Algorithm 1 per outer step, three panels in a fixed layout ---------------

def history_figure(runs, values, styles, title=None, fig=None, ylims=None):
    """:func:`unrolling.plotting.bilevel_history_figure`, each run drawn with its entry of
    ``styles`` (keyword arguments of ``Line2D.set``)."""
    if fig is None:
        fig = _history_axes(len(runs), title, log_inner=ylims is not None)
    axes = fig.axes
    for i, ((label, hist), style) in enumerate(zip(runs.items(), styles)):
        r = np.arange(len(hist.inner_steps))
        for ax, (x, y) in zip(axes, [(r, hist.inner_steps),
                                     (r, np.maximum(hist.hypergradient_error, 1e-16)),
                                     (np.arange(len(values[label])), values[label])]):
            ax.get_lines()[i].set_data(np.asarray(x), np.asarray(y))
            ax.get_lines()[i].set(**style)
        axes[0].get_lines()[i].set_label(label)
    if ylims is not None:   # fixed axes: outer steps 0..R on x, whatever the data (NaN too)
        num_outer = max(len(v) for v in values.values()) - 1
        for ax, lim in zip(axes, ylims):
            ax.set_xlim(-0.025 * num_outer, 1.025 * num_outer)
            ax.set_ylim(*lim)
    else:
        for ax in axes:
            ax.set_autoscaley_on(True)
            ax.relim()
            ax.autoscale_view()
        axes[0].set_ylim(bottom=0)
    axes[0].legend()
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _history_axes(num_runs, title, log_inner=False):
    """The three empty panels of :func:`history_figure`, one line per run each."""
    fig = plt.figure(figsize=(9.6, 3.2))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.86 if title else 0.95,
                        wspace=0.36)
    for ax in axes:
        for _ in range(num_runs):
            ax.plot([], [])
    for ax in axes[:2] if log_inner else axes[1:2]:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(mpl.ticker.LogFormatter(labelOnlyBase=True))
        ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    axes[0].set(xlabel="outer step r", ylabel="inner iterations K\u1d63")
    axes[1].set(xlabel="outer step r", ylabel="hypergradient error")
    axes[2].set(xlabel="outer step r", ylabel="outer loss h(u)")
    return fig
