"""One figure style for the whole course: one colour per role, a few generic builders.

Notebooks call :func:`use_style` once; a figure cell calls :func:`curves` (log-y curves,
dashed bounds, dotted marks) or :func:`panels` (a grid of them) and says what is special
about its figure. The few figures no builder draws keep a function each; all return the
``Figure``. Colours: :data:`COLORS` (Okabe–Ito, colour-blind safe) in the course's
vocabulary, one sequential map for a family of curves; estimators also carry a marker.
"""
import re
import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler

from . import _live

__all__ = ["COLORS", "use_style", "color", "curves", "panels", "contraction_factor_figure",
           "residual_polynomials_figure", "budget_figure", "sweep_figure", "sweep_gain_figure",
           "estimator_errors_figure", "bilevel_history_figure", "strategy_figure"]

#: One colour per role, the same in every chapter (Okabe–Ito). The estimator values
#: ``Unrolled()``, ``Truncated(k)``, ``OneStep()``, ``Implicit()`` are keyed by their
#: ``.name``; forward and reverse mode both compute the unrolled derivative.
COLORS = {
    "iterate": "#0072B2",      # blue: iterate errors e^(k)
    "unrolled": "#D55E00",     # vermillion: the unrolled derivative ...
    "forward": "#D55E00",      # ... in forward mode (same estimator)
    "reverse": "#009E73",      # bluish green: reverse mode
    "truncated": "#E69F00",    # orange
    "one-step": "#CC79A7",     # reddish purple
    "implicit": "#56B4E9",     # sky blue
    "adjoint, fixed point": "#882255",  # wine (Tol's muted palette): approximate implicit
    "adjoint, CG": "#117733",  # green (Tol)
    "adaptive": "#332288",     # indigo (Tol): adaptive truncation
    "bound": "#000000",        # black: theoretical bounds (dashed)
    "reference": "#999999",    # grey: a solve alone, idle iterations, levels
}

#: Marker of each estimator's curves, so that estimators differ in shape as well as colour.
_MARKERS = {"unrolled": "o", "forward": "o", "reverse": "s", "truncated": "^",
            "one-step": "D", "implicit": "v", "adjoint, fixed point": "P", "adjoint, CG": "X",
            "adaptive": "*"}

#: Colour map of a family of curves (dark to light); line styles of solid curves that
#: share a colour in one axes (dashed is for bounds); line styles of successive marks.
_FAMILY_MAP = "viridis"
_REPEATS = ("-", "-.", ":")
_MARK_STYLES = (":", "-.", (0, (1, 3)), (0, (5, 2)))

_STYLE = {
    "figure.figsize": (6.4, 3.6), "figure.dpi": 100, "savefig.dpi": 100,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(dict.fromkeys(COLORS.values()))),
    "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8, "legend.frameon": False,
    "lines.linewidth": 1.8, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "svg.hashsalt": "unrolling",   # deterministic SVG ids
}


def use_style():
    """Apply the course's style (every chapter's setup cell calls it); in a notebook kernel,
    show figures as SVG, sharp on any screen, dateless so re-execution stores the same bytes."""
    mpl.rcParams.update(_STYLE)
    if getattr(getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)(), "kernel", None):
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("svg", bbox_inches="tight", metadata={"Date": None})


def _role(key):
    """The key of :data:`COLORS` that ``key`` names: itself, an estimator's ``.name``, or
    the start of a label ("unrolled, warm", "reverse mode", "adjoint, CG, warm"; the
    longest key that ends at a word boundary); None if none."""
    name = getattr(key, "name", key)
    if not isinstance(name, str):
        return None
    starts = [k for k in COLORS if re.match(re.escape(k) + r"(?![\w-])", name)]
    return max(starts, key=len) if starts else None


def color(key):
    """The colour of a role: a key of :data:`COLORS` ("forward", "one-step", ...), an
    estimator value with a ``.name`` (``OneStep()``), a label starting with a role
    ("unrolled, cold"), or any matplotlib colour (returned as is)."""
    role = _role(key)
    if role is not None:
        return COLORS[role]
    if mpl.colors.is_color_like(key):
        return key
    raise KeyError(f"{key!r} is neither a role of plotting.COLORS ({', '.join(COLORS)}) "
                   "nor a matplotlib colour")


