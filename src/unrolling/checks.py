"""Automatic checks for the exercises and assignments.

Each checker takes the student's answer, compares it with a reference computed
by the library (never a stored number), prints a short verdict and returns
``True``/``False``, so that a notebook cell like ``checks.banach_steps(my_answer)``
tells the student whether they are right without revealing the solution.
"""
import numpy as np

__all__ = ["report"]


def report(name, ok, hint=""):
    """Print a one-line verdict for exercise ``name`` and return ``ok``."""
    verdict = "correct" if ok else "not yet" + (f": {hint}" if hint else "")
    print(f"[{name}] {verdict}")
    return bool(ok)


def _close(answer, reference, rtol=1e-6, atol=1e-9):
    """Shapes match and values agree to tolerance."""
    answer, reference = np.asarray(answer, dtype=float), np.asarray(reference, dtype=float)
    return answer.shape == reference.shape and np.allclose(answer, reference, rtol=rtol, atol=atol)
