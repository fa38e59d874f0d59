"""Run every benchmark, one after the other (``make bench``).

library.py (estimator time and memory), sweep.py (the truncation sweep, if present),
widgets.py (explorer callbacks), book.py (chapter execution and book build). Each
runs in its own process and prints its own table; a missing script is skipped.
"""
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = ["library.py", "sweep.py", "widgets.py", "book.py"]


def main():
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        print(f"\n=== {name} ===", flush=True)
        if not script.is_file():
            print(f"(skipped: benchmarks/{name} does not exist)")
            continue
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode
        print(f"({name}: {time.perf_counter() - start:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