def _family(n):
    """n colours from dark to light along the family colour map."""
    return [mpl.colormaps[_FAMILY_MAP](x) for x in np.linspace(0.0, 0.85, n)]


def _new_figure(ncols=1, nrows=1, width=None, height=None, **kwargs):
    """``plt.subplots`` with the course's default size scaled to the grid: ``(fig, axes)``."""
    w, h = _STYLE["figure.figsize"]
    size = (width or w * (1 if ncols == 1 else 0.62 * ncols),
            height or h * (1 if nrows == 1 else 0.75 * nrows))
    return plt.subplots(nrows, ncols, figsize=size, layout="constrained", **kwargs)


# --- The generic builders -------------------------------------------------------------

#: Labels of the error sequences of a result object (e.g. ``curse.ErrorCurves``).
_RESULT_LABELS = {"iterate": r"iterate $e^{(k)}$", "forward": r"forward mode $\dot e^{(k)}$",
                  "reverse": r"reverse mode $\bar e^{(k)}$"}


def _from_result(result):
    """A result with ``iterate``/``forward``/``reverse`` fields (None: not drawn) as
    (curves, marks): one curve per role, the forward peak k-dot and reverse minimum k-bar."""
    drawn = {f: getattr(result, f) for f in _RESULT_LABELS if getattr(result, f, None) is not None}
    marks = {}
    for field, peak, symbol in (("forward", "k_dot", r"\dot k"), ("reverse", "k_bar", r"\bar k")):
        if field in drawn and getattr(result, peak, None) is not None:
            k = int(getattr(result, peak))
            marks[rf"${symbol} = {k}$"] = (k, field)
    return {_RESULT_LABELS[f]: values for f, values in drawn.items()}, marks


def _series(group, x=None, field=None):
    """label -> values, (x, values) or a result (with ``field``) as [(label, x, y)]; a
    list instead of a dict draws the same without labels; a 2-D array, one curve per row
    with the label on the first."""
    items = group.items() if isinstance(group, dict) else ((None, v) for v in group or ())
    out = []
    for label, spec in items:
        pair = isinstance(spec, tuple) and not hasattr(spec, "_fields")   # not a result
        xs, ys = spec if pair else (x, spec)
        ys = np.asarray(getattr(ys, field) if field else ys, dtype=float)
        for i, row in enumerate(np.atleast_2d(ys)):
            xs_row = np.arange(len(row)) if xs is None else np.asarray(xs)
            out.append((label if i == 0 else None, xs_row, row))
    return out


def _keys(labels, colors):
    """The colour key of each label: ``colors`` (one key for all, a list, or a dict label
    -> key), else the label itself (a role when it names one, see :func:`color`)."""
    if colors is None or isinstance(colors, dict):
        return [(colors or {}).get(label, label) for label in labels]
    return list(colors) if isinstance(colors, (list, tuple)) else [colors] * len(labels)


def _colors(keys, fallback=None):
    """Colours of ``keys``: a role's or a colour's own, else ``fallback[i]`` (default: the
    family colour map over the keys that name neither)."""
    def own(key):
        return _role(key) is not None or (key is not None and mpl.colors.is_color_like(key))
    others = iter(fallback or _family(sum(not own(k) for k in keys)))
    return [color(k) if own(k) else next(others) for k in keys]


def _curve_kw(key, line_color, seen, style):
    """Keyword arguments of a curve: its colour; a dash-dotted style when that colour is already
    in the axes; ``style``'s marker, or a role's own marker (every tenth of the axes)."""
    kw = dict(color=line_color, linestyle=_REPEATS[seen.count(line_color) % len(_REPEATS)])
    seen.append(line_color)
    marker = style.strip("-") or None
    if "-" not in style:
        kw["linestyle"] = "none"
    if _role(key) in _MARKERS:
        kw.update(_role_kw(key), color=line_color, **(dict(markevery=None) if marker else {}))
    elif marker:
        kw.update(marker=marker, markersize=4)
    return kw


