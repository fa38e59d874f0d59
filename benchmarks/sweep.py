"""The full App. C truncation sweep of Mehmood et al. (issue 5): time, memory, results.

``unrolling.truncation._full_sweep`` at the paper's scale: least squares with
M = 50, N in {2, 5, 10, 20, 30, 40}, steps 2/(L+m) and 1/(3L), both starts (x0 with
U(0, 1) entries, where the paper's curse appears, and x0 = 0), truncation fractions
T/K in {0, 0.1, ..., 0.8}, omega = 3, 100 draws, medians (chapter 4 runs the same).
Prints the wall-clock and CPU time of the whole sweep and the process's peak
resident memory against the budget (60 s, 2 GB on 2 cores; printed, not asserted:
the machine may be shared, and a busy machine inflates the wall time, not the CPU
time), then per setting: the median rho* next to the paper's caption value, the
best truncation fraction by the measured forward / reverse final errors, the gain of
the best forward truncation (its median final error over that of T = 0), the best
fraction by the eq. (22) bound, and whether the bound dominated every draw's forward
error.

Run: ``.venv/bin/python benchmarks/sweep.py [--draws 100] [--out DIR]``; with
``--out`` the 24 forward/reverse figures are written there as PNG files
(the chapter's figure function, ``unrolling.plotting.sweep_figure``).
"""
import argparse
import pathlib
import resource
import sys
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from unrolling import plotting, truncation  # noqa: E402

BUDGET_S, BUDGET_GB = 60.0, 2.0
STEPS = {"2/(L+m)": lambda L, m: 2 / (L + m), "1/(3L)": lambda L, m: 1 / (3 * L)}
STARTS = {"U(0,1)": jax.random.uniform, "zero": 0.0}


def main(draws=100, out=None):
    key = jax.random.PRNGKey(0)
    start, start_cpu = time.perf_counter(), time.process_time()
    results = truncation._full_sweep(key, STEPS, STARTS, num_draws=draws)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB on Linux
    ok = wall <= BUDGET_S and peak_gb <= BUDGET_GB
    print(f"full sweep ({len(results)} settings x {draws} draws): wall {wall:.1f} s, "
          f"CPU {cpu:.1f} s, peak memory {peak_gb:.2f} GB  "
          f"[budget {BUDGET_S:.0f} s, {BUDGET_GB:.0f} GB: {'PASS' if ok else 'OVER'}]")
    print(f"{'N':>3s} {'step':>8s} {'start':>7s} {'median rho*':>12s} {'paper rho':>10s} "
          f"{'best T/K fwd':>12s} {'rev':>5s} {'gain':>5s} {'bound (22)':>10s} "
          f"{'bound holds':>11s}")
    for (N, step, start), res in results.items():
        gain = res.forward_final.min() / res.forward_final[0]     # best / no truncation
        print(f"{N:3d} {step:>8s} {start:>7s} {np.median(res.rho_star):12.6f} "
              f"{truncation.PAPER_RHO.get(N, float('nan')):10.6f} "
              f"{res.best_fraction('forward'):12.1f} {res.best_fraction('reverse'):5.1f} "
              f"{gain:5.2f} {res.best_fraction_bound:10.2f} {str(res.bound_ok):>11s}")
    if out:
        import matplotlib
        matplotlib.use("Agg")
        plotting.use_style()
        folder = pathlib.Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for (N, step, start), res in results.items():
            name = f"sweep_N{N}_{step.replace('/', '_')}_{start}.png"
            plotting.sweep_figure({f"N = {N}, α = {step}, x0 {start}": res}).savefig(
                folder / name)
        print(f"figures written to {folder}/")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="random instances per setting")
    parser.add_argument("--out", default=None, help="folder for the 24 PNG figures")
    args = parser.parse_args()
    sys.exit(main(args.draws, args.out))
