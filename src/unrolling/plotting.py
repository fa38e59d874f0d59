"""One figure style for the whole course, and the plots the chapters share.

Notebooks call :func:`use_style` once (in the setup cell) and then one plotting
function per figure cell; each returns the matplotlib ``Figure``. End the cell
with ``;`` so that the inline backend shows the figure exactly once.
"""
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["COLORS", "use_style", "new_figure", "semilogy_errors", "mark_index",
           "CYCLE", "gd_contraction_figure", "iterate_error_figure", "heavy_ball_figure",
           "cost_figure", "unrolling_errors_figure", "contraction_explorer_figure",
           "unrolling_errors_explorer_figure"]

#: One colour per role, the same in every chapter.
COLORS = {
    "iterate": "#1f77b4",      # x^(k) error
    "forward": "#d62728",      # forward-mode derivative error
    "reverse": "#2ca02c",      # reverse-mode derivative error
    "bound": "#000000",        # theoretical bounds (dashed)
    "implicit": "#9467bd",
    "one_step": "#ff7f0e",
    "truncated": "#8c564b",
    "reference": "#7f7f7f",
}

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "svg.hashsalt": "unrolling",   # deterministic SVG ids
}


def use_style():
    """Apply the course's matplotlib style (called by every chapter's setup cell)."""
    mpl.rcParams.update(_STYLE)


def new_figure(ncols=1, nrows=1, width=None, height=None, **kwargs):
    """``plt.subplots`` with the course's default size scaled to the grid."""
    w, h = _STYLE["figure.figsize"]
    size = (width or w * (1 if ncols == 1 else 0.62 * ncols),
            height or h * (1 if nrows == 1 else 0.75 * nrows))
    return plt.subplots(nrows, ncols, figsize=size, layout="constrained", **kwargs)