def _role_kw(key):
    """Colour and marker (every tenth of the axes) of a role's curves."""
    kw = dict(color=color(key))
    if _role(key) in _MARKERS:
        kw.update(marker=_MARKERS[_role(key)], markevery=0.1, markersize=4)
    return kw


def _draw(ax, series, draw_kw, log):
    """Plot each (label, x, y) of ``series`` with its keyword arguments."""
    plot = {"y": ax.semilogy, "xy": ax.loglog, "": ax.plot}[log]
    for (label, x, y), kw in zip(series, draw_kw):
        if log:   # nothing to draw at or below zero on a log axis (e.g. rounding)
            y = np.where(y > 0, y, np.nan)
        plot(x, y, label=label, **kw)


def _marks(ax, marks):
    """Vertical lines: marks is a dict label -> k or label -> (k, colour key)."""
    for i, (label, spec) in enumerate((marks or {}).items()):
        k, key = spec if isinstance(spec, tuple) else (spec, "0.35")
        ax.axvline(float(k), color=color(key), linestyle=_MARK_STYLES[i % len(_MARK_STYLES)],
                   linewidth=1.2, label=label)


def _fit(ax, series, k_max, decades=None):
    """x from 0 to k_max and log-scale y-limits that fit the values shown there (at most
    ``decades`` decades below the largest)."""
    ax.set_xlim(0, k_max)
    shown = [y[(x <= k_max) & np.isfinite(y) & (y > 0)] for _, x, y in series]
    values = np.concatenate(shown) if shown else np.array([])
    if values.size:
        low = values.min() / 2 if decades is None else values.max() * 10.0 ** -decades
        ax.set_ylim(low, values.max() * (2 if decades is None else 3))


def curves(curves, bounds=None, marks=None, *, ax=None, dots=None, x=None, field=None,
           colors=None, bound_colors=None, style="-", normalize=False, k_max=None,
           decades=None, hline=None, log="y", ylim=None, xlabel="iteration $k$", ylabel=None,
           title=None, legend=True):
    r"""Curves on a log-y axis, with optional dashed bounds, dots and vertical marks
    (every chapter's error plots).

    Args:
      curves: dict label -> values (at k = 0, 1, ..., or at ``x``) or label -> (x, values);
        with ``field``, label -> a result object whose attribute ``field`` is drawn. A
        result object itself (fields ``iterate``, ``forward``, ``reverse``, as
        ``curse.ErrorCurves``) draws each error it holds in its role's colour, with its
        peak :math:`\dot k` and minimum :math:`\bar k` marked.
      bounds: dict label -> values or (x, values), drawn dashed; a list: unlabelled; a 2-D
        array: one bound per row (one legend entry).
      marks: dict label -> k or label -> (k, colour key): dotted vertical lines.
      ax: the axes to draw on; None makes a new one-axes figure.
      dots: like ``bounds``, drawn as dots.
      colors: colours of the curves: one key of :data:`COLORS` (or any colour) for all, a
        list, or a dict label -> key; by default a label naming a role takes that
        role's colour (:func:`color`) and the others the family colour map.
      bound_colors: the same for ``bounds``; by default the i-th bound (and the i-th
        dots) takes the i-th curve's colour.
      style: "-" (lines), "o-" or ".-" (lines with markers), "o" (markers only).
      normalize: divide each curve by its first value.
      k_max: right end of the x axis (y fitted to what is shown there, at most ``decades``
        decades of the curves below their largest value when given).
      hline: a horizontal level (e.g. 1), drawn thin.
      log: "y", "xy" or "" (linear); ylim: y-limits (None: fitted).
      xlabel, ylabel, title: axes texts; legend: draw a legend.

    Returns the Figure.
    """
    if ax is None:
        _, ax = _new_figure()
    if not isinstance(curves, dict):
        curves, result_marks = _from_result(curves)
        marks = {**result_marks, **(marks or {})}
    series = _series(curves, x, field)
    if normalize:
        series = [(label, xs, ys / ys[0]) for label, xs, ys in series]
    keys, seen = _keys([s[0] for s in series], colors), []
    line_colors = _colors(keys)
    _draw(ax, series, [_curve_kw(k, c, seen, style) for k, c in zip(keys, line_colors)], log)
    extra = []
    for group, kw in ((bounds, dict(linestyle="--", linewidth=1.2)),
                      (dots, dict(linestyle="none", marker="o", markersize=3))):
        group = _series(group, x)
        group_colors = _colors(_keys([s[0] for s in group], bound_colors)
                               if bound_colors is not None else [None] * len(group),
                               fallback=line_colors + [COLORS["bound"]] * len(group))
        _draw(ax, group, [dict(kw, color=c) for c in group_colors], log)
        extra += group
    if hline is not None:
        ax.axhline(hline, color=COLORS["reference"], linewidth=0.8)
    _marks(ax, marks)
    if k_max is not None:
        _fit(ax, series + extra if decades is None else series, k_max, decades)
    if ylim is not None:
        ax.set_ylim(*ylim)
    default_ylabel = "error relative to its start" if normalize else "error"
    ax.set(xlabel=xlabel, ylabel=default_ylabel if ylabel is None else ylabel, title=title)
    if legend and ax.get_legend_handles_labels()[1]:
        ax.legend(ncols=2 if len(ax.get_legend_handles_labels()[1]) > 5 else 1)
    return ax.figure


