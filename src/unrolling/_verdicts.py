"""The checkers' verdicts and comparisons (private; used by :mod:`unrolling.checks`).

A checker compares a student's answer with a reference the library computes, prints a
one-line verdict and returns a :class:`_Verdict`. The comparisons here say when two
answers agree: to a tolerance, up to singleton axes, or near a peak position.
"""
import numpy as np


class _Verdict:
    """A checker's result: true when the answer is right.

    It behaves as a bool (``if``, ``not``, ``== True``) and shows nothing when it ends
    a notebook cell, so the cell shows the printed verdict line once, not a stray
    ``True`` under it.
    """
    __slots__ = ("ok",)

    def __init__(self, ok):
        self.ok = bool(ok)

    def __bool__(self):
        return self.ok

    def __eq__(self, other):
        return self.ok == other

    def __hash__(self):
        return hash(self.ok)

    def __repr__(self):
        return repr(self.ok)

    def _ipython_display_(self):
        """Display nothing: the verdict was printed."""


def _report(name, ok, hint=""):
    """Print a one-line verdict for exercise ``name``; return a truthy/falsy verdict."""
    verdict = "correct" if ok else "not yet" + (f": {hint}" if hint else "")
    print(f"[{name}] {verdict}")
    return _Verdict(ok)


def _close(answer, reference, rtol=1e-6, atol=1e-9):
    """Shapes match and values agree to tolerance."""
    answer, reference = np.asarray(answer, dtype=float), np.asarray(reference, dtype=float)
    return answer.shape == reference.shape and np.allclose(answer, reference, rtol=rtol, atol=atol)


def _close_squeezed(answer, reference, rtol=1e-6, atol=1e-9):
    """:func:`_close` up to singleton axes, so (n,) and (n, 1) both pass for p = 1."""
    return _close(np.squeeze(np.asarray(answer, dtype=float)),
                  np.squeeze(np.asarray(reference, dtype=float)), rtol, atol)


def _shape_hint(answer, reference, hint):
    """The shape mismatch if there is one, else ``hint``."""
    if np.squeeze(np.asarray(answer)).shape != np.squeeze(np.asarray(reference)).shape:
        return f"expected shape {np.shape(reference)}, got {np.shape(answer)}"
    return hint


def _matrix_verdict(name, answer, reference, hint, trivial=()):
    """:func:`_close_squeezed`, but inputs at which zero or a ``trivial`` (what, value)
    pair (an input, a part of the formula) is the answer are refused: a wrong formula
    would pass there."""
    for what, value in (("zero", np.zeros(np.shape(reference))),) + tuple(trivial):
        if _close_squeezed(value, reference):
            return _report(name, False, f"here the answer equals {what}, so a wrong formula "
                           "passes too; take inputs where it differs (x ≠ 0, not converged)")
    return _report(name, _close_squeezed(answer, reference), _shape_hint(answer, reference, hint))


def _near(answer, reference, rel, absolute):
    """A scalar answer within max(rel * |reference|, absolute) of the reference."""
    if np.ndim(answer) != 0:
        return False
    return abs(float(answer) - float(reference)) <= max(rel * abs(float(reference)), absolute)
