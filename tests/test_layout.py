"""The library's layout (DESIGN §4): the numerical core loads without the presentation layer."""
import subprocess
import sys


def test_import_unrolling_loads_numerics_only():
    """``import unrolling`` imports no plotting library (matplotlib, PIL) and no widgets:
    the presentation layer is imported explicitly (``from unrolling import plotting``)."""
    code = ("import sys, unrolling; "
            "print(sorted(m for m in ('matplotlib', 'PIL', 'ipywidgets', 'unrolling.plotting', "
            "'unrolling.widgets', 'unrolling.checks') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == "[]", f"import unrolling loaded {out}"
