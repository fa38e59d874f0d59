"""One figure style for the whole course, and the plots the chapters share.

Notebooks call :func:`use_style` once (in the setup cell) and then one plotting
function per figure cell; each returns the matplotlib ``Figure``. End the cell
with ``;`` so that the inline backend shows the figure exactly once.
"""
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["COLORS", "use_style", "new_figure", "semilogy_errors", "mark_index"]

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