def panels(specs, *, ncols=None, nrows=1, width=None, height=None, sharex=False,
           sharey=False, ylabel=None, **common):
    r"""A grid of :func:`curves` axes filled row by row, returned as a Figure (panels of
    chapters 1, 3, 4 and 5): one dict of :func:`curves` arguments per panel in ``specs``;
    ``**common`` arguments are shared by all (a panel's own win); ``ylabel`` labels the
    left column; ``ncols`` (default: all in one row), ``nrows``, ``width``, ``height``,
    ``sharex``, ``sharey`` as in :func:`_new_figure`."""
    ncols = ncols or len(specs) // nrows
    fig, axes = _new_figure(ncols, nrows, width=width, height=height, sharex=sharex,
                           sharey=sharey, squeeze=False)
    for i, (ax, spec) in enumerate(zip(axes.flat, specs)):
        options = {**common, "ylabel": ylabel if i % ncols == 0 else "", **spec}
        curves(options.pop("curves"), ax=ax, **options)
    return fig


# --- Figures no builder draws ---------------------------------------------------------

def contraction_factor_figure(spectra, num=400):
    r"""Contraction factor of gradient descent against the step size (chapter 1).

    For each spectrum in ``spectra`` (dict label -> (L, mu)), draws
    :math:`\rho(\alpha) = \max(|1 - \alpha\mu|, |1 - \alpha L|)`
    (:func:`unrolling.bounds.gd_contraction`) at ``num`` steps in :math:`(0, 2.2/L]` and
    its minimum :math:`(L - \mu)/(L + \mu)` at :math:`\alpha = 2/(L + \mu)` (a dot); the
    level :math:`\rho = 1` once. A Figure with one axes and ``2 * len(spectra) + 1`` lines.
    """
    from .bounds import gd_contraction
    fig, ax = _new_figure()
    ax.axhline(1.0, color=COLORS["bound"], linewidth=0.8)
    for (label, (L, mu)), c in zip(spectra.items(), _family(len(spectra))):
        L, mu = float(L), float(mu)
        alpha, best = np.linspace(0.0, 2.2 / L, num)[1:], 2 / (L + mu)
        ax.plot(alpha, np.asarray(gd_contraction(alpha, L, mu)), color=c,
                label=fr"{label}, $\kappa = {L / mu:.3g}$")
        ax.plot([best], [float(gd_contraction(best, L, mu))], "o", color=c,
                label=fr"$\alpha = 2/(L+\mu) = {best:.3g}$")
    ax.set(xlabel=r"step size $\alpha$", ylabel=r"contraction factor $\rho(\alpha)$",
           ylim=(0.0, 1.5))
    ax.legend()
    return fig