def semilogy_errors(ax, curves, k=None, bounds=None, xlabel="iteration $k$",
                    ylabel="error", title=None):
    """Plot error curves on a log scale; ``bounds`` are drawn dashed in the same colour.

    Args:
      ax: matplotlib axes.
      curves: dict label -> (values, color) or label -> values.
      k: x values (default 0, 1, ...).
      bounds: dict label -> (values, color) or label -> values, drawn dashed.
    """
    for style, group in (("-", curves or {}), ("--", bounds or {})):
        for label, spec in group.items():
            values, color = spec if isinstance(spec, tuple) else (spec, None)
            values = np.asarray(values)
            xs = np.arange(len(values)) if k is None else np.asarray(k)
            ax.semilogy(xs, values, style, color=color, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def mark_index(ax, k, label, color="0.4"):
    """A vertical dotted line at iteration ``k`` (e.g. the peak k-dot or the minimum k-bar)."""
    ax.axvline(float(k), color=color, linestyle=":", linewidth=1.2, label=label)
    ax.legend()
    return ax


# --- Chapter 1: fixed points and contractions ------------------------------------

#: Colours for several curves of one kind (e.g. one per step size); a curve's
#: bound is drawn dashed in the curve's colour.
CYCLE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _in_cycle(group):
    """label -> values as label -> (values, colour): the i-th entry takes CYCLE[i]."""
    return {label: (values, CYCLE[i % len(CYCLE)])
            for i, (label, values) in enumerate((group or {}).items())}


def gd_contraction_figure(spectra, num=400):
    r"""Contraction factor of gradient descent against the step size (chapter 1).

    For each spectrum [mu, L], draws :math:`\rho(\alpha) = \max(|1 - \alpha\mu|,
    |1 - \alpha L|)` (:func:`unrolling.bounds.gd_contraction`) for
    :math:`\alpha \in (0, 2.2/L]` and marks its minimum
    :math:`(L - \mu)/(L + \mu)` at :math:`\alpha = 2/(L + \mu)` with a dot; the level
    :math:`\rho = 1` (a contraction below it) is drawn once.

    Args:
      spectra: dict label -> (L, mu).
      num: number of step sizes per curve.

    Returns:
      A Figure with one axes and ``2 * len(spectra) + 1`` lines.
    """
    from .bounds import gd_contraction
    fig, ax = new_figure()
    ax.axhline(1.0, color=COLORS["bound"], linewidth=0.8)
    for i, (label, (L, mu)) in enumerate(spectra.items()):
        L, mu, color = float(L), float(mu), CYCLE[i % len(CYCLE)]
        alpha = np.linspace(0.0, 2.2 / L, num)[1:]
        ax.plot(alpha, np.asarray(gd_contraction(alpha, L, mu)), color=color,
                label=fr"{label}, $\kappa = {L / mu:.3g}$")
        best = 2 / (L + mu)
        ax.plot([best], [float(gd_contraction(best, L, mu))], "o", color=color,
                label=fr"$\alpha = 2/(L+\mu) = {best:.3g}$")
    ax.set(xlabel=r"step size $\alpha$", ylabel=r"contraction factor $\rho(\alpha)$",
           ylim=(0.0, 1.5))
    ax.legend()
    return fig


def iterate_error_figure(curves, bounds=None, title=None, ylabel=r"$\|x^{(k)} - x^\star\|$"):
    r"""Error curves on a log scale, one colour per curve, each bound dashed (chapter 1).

    Args:
      curves: dict label -> error values :math:`e^{(0)}, e^{(1)}, \dots`.
      bounds: dict label -> bound values; the i-th bound takes the i-th curve's colour.
      title, ylabel: axes title and y label.

    Returns:
      A Figure with one axes and ``len(curves) + len(bounds)`` lines.
    """
    fig, ax = new_figure()
    semilogy_errors(ax, _in_cycle(curves), bounds=_in_cycle(bounds), ylabel=ylabel, title=title)
    return fig


def contraction_explorer_figure(curves, bounds, title=None, fig=None):
    r"""The chapter 1 explorer's picture: :func:`iterate_error_figure`'s content in a
    figure drawn for speed (fixed layout, plain tick labels), updated in place when
    ``fig`` (a figure returned by this function, with as many curves) is given.

    Args:
      curves: dict label -> error values; the i-th curve takes ``CYCLE[i]``.
      bounds: dict label -> bound values, dashed in the colour of the i-th curve.
      title: axes title (plain text: it changes with the sliders).
      fig: a figure to update in place; None draws a new one.
    """
    groups = (("-", curves), ("--", bounds))
    if fig is None:
        fig, _ = _explorer_axes("iteration $k$", r"$\|x^{(k)} - x^\star\|$", [
            dict(color=CYCLE[i % len(CYCLE)], linestyle=style)
            for style, group in groups for i in range(len(group))])
    _set_curves(fig.axes[0], [(label, np.arange(len(values)), values)
                              for _, group in groups for label, values in group.items()], title)
    return fig


def heavy_ball_figure(power_norms, spectral_radius, curves, bounds):
    r"""Heavy ball is not a contraction in norm, yet converges linearly (chapter 1).

    Left: :math:`\|B^k\|_2` for the phase-space Jacobian B, the decay
    :math:`r^k` of its spectral radius r (dashed) and the level 1 (three lines).
    Right: :func:`iterate_error_figure`'s content, iterate errors with dashed bounds.
    """
    fig, (left, right) = new_figure(2)
    k = np.arange(len(power_norms))
    left.semilogy(k, np.asarray(power_norms), color=COLORS["iterate"],
                  label=r"$\|B^k\|_2$")
    left.semilogy(k, float(spectral_radius) ** k, "--", color=COLORS["bound"],
                  label=r"$r(B)^k$")
    left.axhline(1.0, color=COLORS["reference"], linewidth=0.8)
    left.set(xlabel="power $k$", title="norm of the Jacobian's powers")
    left.legend()
    semilogy_errors(right, _in_cycle(curves), bounds=_in_cycle(bounds),
                    ylabel=r"$\|x^{(k)} - x^\star\|$", title="iterate errors")
    return fig


# --- Chapter 2: unrolling, derivatives of iterates --------------------------------

#: Colour of each estimator of :data:`unrolling.profiling.ESTIMATORS`.
_ESTIMATOR_COLORS = {"solve": COLORS["reference"], "forward": COLORS["forward"],
                     "reverse": COLORS["reverse"], "implicit": COLORS["implicit"],
                     "one-step": COLORS["one_step"]}


def cost_figure(steps, costs, ylabel, title=None):
    r"""Cost of each derivative estimator against the number of iterations K (chapter 2).

    Args:
      steps: the iteration counts K (x axis, log scale).
      costs: dict estimator name -> costs at ``steps`` (y axis, log scale), e.g. the
        ``seconds`` or ``bytes`` of :func:`unrolling.profiling.profile_estimators`
        (scaled to convenient units by the caller).
      ylabel, title: axes labels.

    Returns:
      A Figure with one axes and one line with markers per estimator.
    """
    fig, ax = new_figure()
    for name, values in costs.items():
        ax.loglog(np.asarray(steps), np.asarray(values), "o-", markersize=4,
                  color=_ESTIMATOR_COLORS.get(name), label=name)
    ax.set(xlabel="iterations $K$", ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return fig


def unrolling_errors_figure(iterate_errors, derivative_errors, title=None):
    r"""Iterate error :math:`\|x^{(k)} - x^\star\|` and forward-mode derivative error
    :math:`\|\dot X^{(k)} - Dx^\star\|` against k on one log scale, the peak of the
    derivative error marked (chapter 2's first look at the curse of unrolling).

    Returns:
      A Figure with one axes and three lines.
    """
    fig, ax = new_figure()
    semilogy_errors(ax, {r"iterate $\|x^{(k)} - x^\star\|$": (iterate_errors, COLORS["iterate"]),
                         r"derivative $\|\dot X^{(k)} - Dx^\star\|$":
                         (derivative_errors, COLORS["forward"])},
                    ylabel="error", title=title)
    mark_index(ax, int(np.argmax(np.asarray(derivative_errors))), "peak of the derivative error")
    return fig


def unrolling_errors_explorer_figure(iterate_errors, derivative_errors, title=None, fig=None):
    r"""The chapter 2 explorer's picture: :func:`unrolling_errors_figure`'s content in a
    figure drawn for speed (fixed layout, plain tick labels), updated in place when
    ``fig`` (a figure returned by this function) is given."""
    if fig is None:
        fig, ax = _explorer_axes("iteration $k$", "error", [dict(color=COLORS["iterate"]),
                                                             dict(color=COLORS["forward"])])
        ax.axvline(0.0, color="0.4", linestyle=":", linewidth=1.2)
    k, peak = np.arange(len(iterate_errors)), int(np.argmax(np.asarray(derivative_errors)))
    _set_curves(fig.axes[0], [(r"iterate $\|x^{(k)} - x^\star\|$", k, iterate_errors),
                              (r"derivative $\|\dot X^{(k)} - Dx^\star\|$", k, derivative_errors),
                              ("peak of the derivative error", [peak, peak], [0.0, 1.0])], title)
    return fig


# --- Chapter 3: the curse of unrolling ---------------------------------------------

def _family_colors(n):
    """n colours from light to dark along one colormap (ordered families of curves)."""
    return [mpl.colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, n)]


def _fit_ylim(ax, arrays, k_max=None):
    """Log-scale y-limits that fit the positive values of ``arrays`` up to index k_max."""
    visible = [np.asarray(v, dtype=float)[: None if k_max is None else int(k_max) + 1]
               for v in arrays]
    values = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in visible])
    if values.size:
        ax.set_ylim(values.min() / 2, values.max() * 2)


