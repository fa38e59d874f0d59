"""How fast the book executes and builds (issue 7's budgets, on 2 CPU cores).

1. Each chapter (book/NN_*.ipynb, discovered) executed top to bottom with nbclient in
   a fresh kernel, as `jupyter-book build` and nbval do; budget 60 s per chapter
   (90 s for chapter 4).
2. A clean `jupyter-book build . -W --keep-going --all` (every chapter executed) into
   a temporary folder, wall time; budget 5 minutes.

Prints PASS/OVER per budget; nothing is asserted (timings on a shared machine vary).
Run: ``.venv/bin/python benchmarks/book.py [--chapters-only | --build-only]``.
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK_BUDGET_S = 300.0
CHAPTER_BUDGET_S = {"04": 90.0}     # chapter number -> seconds; others get the default
DEFAULT_CHAPTER_BUDGET_S = 60.0


def chapters():
    return sorted(p for p in (ROOT / "book").glob("*.ipynb") if re.match(r"\d\d_", p.name))


def _verdict(seconds, budget):
    return "PASS" if seconds <= budget else "OVER"


def time_chapter(path):
    """Seconds to execute the notebook top to bottom in a new kernel (outputs discarded)."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=900,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def time_build():
    """(seconds, return code) of a clean book build with execution, into a temporary folder."""
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([str(jupyter_book), "build", ".", "-W", "--keep-going", "--all",
                               "--path-output", out], cwd=ROOT, capture_output=True, text=True)
        return time.perf_counter() - start, proc.returncode


def main(run_chapters=True, run_build=True):
    if run_chapters:
        total = 0.0
        print(f"{'chapter':28s} {'seconds':>8s} {'budget':>7s}")
        for path in chapters():
            budget = CHAPTER_BUDGET_S.get(path.name[:2], DEFAULT_CHAPTER_BUDGET_S)
            seconds = time_chapter(path)
            total += seconds
            print(f"{path.stem:28s} {seconds:8.1f} {budget:7.0f}  {_verdict(seconds, budget)}",
                  flush=True)
        print(f"{'all chapters (sum)':28s} {total:8.1f} {BOOK_BUDGET_S:7.0f}  "
              f"{_verdict(total, BOOK_BUDGET_S)}")
    if run_build:
        seconds, code = time_build()
        status = "" if code == 0 else f"  (build FAILED, exit {code}: run `make book`)"
        print(f"{'jupyter-book build (clean)':28s} {seconds:8.1f} {BOOK_BUDGET_S:7.0f}  "
              f"{_verdict(seconds, BOOK_BUDGET_S)}{status}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--chapters-only", action="store_true", help="skip the book build")
    group.add_argument("--build-only", action="store_true", help="skip the per-chapter runs")
    args = parser.parse_args()
    main(run_chapters=not args.build_only, run_build=not args.chapters_only)
