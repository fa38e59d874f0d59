"""Stored notebook outputs print nothing that can only be rounding noise.

nbval compares each cell's stored text with a fresh run. Digits at the level of
floating-point rounding (a relative error of 7.0e-15 here, 8.1e-15 on a CPU with other
vector kernels) differ between machines, so a notebook that prints them fails the test
command on a reader's machine although it passes on ours. Such results are printed as
"< 1e-12" (``unrolling.errors.format_error``) or as a comparison with a stated tolerance.

The scan covers every notebook the course stores executed: the chapters, the appendix
and the assignments.
"""
import json
import re

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted(p for folder in ("book", "assignments") if (ROOT / folder).is_dir()
                   for p in (ROOT / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TEXT_TYPES = ("text/plain", "text/markdown", "text/html", "text/latex")

#: A number in scientific notation: mantissa, exponent (also a typographic minus sign).
SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-−+]?\d+)\b")
#: A number in fixed notation below 1e-11 that still shows digits (0.000000000000071).
FIXED_TINY = re.compile(r"(?<![\w.])0\.0{11,}[1-9]\d*")
#: Printed digits below this power of ten can only be rounding noise in float64 results.
NOISE_EXPONENT = -12


def noise_in_text(text):
    """The substrings of ``text`` that print rounding-level digits.

    A mantissa with an exponent <= -12 (``7.0e-15``, ``3e-13``) is noise; a bare power of
    ten (``1e-12`` in "agree to < 1e-12") is a stated tolerance, not a measured value.
    """
    found = []
    for match in SCIENTIFIC.finditer(text):
        mantissa, exponent = match.group(1), int(match.group(2).replace("−", "-"))
        if exponent <= NOISE_EXPONENT and mantissa != "1":
            found.append(match.group(0))
    found += FIXED_TINY.findall(text)
    return found


def _output_text(output):
    text = output.get("text", "")
    data = output.get("data", {})
    parts = [text if isinstance(text, str) else "".join(text)]
    for kind in TEXT_TYPES:
        value = data.get(kind, "")
        parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def noisy_cells(path):
    """[(cell index, the noisy numbers)] of the notebook's stored code-cell outputs."""
    cells = json.loads(path.read_text())["cells"]
    return [(i, noise) for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            for noise in [noise_in_text("\n".join(_output_text(o) for o in cell["outputs"]))]
            if noise]


def test_there_are_notebooks_to_scan():
    assert any(p.parent.name == "book" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_no_stored_output_prints_rounding_noise(path):
    found = noisy_cells(path)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    assert not found, (f"{name}: cells print rounding-level digits, which "
                       f"differ between CPUs (print errors.format_error(...) or a tolerance "
                       f"check): " + "; ".join(f"cell {i}: {', '.join(n)}" for i, n in found))


def _notebook(tmp_path, *outputs):
    """A notebook with one code cell per (output type, text) pair, stored executed."""
    nb = nbformat.v4.new_notebook()
    for kind, text in outputs:
        out = (nbformat.v4.new_output("stream", name="stdout", text=text) if kind == "stream"
               else nbformat.v4.new_output("execute_result", data={"text/plain": text},
                                           execution_count=1))
        nb.cells.append(nbformat.v4.new_code_cell("print(...)", outputs=[out]))
    path = tmp_path / "deliberately_bad.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_scan_catches_a_notebook_that_prints_rounding_noise(tmp_path):
    path = _notebook(tmp_path,
                     ("stream", "agree to < 1e-12: True\n"),                    # cell 0: fine
                     ("stream", "relative distance to the closed form: 7.0e-15\n"),
                     ("result", "Array(3.3306691e-16, dtype=float64)"),
                     ("stream", "residual 0.0000000000000710\n"),
                     ("stream", "step 0.02099, error 6.5e-09, tolerance 1e-13\n"))
    assert noisy_cells(path) == [(1, ["7.0e-15"]), (2, ["3.3306691e-16"]),
                                 (3, ["0.0000000000000710"])]
    with pytest.raises(AssertionError, match=r"deliberately_bad.ipynb.*cell 1: 7.0e-15"):
        test_no_stored_output_prints_rounding_noise(path)


@pytest.mark.parametrize("text", ["agree to < 1e-12", "error 1.2e-11", "6.5e-09", "1e-300",
                                  "rho = 0.999704", "L = 1890", "0.00000000001",
                                  "version 1.0e-12b"])
def test_the_scan_accepts_tolerances_and_measured_values(text):
    assert noise_in_text(text) == []


@pytest.mark.parametrize("text, noise", [("8.1e-15", ["8.1e-15"]), ("2E-13", ["2E-13"]),
                                         ("2.98e-12", ["2.98e-12"]), ("1.0e-16", ["1.0e-16"]),
                                         ("3e−14", ["3e−14"])])
def test_the_scan_flags_rounding_digits(text, noise):
    assert noise_in_text(text) == noise