def _marks(ax, marks):
    """Dotted vertical lines: marks is a dict label -> k (or label -> (k, colour))."""
    styles = (":", "-.", (0, (1, 3)), (0, (5, 2)))
    for i, (label, spec) in enumerate((marks or {}).items()):
        k, color = spec if isinstance(spec, tuple) else (spec, "0.35")
        ax.axvline(float(k), color=color, linestyle=styles[i % len(styles)], linewidth=1.2,
                   label=label)


def curse_figure(curves, bounds=None, normalize=False, title=None, k_max=None,
                 show_reverse=True):
    r"""Iterate, forward-mode (and reverse-mode) errors of one run, :math:`\dot k`
    (and :math:`\bar k`) marked; optional dashed bounds (chapter 3).

    Args:
      curves: :class:`unrolling.curse.ErrorCurves`.
      bounds: dict label -> (values, role) with role a key of :data:`COLORS`
        (``"iterate"``, ``"forward"``, ``"bound"``), drawn dashed in that role's colour.
      normalize: divide each curve by its value at k = 0 (reverse: at k = K).
      title: axes title; k_max: right end of the k axis.
      show_reverse: draw the reverse-mode curve and :math:`\bar k` when computed.

    Returns:
      A Figure with one axes.
    """
    fig, ax = new_figure()
    e, fwd = np.asarray(curves.iterate), np.asarray(curves.forward)
    rev = None if (curves.reverse is None or not show_reverse) else np.asarray(curves.reverse)
    scale = (lambda v, i=0: v / v[i]) if normalize else (lambda v, i=0: v)
    lines = {r"iterate $e^{(k)}$": (scale(e), COLORS["iterate"]),
             r"forward mode $\dot e^{(k)}$": (scale(fwd), COLORS["forward"])}
    if rev is not None:
        lines[r"reverse mode $\bar e^{(k)}$"] = (scale(rev, -1), COLORS["reverse"])
    bound_lines = {label: (values, COLORS[role]) for label, (values, role) in (bounds or {}).items()}
    ylabel = "error relative to its start" if normalize else "error"
    semilogy_errors(ax, lines, bounds=bound_lines, ylabel=ylabel, title=title)
    marks = {rf"$\dot k = {int(curves.k_dot)}$": (int(curves.k_dot), COLORS["forward"])}
    if rev is not None:
        marks[rf"$\bar k = {int(curves.k_bar)}$"] = (int(curves.k_bar), COLORS["reverse"])
    _marks(ax, marks)
    ax.set_xlim(0, k_max or len(e) - 1)
    ax.legend(ncols=2)
    return fig


def step_size_figure(runs):
    r"""Jacobian suboptimality beside function suboptimality for several step sizes
    (Scieur et al. Fig. 1; chapter 3).

    Args:
      runs: dict label -> :class:`unrolling.curse.ErrorCurves` (with ``objective``);
        objective gaps at or below zero (rounding) are not drawn.

    Returns:
      A Figure with two axes: left :math:`\|\partial x_t - \partial x_*\|_F`, right
      :math:`f(x_t) - f(x_*)`, one colour per run.
    """
    fig, (left, right) = new_figure(2)
    for (label, c), color in zip(runs.items(), CYCLE):
        left.semilogy(np.asarray(c.forward), color=color, label=label)
        gap = np.asarray(c.objective, dtype=float)
        right.semilogy(np.where(gap > 0, gap, np.nan), color=color, label=label)
    left.set(xlabel="iteration $t$", title="Jacobian suboptimality",
             ylabel=r"$\|\partial x_t - \partial x_\star\|_F$")
    right.set(xlabel="iteration $t$", title="function suboptimality",
              ylabel=r"$f(x_t) - f(x_\star)$")
    left.legend()
    return fig


def _draw_families(ax, families, normalize, bounds, bound_color, marks, k_max, colors):
    """The content of :func:`families_figure` on one axes."""
    colors = colors or _family_colors(len(families))
    drawn = []
    for (label, values), color in zip(families.items(), colors):
        values = np.asarray(values)
        drawn.append(values / values[0] if normalize else values)
        ax.semilogy(drawn[-1], color=color, label=label)
    for i, (label, values) in enumerate((bounds or {}).items()):
        drawn.append(np.asarray(values))
        ax.semilogy(drawn[-1], "--", color=bound_color or colors[i], linewidth=1.2, label=label)
    _marks(ax, marks)
    if k_max is not None:
        ax.set_xlim(0, k_max)
        _fit_ylim(ax, drawn, k_max)
    ax.legend()


def families_figure(families, title=None, ylabel="error", normalize=False, bounds=None,
                    bound_color=None, marks=None, k_max=None, colors=None):
    r"""Several error curves of one kind on a log scale (one factor varied; chapter 3).

    Args:
      families: dict label -> values (k = 0, 1, ...), drawn in an ordered colormap.
      normalize: divide each curve by its first value.
      bounds: dict label -> values, drawn dashed; the i-th takes the i-th curve's
        colour, or ``bound_color`` for all when given.
      marks: dict label -> k for dotted vertical lines.
      k_max: right end of the k axis; colors: explicit list of colours.

    Returns:
      A Figure with one axes.
    """
    fig, ax = new_figure()
    _draw_families(ax, families, normalize, bounds, bound_color, marks, k_max, colors)
    ax.set(xlabel="iteration $k$", ylabel=ylabel, title=title)
    return fig