def residual_polynomials_figure(lam, panels, steps):
    r"""Residual polynomials :math:`P_t(\lambda)` (top) and the Jacobian factor
    :math:`P_t(\lambda) - \lambda P_t'(\lambda)` (bottom) on the spectrum (chapter 3).

    ``lam``: grid of λ (x axis); ``panels``: dict method name -> (P, dP), arrays of shape
    (T + 1, len(lam)); ``steps``: the degrees t drawn, one family colour each. A Figure
    with a 2 x len(panels) grid of axes.
    """
    lam = np.asarray(lam)
    fig, axes = _new_figure(len(panels), 2, sharex=True)
    for j, (name, (P, dP)) in enumerate(panels.items()):
        P, dP = np.asarray(P), np.asarray(dP)
        for t, c in zip(steps, _family(len(steps))):
            axes[0, j].plot(lam, P[t], color=c, label=f"$t = {t}$")
            axes[1, j].plot(lam, P[t] - lam * dP[t], color=c, label=f"$t = {t}$")
        axes[0, j].set(title=name, ylabel=r"$P_t(\lambda)$")
        axes[1, j].set(xlabel=r"eigenvalue $\lambda$",
                       ylabel=r"$P_t(\lambda) - \lambda P_t'(\lambda)$")
    axes[0, 0].legend()
    return fig


