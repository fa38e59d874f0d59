"""The App. C figures of chapter 4 (private; re-exported by :mod:`unrolling.plotting`,
which imports this module after defining the helpers used here).

Both draw :class:`unrolling.truncation._SweepResult` values: the error curves per
truncation (Mehmood et al.'s Figs. 3-14 regenerated, with bands over the draws) and
the final errors against the truncation fraction, relative to no truncation.
"""
import numpy as np

from .plotting import COLORS, _MARKERS, _family, _few_log_ticks, _new_figure, color


def _sweep_panel(ax, xs, errs, band, finals, final_x, res, bound=None):
    """One App. C panel: iterates, one curve per T (the first and the last with their
    25-75 % band over the draws), final-error markers, bound."""
    colors = _family(len(res.fractions))
    ax.semilogy(res.iterate_x, res.iterate_err, "--", color=COLORS["iterate"], linewidth=1.2,
                label=r"iterates $e^{(k)}$")
    for j, c in enumerate(colors):
        ends = j in (0, len(colors) - 1)
        ax.semilogy(xs[j], errs[j], color=c, linewidth=1.2,
                    label=f"T = {res.fractions[j]:.1f} K" if ends else None)
        if ends:
            ax.fill_between(xs[j], band[0, j], band[1, j], color=c, alpha=0.15, linewidth=0)
    ax.semilogy(final_x, finals, "o--", color=COLORS["bound"], markersize=3.5, linewidth=0.8,
                label="final errors")
    ax.semilogy(1 + res.omega * res.fractions, res.iterate_final, "o", color=COLORS["iterate"],
                markersize=3.5)
    if bound is not None:
        ax.semilogy(final_x, bound, "x--", color=COLORS["reference"], markersize=5,
                    linewidth=0.8, label="bound (22)")
    _few_log_ticks(ax)


def sweep_figure(results):
    r"""Mehmood et al. App. C figures (chapter 4): forward (left) and reverse (right) per
    setting, one row per item of ``results`` (dict title -> ``_SweepResult``).

    Left: median forward-mode errors for each truncation fraction (family colours:
    T = 0 to 0.8K; bands: 25-75 % of the draws for T = 0 and 0.8K), plotted over
    :math:`k/K \in [T'/K, K'/K]`, the final errors (at :math:`K'`, black circles), the
    iterate errors (dashed, circles at each :math:`K'`) and the median eq. (22)
    bound (grey crosses). Right: median reverse-mode errors over the sweep from
    :math:`K'` down to :math:`T'`, final errors at :math:`T'`.
    """
    fig, axes = _new_figure(2, len(results), width=8.0, height=2.5 * len(results) + 0.4,
                           squeeze=False, sharex=True)
    for row, (title, res) in zip(axes, results.items()):
        rho = float(np.median(res.rho_star))
        _sweep_panel(row[0], res.forward_x, res.forward_err, res.forward_band,
                     res.forward_final, 1 + res.omega * res.fractions, res, res.bound_final)
        _sweep_panel(row[1], res.reverse_x, res.reverse_err, res.reverse_band,
                     res.reverse_final, (1 + res.omega) * res.fractions, res)
        for ax, mode in zip(row, ("forward", "reverse")):
            ax.set_title(rf"{mode}: {title}, $\rho^* \approx {rho:.4f}$", fontsize=9)
    axes[0, 0].legend(fontsize=7, ncols=2)
    for ax in axes[-1]:
        ax.set_xlabel("iteration $k / K$")
    return fig


def sweep_gain_figure(panels, colors, mode="forward", ncols=2):
    r"""Final errors of the App. C sweep against T/K, relative to no truncation (chapter 4).

    ``panels``: dict title -> dict label -> ``_SweepResult``; ``colors``: dict label ->
    colour key (:func:`color`); ``mode``: "forward" or "reverse" (the fields drawn). Per
    result: the median final error over the draws divided by its value at T = 0 (line,
    markers of the mode) and the draws' 25-75 % band divided by the same number. Below
    the level 1, truncation helps.
    """
    nrows = -(-len(panels) // ncols)
    fig, axes = _new_figure(ncols, nrows, width=8.0, height=2.2 * nrows + 0.5,
                           squeeze=False, sharex=True)
    for ax, (title, group) in zip(axes.flat, panels.items()):
        for label, res in group.items():
            finals = getattr(res, f"{mode}_finals")
            q25, q50, q75 = np.percentile(finals, [25, 50, 75], axis=0) / np.median(finals[:, 0])
            ax.semilogy(res.fractions, q50, marker=_MARKERS[mode], markersize=3.5,
                        color=color(colors[label]), label=label)
            ax.fill_between(res.fractions, q25, q75, color=color(colors[label]), alpha=0.15,
                            linewidth=0)
        ax.axhline(1.0, color=COLORS["reference"], linewidth=0.8)
        ax.set_title(title, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("derivative steps given up $T / K$")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{mode} final error\n(relative to $T = 0$)")
    return fig