def family_panels_figure(panels, ylabel="error", normalize=False, k_max=None):
    r""":func:`families_figure` side by side, one panel per setting (chapter 3).

    Args:
      panels: dict title -> families (dict label -> values), the same labels in each.
    """
    fig, axes = new_figure(len(panels))
    for ax, (title, families) in zip(np.atleast_1d(axes), panels.items()):
        _draw_families(ax, families, normalize, None, None, None, k_max, None)
        ax.set(xlabel="iteration $k$", title=title)
    np.atleast_1d(axes)[0].set_ylabel(ylabel)
    return fig


def bound_panels_figure(panels, ylabel=r"$\|\partial x_t - \partial x_\star\|_F$"):
    r"""Measured errors with their dashed worst-case bounds, one panel per method
    (Scieur et al. Fig. 2; chapter 3).

    Args:
      panels: dict title -> dict with ``measured`` (values), ``bound`` (values),
        optional ``marks`` (label -> k) and ``k_max``.

    Returns:
      A Figure with ``len(panels)`` axes side by side.
    """
    fig, axes = new_figure(len(panels))
    for ax, (title, p) in zip(np.atleast_1d(axes), panels.items()):
        ax.semilogy(np.asarray(p["measured"]), color=COLORS["forward"], label="measured")
        ax.semilogy(np.asarray(p["bound"]), "--", color=COLORS["bound"], label="bound")
        _marks(ax, p.get("marks"))
        ax.set(xlabel="iteration $t$", ylabel=ylabel, title=title, xlim=(0, p.get("k_max")))
        _fit_ylim(ax, [p["measured"], p["bound"]], p.get("k_max"))
        ax.legend()
    return fig


def residual_polynomials_figure(lam, panels, steps):
    r"""Residual polynomials :math:`P_t(\lambda)` (top) and the Jacobian factor
    :math:`P_t(\lambda) - \lambda P_t'(\lambda)` (bottom) on the spectrum (chapter 3).

    Args:
      lam: grid of λ (x axis).
      panels: dict method name -> (P, dP), arrays of shape (T + 1, len(lam)).
      steps: the degrees t drawn, one colour each.

    Returns:
      A Figure with a 2 x len(panels) grid of axes.
    """
    lam = np.asarray(lam)
    fig, axes = new_figure(len(panels), 2, sharex=True)
    colors = _family_colors(len(steps))
    for j, (name, (P, dP)) in enumerate(panels.items()):
        P, dP = np.asarray(P), np.asarray(dP)
        for t, color in zip(steps, colors):
            axes[0, j].plot(lam, P[t], color=color, label=f"$t = {t}$")
            axes[1, j].plot(lam, P[t] - lam * dP[t], color=color, label=f"$t = {t}$")
        axes[0, j].set(title=name, ylabel=r"$P_t(\lambda)$")
        axes[1, j].set(xlabel=r"eigenvalue $\lambda$",
                       ylabel=r"$P_t(\lambda) - \lambda P_t'(\lambda)$")
    axes[0, 0].legend()
    return fig


def eigen_components_figure(lam, measured, predicted, indices, k_max=300):
    r"""Eigen-components of the forward-mode Jacobian error: measured (solid) against the
    master identity's prediction (dots), for a few eigenvalues (chapter 3).

    Args:
      lam: (n,) eigenvalues (ascending); measured, predicted: (K+1, n) absolute
        components; indices: which eigenvalues to draw; k_max: last k drawn.
    """
    fig, ax = new_figure()
    measured, predicted = np.asarray(measured), np.asarray(predicted)
    k = np.arange(min(measured.shape[0], k_max + 1))
    for i, color in zip(indices, _family_colors(len(indices))):
        ax.semilogy(k, measured[k, i], color=color, label=rf"$\lambda = {float(lam[i]):.3g}$")
        ax.semilogy(k[::6], predicted[k[::6], i], "o", color=color, markersize=3)
    top = measured[k][:, indices].max()
    ax.set(xlabel="iteration $k$", ylabel=r"$|v_\lambda^\top(\dot X^{(k)} - Dx^\star)|$",
           title="eigen-components: measured (lines), formula (dots)",
           xlim=(0, k[-1]), ylim=(top * 1e-6, top * 3))
    ax.legend(ncols=2)
    return fig


# --- Explorer figures: drawn once, then updated in place at every slider move ------

#: An explorer figure's one axes, in figure coordinates: a fixed layout (the
#: constrained layout solver would redo its work at every slider move).
_EXPLORER_RECT = (0.12, 0.14, 0.85, 0.76)


def _exponent_label(value, _pos=None):
    """A log-axis tick label as plain text, "1e-04" (mathtext labels are costly to draw)."""
    return f"{value:.0e}"


def _explorer_axes(xlabel, ylabel, styles):
    """A new explorer figure: one log-y axes in a fixed layout with one empty line per
    entry of ``styles`` (keyword arguments of ``Axes.plot``), filled by :func:`_set_curves`."""
    fig = plt.figure(figsize=_STYLE["figure.figsize"])
    ax = fig.add_axes(_EXPLORER_RECT)
    ax.set_yscale("log")
    for style in styles:
        ax.plot([], [], **style)
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
    reuses the pixels of both from the previous picture (:class:`unrolling.widgets.LiveFigure`).
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