def budget_figure(K, Ts, omega):
    r"""Budget reallocation (Mehmood et al. Sec. 4.3; chapter 4): idle and differentiated
    iterations.

    One bar per T: iterations :math:`0..T'` run idle (grey), :math:`T'..K'` are
    differentiated (family colours), with :math:`(K', T')` = ``budget.reallocate(K, T, omega)``;
    the label gives the cost :math:`K' + \omega(K' - T')`, the same for every T.
    """
    from .budget import reallocate
    fig, ax = _new_figure(height=0.45 * len(Ts) + 1.0)
    colors = _family(len(Ts))
    for i, (T, c) in enumerate(zip(Ts, colors)):
        K_p, T_p = reallocate(K, int(T), omega)
        ax.barh(i, T_p, color=COLORS["reference"], alpha=0.5)
        ax.barh(i, K_p - T_p, left=T_p, color=c)
        ax.text(K_p, i, f"  cost {K_p + omega * (K_p - T_p):g}", va="center", fontsize=8)
    handles = [mpl.patches.Patch(color=COLORS["reference"], alpha=0.5, label="idle"),
               mpl.patches.Patch(color=colors[len(colors) // 2], label="differentiated")]
    ax.set_yticks(range(len(Ts)), [f"T = {int(T)}" for T in Ts])
    ax.set(xlabel="iteration $k$", xlim=(0, 1.3 * reallocate(K, int(max(Ts)), omega)[0]))
    ax.invert_yaxis()
    ax.legend(handles=handles, loc="upper right")
    return fig


def _few_log_ticks(ax):
    """On a log y axis spanning more than three decades: at most five labelled decades and
    no minor ticks; narrower axes keep matplotlib's default ticks."""
    low, high = ax.get_ylim()
    if low > 0 and high / low > 1e3:
        ax.yaxis.set_major_locator(mpl.ticker.LogLocator(numticks=5))
        ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())


#: Estimator fields of an ``EstimatorErrors`` (chapter 4): field -> (label, role).
_ESTIMATOR_FIELDS = {"unrolled": ("unrolled", "unrolled"), "implicit": ("implicit", "implicit"),
                     "one_step": ("one-step", "one-step"), "truncated": ("K-step", "truncated")}


def _estimator_panel(ax, errs, title):
    """Iterate error (dotted) and each estimator's error; a curve mostly NaN as dots."""
    k = np.arange(len(errs.iterate))
    ax.semilogy(k, errs.iterate, ":", color=COLORS["iterate"], label=r"iterates $\|x_k - \bar x\|$")
    for field, (label, role) in _ESTIMATOR_FIELDS.items():
        values = np.asarray(getattr(errs, field))
        if np.isfinite(values).any():
            dots = np.isnan(values).sum() > len(values) // 2
            kw = dict(color=COLORS[role], marker="o", linestyle="none", markersize=3) if dots \
                else _role_kw(role)
            ax.semilogy(k, values, label=label, **kw)
    ax.set(xlabel="iteration $k$", title=title)
    _few_log_ticks(ax)


def estimator_errors_figure(errors, title=None):
    r"""Errors of the Jacobian estimators along one run or several (Bolte et al. Figs. 2
    and 4; chapter 4).

    Args:
      errors: an ``EstimatorErrors`` of the chapter 4 module (one axes, titled ``title``),
        or a dict title -> ``EstimatorErrors``, filled row by row into two columns.
    """
    panels, rows = (errors, (len(errors) + 1) // 2) if isinstance(errors, dict) else \
        ({title: errors}, 0)
    fig, axes = _new_figure(2, rows, width=8.0, height=2.7 * rows + 0.3, squeeze=False) \
        if rows else _new_figure(squeeze=False)
    for ax, (name, errs) in zip(axes.flat, panels.items()):
        _estimator_panel(ax, errs, name)
    for ax in axes[:, 0]:
        ax.set_ylabel("error" if rows else r"$\|J_k - J_\theta\bar x\|_F$")
    axes[0, 0].legend(fontsize=7 if rows else None)
    return fig


# --- Chapter 5: Algorithm 1 per outer step ----------------------------------------------

def _run_styles(labels):
    """Colour (the label's role, else the family map) and line style of each run."""
    colors, styles = _colors(list(labels)), []
    for i, c in enumerate(colors):
        styles.append(dict(color=c, linestyle=_REPEATS[colors[:i].count(c) % len(_REPEATS)]))
    return styles


def bilevel_history_figure(runs, values, title=None, fig=None, ylims=None):
    r"""Algorithm 1 per outer step: :math:`K_r`, hypergradient error, outer loss (chapter 5).

    Labels are plain text (no mathtext) and the layout is fixed: the chapter 5 explorer
    updates this figure in place at every slider move (pass ``fig``), and text parsing
    and the layout solver would dominate its time. A run labelled after its estimator
    ("unrolled, warm") takes that estimator's colour; runs that share it differ in style.

    ``runs``: dict label -> ``bilevel._History`` (with hypergradient errors); ``values``:
    dict label -> exact :math:`h(u^{(r)})`, r = 0..R; ``title``: plain text; ``fig``: a
    figure this function drew for as many runs, updated in place; ``ylims``: None (fit
    the data) or fixed (low, high) per panel, the inner-iteration panel then log-scaled.
    """
    return _live.history_figure(runs, values, _run_styles(runs), title, fig, ylims)


def strategy_figure(runs, gaps):
    r"""Outer suboptimality ``gaps[label]`` (:math:`h(u^{(r)}) - h^\star`, r = 0..R) of each
    run (dict label -> ``bilevel._History``) against wall time and against total inner
    iterations (chapter 5); a label naming an estimator ("unrolled, cold") takes its colour.
    """
    fig, axes = _new_figure(2, sharey=True)
    for (label, hist), style in zip(runs.items(), _run_styles(runs)):
        gap = np.maximum(np.asarray(gaps[label]), 1e-16)
        time_ms = 1e3 * np.concatenate([[0.0], np.cumsum(hist.wall_time)])
        inner = np.concatenate([[0], np.cumsum(hist.inner_steps)])
        for ax, x in zip(axes, (time_ms, inner)):
            ax.semilogy(x, gap, marker=".", markersize=3, label=label, **style)
    axes[0].set(xlabel="wall time (ms)", ylabel=r"$h(u^{(r)}) - h^\star$")
    axes[1].set(xlabel=r"total inner iterations $\sum_{s<r} K_s$")
    axes[1].legend()
    return fig


# The App. C figures of chapter 4 live in their own private module (imported last: it
# uses the helpers above).
from ._sweep_figures import sweep_figure, sweep_gain_figure  # noqa: E402
