"""Latency of every interactive explorer's callback (issue 7: median <= 100 ms per update).

For each entry of ``unrolling._live.EXPLORERS`` (name -> (draw, defaults, variations);
importing ``unrolling.widgets`` registers the chapter explorers there), a
``_live.LiveFigure(draw)`` as the widget holds one: its first call,
``live(**defaults)``, draws the figure and compiles whatever the explorer jits (not
timed: the widget does it when the cell runs); then each variation, repeated, is
timed as the widget's callback does it on a slider move: ``live(**values)`` (compute,
update of the figure in place, PNG bytes of the picture). Prints the median and the
worst wall-clock update per explorer against the budget, and the median CPU time of
the process (all threads: far above the wall time means compute ran in parallel,
far below it that the machine was busy); PASS/OVER is printed, not asserted (the
machine may be shared). The reference figure is drawn anew and saved with
``savefig`` at every call: it measures the machine, not the widget.

Run: ``.venv/bin/python benchmarks/widgets.py [--repeats N]``.
"""
import argparse
import io
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

from unrolling import _live, plotting, widgets  # noqa: E402,F401  (widgets registers the explorers)

BUDGET_MS = 100.0


def _timed(update, calls):
    """Wall and CPU milliseconds of each call ``update(**values)``, values in ``calls``."""
    times, cpu = [], []
    for values in calls:
        start, start_cpu = time.perf_counter(), time.process_time()
        update(**values)
        times.append(1e3 * (time.perf_counter() - start))
        cpu.append(1e3 * (time.process_time() - start_cpu))
    return times, cpu


def time_explorer(draw, defaults, variations, repeats):
    """Wall and CPU milliseconds of each timed update (every variation, ``repeats`` rounds)."""
    live = _live.LiveFigure(draw)
    live(**defaults)                            # first frame and compile: not timed
    return _timed(live, (variations or [defaults]) * repeats)


def reference_ms(repeats=5):
    """Median wall ms to draw and save a new one-line figure: how fast is this machine now?"""
    import matplotlib.pyplot as plt

    def one_line():
        fig, ax = plt.subplots()
        ax.plot([0.0, 1.0])
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    return statistics.median(_timed(one_line, [{}] * repeats)[0])


def main(repeats=5):
    plotting.use_style()
    print(f"reference: a one-line figure renders in {reference_ms():.1f} ms here "
          "(a busy machine inflates every figure below alike)")
    if not _live.EXPLORERS:
        print("no explorer registered in unrolling._live.EXPLORERS")
        return 0
    print(f"{'explorer':28s} {'updates':>7s} {'median ms':>10s} {'max ms':>8s} {'cpu ms':>8s}"
          f"  budget {BUDGET_MS:.0f} ms (median wall)")
    over = 0
    for name, (draw, defaults, variations) in sorted(_live.EXPLORERS.items()):
        times, cpu = time_explorer(draw, defaults, variations, repeats)
        median = statistics.median(times)
        verdict = "PASS" if median <= BUDGET_MS else "OVER"
        over += verdict == "OVER"
        print(f"{name:28s} {len(times):7d} {median:10.1f} {max(times):8.1f} "
              f"{statistics.median(cpu):8.1f}  {verdict}")
    return over


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds over the variations")
    main(parser.parse_args().repeats)