def explorer_figure(data, title=None, fig=None):
    r"""The chapter 3 explorer's picture: :math:`e^{(k)}`, :math:`\dot e^{(k)}`, the iterate
    bound (8) and the Theorem 7 bound (dashed), :math:`\dot k` marked.

    Drawn for speed, since it is redrawn at every slider move: a fixed layout instead
    of the constrained one, no minor ticks and plain "1e-04" labels on the log axis
    (each saves a large share of the rendering time; mathtext tick labels are costly).

    Args:
      data: dict from :func:`unrolling.curse.explorer_curves` (arrays).
      title: axes title.
      fig: a figure returned by this function, updated in place (what the explorer
        does at every slider move); None draws a new one.
    """
    k = np.arange(len(data["iterate"]))
    if fig is None:
        fig, ax = _explorer_axes(
            "iteration k (dotted: peak of the forward-mode error)", "error",
            [dict(color=COLORS["iterate"]), dict(color=COLORS["forward"]),
             dict(color=COLORS["iterate"], linestyle="--", linewidth=1.2),
             dict(color=COLORS["forward"], linestyle="--", linewidth=1.2)])
        ax.axvline(0.0, color=COLORS["forward"], linestyle=":", linewidth=1.2)
        ax.set_xlim(0, k[-1])
    k_dot = float(data["k_dot"])
    _set_curves(fig.axes[0], [("iterate error", k, data["iterate"]),
                              ("forward-mode error", k, data["forward"]),
                              ("bound (8)", k, data["iterate_bound"]),
                              ("Theorem 7", k, data["theorem7"]),
                              (None, [k_dot, k_dot], [0.0, 1.0])],
                title, ylim=(1e-8, None), ncols=2)
    return fig


__all__ += ["curse_figure", "step_size_figure", "families_figure", "family_panels_figure",
            "bound_panels_figure",
            "residual_polynomials_figure", "eigen_components_figure", "explorer_figure"]


# --- Chapter 5: warm-starting and bilevel optimization ----------------------------

#: One colour per hypergradient strategy of chapter 5.
STRATEGY_COLORS = {
    "unrolled, cold": COLORS["forward"],
    "unrolled, warm": COLORS["reverse"],
    "truncated": COLORS["truncated"],
    "one-step": COLORS["one_step"],
    "implicit": COLORS["implicit"],
}


def _strategy_color(label, i):
    return STRATEGY_COLORS.get(label, CYCLE[i % len(CYCLE)])


def implicit_truncation_figure(cold, truncated, warm):
    r"""Derivative error against the inner iteration: explicit vs implicit truncation (chapter 5).

    Left: full unrolling from a cold start (``cold``) and explicit truncation, whose
    derivative recursion starts after T idle iterations (drawn from k = T). Right:
    the same cold curve and unrolling from warm starts, counted from their own start.

    Args:
      cold: errors :math:`\|\dot X^{(k)} - Dx^\star\|` for k = 0, ..., K.
      truncated: dict T -> errors after T + j steps, j = 0, ..., K - T.
      warm: dict label -> errors from a warm start, k = 0, 1, ...
    """
    fig, axes = new_figure(2, sharey=True)
    cold = np.asarray(cold)
    for ax in axes:
        ax.semilogy(np.arange(cold.size), cold, color=COLORS["forward"],
                    label="cold start, unrolled")
    for i, (T, errs) in enumerate(truncated.items()):
        errs = np.asarray(errs)
        axes[0].semilogy(T + np.arange(errs.size), errs, color=_family_colors(len(truncated))[i],
                         label=f"late start $T = {T}$")
    for i, (label, errs) in enumerate(warm.items()):
        axes[1].semilogy(np.arange(len(errs)), np.asarray(errs),
                         color=_family_colors(len(warm))[i], label=label)
    axes[0].set(title="explicit truncation", xlabel="inner iteration $k$",
                ylabel=r"$\|\dot X^{(k)} - Dx^\star(u)\|$")
    axes[1].set(title="warm start (implicit truncation)", xlabel="inner iteration $k$")
    for ax in axes:
        ax.legend()
    return fig


def bilevel_history_figure(runs, values, title=None, fig=None, ylims=None):
    r"""Algorithm 1 per outer step: :math:`K_r`, hypergradient error, outer loss (chapter 5).

    Labels are plain text (no mathtext) and the layout is fixed: the chapter 5 explorer
    updates this figure in place at every slider move (pass ``fig``), and text parsing
    and the layout solver would dominate its time.

    Args:
      runs: dict label -> :class:`unrolling.bilevel.History` (with hypergradient errors).
      values: dict label -> exact outer loss :math:`h(u^{(r)})`, r = 0, ..., R.
      title: optional figure title (plain text).
      fig: a figure returned by this function for as many runs (and a title if it had
        one), updated in place; None draws a new one.
      ylims: None (each panel fits its data) or fixed ``(low, high)`` limits for the three
        panels; then the inner-iteration panel is logarithmic too. The chapter 5
        explorer fixes them, so that settings can be compared at a glance and an update
        redraws only the curves.
    """
    if fig is None:
        fig = _bilevel_history_axes(len(runs), title, log_inner=ylims is not None)
    axes = fig.axes
    for i, (label, hist) in enumerate(runs.items()):
        r = np.arange(len(hist.inner_steps))
        for ax, (x, y) in zip(axes, [(r, hist.inner_steps),
                                     (r, np.maximum(hist.hypergradient_error, 1e-16)),
                                     (np.arange(len(values[label])), values[label])]):
            ax.get_lines()[i].set_data(np.asarray(x), np.asarray(y))
            ax.get_lines()[i].set_color(_strategy_color(label, i))
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


def _bilevel_history_axes(num_runs, title, log_inner=False):
    """The three empty panels of :func:`bilevel_history_figure`, one line per run each."""
    from matplotlib import ticker
    fig = plt.figure(figsize=(9.6, 3.2))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.86 if title else 0.95,
                        wspace=0.36)
    for ax in axes:
        for _ in range(num_runs):
            ax.plot([], [])
    for ax in axes[:2] if log_inner else axes[1:2]:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=True))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0].set(xlabel="outer step r", ylabel="inner iterations K\u1d63")
    axes[1].set(xlabel="outer step r", ylabel="hypergradient error")
    axes[2].set(xlabel="outer step r", ylabel="outer loss h(u)")
    return fig


def strategy_figure(runs, gaps):
    r"""Outer suboptimality against wall time and against total inner iterations (chapter 5).

    Args:
      runs: dict label -> :class:`unrolling.bilevel.History`.
      gaps: dict label -> :math:`h(u^{(r)}) - h^\star` for r = 0, ..., R.
    """
    fig, axes = new_figure(2, sharey=True)
    for i, (label, hist) in enumerate(runs.items()):
        color, gap = _strategy_color(label, i), np.maximum(np.asarray(gaps[label]), 1e-16)
        time_ms = 1e3 * np.concatenate([[0.0], np.cumsum(hist.wall_time)])
        inner = np.concatenate([[0], np.cumsum(hist.inner_steps)])
        axes[0].semilogy(time_ms, gap, ".-", color=color, markersize=3, label=label)
        axes[1].semilogy(inner, gap, ".-", color=color, markersize=3, label=label)
    axes[0].set(xlabel="wall time (ms)", ylabel=r"$h(u^{(r)}) - h^\star$")
    axes[1].set(xlabel=r"total inner iterations $\sum_{s<r} K_s$")
    axes[1].legend()
    return fig


def criticality_figure(rhos, measured, bounds):
    r"""One-step hypergradient descent: reached criticality against ρ (chapter 5).

    Args:
      rhos: contraction factors (x axis).
      measured: dict label -> values (solid, with markers).
      bounds: dict label -> values (dashed).
    """
    fig, ax = new_figure()
    rhos = np.asarray(rhos)
    for group, style in ((measured, "o-"), (bounds, "--")):
        for i, (label, values) in enumerate(group.items()):
            ax.semilogy(rhos, np.asarray(values), style, color=CYCLE[i % len(CYCLE)],
                        markersize=4, label=label)
    ax.set(xlabel=r"contraction factor $\rho$ of the inner map", ylabel="norm")
    ax.legend()
    return fig


__all__ += ["STRATEGY_COLORS", "implicit_truncation_figure", "bilevel_history_figure",
            "strategy_figure", "criticality_figure"]


# --- Chapter 4: truncation and one-step differentiation ----------------------------

def late_start_figure(errors, starts, bounds=None, iterate=None, title=None):
    r"""Late-started forward-mode errors against the iteration k, one curve per T' (chapter 4).

    Args:
      errors: (J, H + 1) errors at iterations 0..H, NaN where a row is not running
        (e.g. from :func:`unrolling.truncation.late_start_errors`).
      starts: the J late-start indices T' (legend).
      bounds: optional (J, H + 1) bounds (Theorem 8), dashed in the row's colour.
      iterate: optional iterate errors :math:`e^{(k)}`, thin grey.

    Returns:
      A Figure with one axes.
    """
    fig, ax = new_figure()
    errors = np.asarray(errors)
    k = np.arange(errors.shape[1])
    colors = _family_colors(len(starts))
    if iterate is not None:
        ax.semilogy(k, np.asarray(iterate)[:len(k)], color=COLORS["reference"], linewidth=1,
                    label=r"iterates $e^{(k)}$")
    for j, (T, color) in enumerate(zip(starts, colors)):
        ax.semilogy(k, errors[j], color=color, label=rf"$T' = {int(T)}$")
        if bounds is not None:
            ax.semilogy(k, np.asarray(bounds)[j], "--", color=color, linewidth=1.2)
    if bounds is not None:
        ax.plot([], [], "--", color=COLORS["bound"], linewidth=1.2, label="Theorem 8")
    ax.set(xlabel="iteration $k$", ylabel=r"$\|\dot X_{T'} - Dx^\star\|$", title=title,
           xlim=(0, k[-1]))
    _few_log_ticks(ax)
    ax.legend(ncols=2)
    return fig


def budget_figure(K, Ts, omega):
    r"""Budget reallocation (Mehmood et al. Sec. 4.3): idle and differentiated iterations.

    One bar per T: iterations :math:`0..T'` run idle (grey), :math:`T'..K'` are
    differentiated (coloured), with :math:`(K', T')` = ``budget.reallocate(K, T, omega)``;
    the label gives the cost :math:`K' + \omega(K' - T')`, the same for every T.
    """
    from .budget import reallocate
    fig, ax = new_figure(height=0.45 * len(Ts) + 1.0)
    colors = _family_colors(len(Ts))
    for i, (T, color) in enumerate(zip(Ts, colors)):
        K_p, T_p = reallocate(K, int(T), omega)
        ax.barh(i, T_p, color=COLORS["reference"], alpha=0.5)
        ax.barh(i, K_p - T_p, left=T_p, color=color)
        ax.text(K_p, i, f"  cost {K_p + omega * (K_p - T_p):g}", va="center", fontsize=8)
    handles = [mpl.patches.Patch(color=COLORS["reference"], alpha=0.5, label="idle"),
               mpl.patches.Patch(color=colors[len(colors) // 2], label="differentiated")]
    ax.set_yticks(range(len(Ts)), [f"T = {int(T)}" for T in Ts])
    ax.set(xlabel="iteration $k$", xlim=(0, 1.3 * reallocate(K, int(max(Ts)), omega)[0]))
    ax.invert_yaxis()
    ax.legend(handles=handles, loc="upper right")
    return fig


def truncation_objective_figure(T, bound, measured, relaxed, optima):
    r"""The eq. (22) objective over T against the measured final error (chapter 4).

    Args:
      T: integer truncation indices; bound: eq. (22) at T (dots);
      measured: the measured final forward error at T under the same budget;
      relaxed: (T_continuous, values) of the relaxed objective (line);
      optima: dict label -> T, drawn as vertical lines.

    Returns:
      A Figure with one axes.
    """
    fig, ax = new_figure()
    ax.semilogy(*map(np.asarray, relaxed), color=COLORS["bound"], linewidth=1,
                label="eq. (22), relaxed")
    ax.semilogy(np.asarray(T), np.asarray(bound), "o", color=COLORS["bound"], markersize=2.5,
                label="eq. (22) at integer T")
    ax.semilogy(np.asarray(T), np.asarray(measured), color=COLORS["forward"],
                label="measured final error")
    _marks(ax, {label: (t, CYCLE[i % len(CYCLE)]) for i, (label, t) in enumerate(optima.items())})
    ax.set(xlabel="derivative steps given up $T$", ylabel=r"error after $K - T$ steps")
    ax.legend()
    return fig


def _few_log_ticks(ax):
    """On a log y axis spanning more than three decades: at most five labelled decades and
    no minor ticks (a cheaper layout); narrower axes keep matplotlib's default ticks."""
    low, high = ax.get_ylim()
    if low > 0 and high / low > 1e3:
        ax.yaxis.set_major_locator(mpl.ticker.LogLocator(numticks=5))
        ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())


def _sweep_panel(ax, xs, curves, finals, final_x, res, bound=None):
    """One App. C panel: iterates, one curve per T, final-error markers, bound."""
    colors = _family_colors(len(res.fractions))
    ax.semilogy(res.iterate_x, res.iterate_err, "--", color=COLORS["iterate"], linewidth=1.2,
                label=r"iterates $e^{(k)}$")
    for j, color in enumerate(colors):
        ax.semilogy(xs[j], curves[j], color=color, linewidth=1.2,
                    label=f"T = {res.fractions[j]:.1f} K" if j in (0, len(colors) - 1) else None)
    ax.semilogy(final_x, finals, "o--", color="k", markersize=3.5, linewidth=0.8,
                label="final errors")
    ax.semilogy(1 + res.omega * res.fractions, res.iterate_final, "o", color=COLORS["iterate"],
                markersize=3.5)
    if bound is not None:
        ax.semilogy(final_x, bound, "x--", color=COLORS["reference"], markersize=5,
                    linewidth=0.8, label="bound (22)")
    _few_log_ticks(ax)


def sweep_figure(results):
    r"""Mehmood et al. App. C figures: forward (left) and reverse (right) per setting.

    One row per :class:`unrolling.truncation.SweepResult`. Left: median forward-mode
    errors for each truncation fraction (light to dark: T = 0 to 0.8K), plotted over
    :math:`k/K \in [T'/K, K'/K]`, the final errors (at :math:`K'`, black circles), the
    iterate errors (blue dashed, circles at each :math:`K'`) and the median eq. (22)
    bound (grey crosses). Right: median reverse-mode errors over the sweep from
    :math:`K'` down to :math:`T'`, final errors at :math:`T'`.
    """
    fig, axes = new_figure(2, len(results), width=8.0, height=2.6 * len(results) + 0.4,
                           squeeze=False, sharex=True)
    for row, res in zip(axes, results):
        rho = float(np.median(res.rho_star))
        _sweep_panel(row[0], res.forward_x, res.forward_err, res.forward_final,
                     1 + res.omega * res.fractions, res, res.bound_final)
        _sweep_panel(row[1], res.reverse_x, res.reverse_err, res.reverse_final,
                     (1 + res.omega) * res.fractions, res)
        step = r"2/(L+m)" if res.step_rule == "optimal" else r"1/(3L)"
        for ax, mode in zip(row, ("forward", "reverse")):
            ax.set_title(rf"{mode}: $N = {res.N}$, $\alpha = {step}$, $\rho^* \approx {rho:.4f}$",
                         fontsize=9)
    axes[0, 0].legend(fontsize=7, ncols=2)
    for ax in axes[-1]:
        ax.set_xlabel("iteration $k / K$")
    return fig


def truncation_memory_figure(steps, memory):
    r"""Compiled memory against the number of differentiated steps :math:`K' - T'` (chapter 4).

    Args:
      steps: the numbers of differentiated steps (x axis).
      memory: dict label -> bytes at ``steps``; drawn in KiB.
    """
    fig, ax = new_figure()
    for i, (label, values) in enumerate(memory.items()):
        ax.plot(np.asarray(steps), np.asarray(values) / 1024, "o-", markersize=4,
                color=CYCLE[(i + 2) % len(CYCLE)], label=label)
    ax.set(xlabel=r"differentiated steps $K' - T'$", ylabel="memory (KiB)", ylim=(0, None))
    ax.legend()
    return fig


def one_step_bound_figure(rhos, measured, bound, powers, power_measured, power_bound):
    r"""Bolte et al. Corollary 1 against measured one-step errors (chapter 4).

    Left: against the contraction factor ρ of F (varied through the step size), the
    measured :math:`\|J^{OS} - J\|_{op}` and the bound. Right: the one-step estimator
    of :math:`F^K` (K-step truncation) against K, with the bound for
    :math:`\tilde\rho = \rho^K`.
    """
    fig, (left, right) = new_figure(2)
    for ax, x, m, b, xlabel in ((left, rhos, measured, bound, r"contraction factor $\rho$"),
                                (right, powers, power_measured, power_bound,
                                 r"differentiated steps $K$ (one step of $F^K$)")):
        ax.semilogy(np.asarray(x), np.asarray(m), "o-", color=COLORS["one_step"],
                    markersize=4, label="measured")
        ax.semilogy(np.asarray(x), np.asarray(b), "--", color=COLORS["bound"],
                    label="Corollary 1")
        ax.set(xlabel=xlabel)
        ax.legend()
    left.set_ylabel(r"$\|J^{OS} - J_\theta\bar x\|_{op}$")
    return fig


_ESTIMATOR_STYLE = {"unrolled": ("unrolled", COLORS["forward"]),
                    "implicit": ("implicit", COLORS["implicit"]),
                    "one_step": ("one-step", COLORS["one_step"]),
                    "truncated": ("K-step", COLORS["truncated"])}


def _estimator_panel(ax, errs, title):
    k = np.arange(len(errs.iterate))
    ax.semilogy(k, errs.iterate, ":", color=COLORS["iterate"], label=r"iterates $\|x_k - \bar x\|$")
    for name, (label, color) in _ESTIMATOR_STYLE.items():
        values = np.asarray(getattr(errs, name))
        if np.isfinite(values).any():
            style = "o" if np.isnan(values).sum() > len(values) // 2 else "-"
            ax.semilogy(k, values, style, color=color, markersize=3, label=label)
    ax.set(xlabel="iteration $k$", title=title)
    _few_log_ticks(ax)


def estimator_errors_figure(errors, title=None):
    r"""Errors of the Jacobian estimators along one run (Bolte et al. Fig. 2; chapter 4).

    Args:
      errors: an :class:`unrolling.errors.EstimatorErrors`.
    """
    fig, ax = new_figure()
    _estimator_panel(ax, errors, title)
    ax.set_ylabel(r"$\|J_k - J_\theta\bar x\|_F$")
    ax.legend()
    return fig


def estimator_panels_figure(panels):
    r"""A grid of :func:`estimator_errors_figure` panels (Bolte et al. Fig. 4; chapter 4).

    Args:
      panels: dict title -> :class:`unrolling.errors.EstimatorErrors`, filled row by
        row into two columns.
    """
    rows = (len(panels) + 1) // 2
    fig, axes = new_figure(2, rows, width=8.0, height=2.7 * rows + 0.3, squeeze=False)
    for ax, (title, errs) in zip(axes.flat, panels.items()):
        _estimator_panel(ax, errs, title)
    for ax in axes[:, 0]:
        ax.set_ylabel("error")
    axes[0, 0].legend(fontsize=7)
    return fig


def timing_figure(sizes, seconds):
    r"""Time of one hypergradient against problem size (Bolte et al. Fig. 3; chapter 4).

    Args:
      sizes: number of problem parameters (x axis, log scale).
      seconds: dict name -> times at ``sizes`` (names of
        :func:`unrolling.profiling.hypergradient_functions`).
    """
    colors = {"solve": COLORS["reference"], "unrolled": COLORS["forward"],
              "implicit": COLORS["implicit"], "one-step": COLORS["one_step"]}
    fig, ax = new_figure()
    for name, values in seconds.items():
        ax.loglog(np.asarray(sizes), np.asarray(values), "o-", markersize=4,
                  color=colors.get(name), label=name.replace("_", "-"))
    ax.set(xlabel="problem size (entries of A and y)", ylabel="seconds")
    ax.legend()
    return fig


def budget_explorer_figure(data, num_steps, omega, T, fig=None):
    r"""The chapter 4 explorer's picture (:func:`unrolling.truncation.budget_curves`):
    iterate errors, forward mode without truncation (0 to K), the late start under the
    same budget (T' to K') and its Theorem 8 bound.

    Pass ``fig`` (a figure returned by this function) to update it in place, as the
    explorer does at every slider move; it has a fixed layout and plain tick labels.
    """
    k = np.arange(len(data["iterate"]))  # the explorer's K
    if fig is None:
        fig, ax = _explorer_axes("iteration $k$", "error", [
            dict(color=COLORS["iterate"], linewidth=1), dict(color=COLORS["forward"]),
            dict(color=COLORS["truncated"]),
            dict(color=COLORS["truncated"], linestyle="--", linewidth=1.2),
            dict(color="k", marker="o", linestyle="none", markersize=4)])
        ax.set_xlim(0, k[-1])
    K_prime = data["K_prime"]
    final, final_late = data["full"][num_steps], data["late"][K_prime]
    _set_curves(fig.axes[0], [
        (r"$e^{(k)}$", k, data["iterate"]),
        (f"no truncation (K = {num_steps})", k, data["full"]),
        (f"T' = {data['T_prime']}, K' = {K_prime}", k, data["late"]),
        ("Theorem 8", k, data["bound"]),
        (None, [num_steps, K_prime], [final, final_late])],
        f"T = {T}, ω = {omega:g}: final error {final_late:.3g} vs {final:.3g}", fontsize=7)
    return fig


__all__ += ["late_start_figure", "budget_figure", "truncation_objective_figure", "sweep_figure",
            "truncation_memory_figure", "one_step_bound_figure", "estimator_errors_figure",
            "estimator_panels_figure", "timing_figure", "budget_explorer_figure"]
