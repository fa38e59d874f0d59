"""Remove the stored widget state from executed notebooks (run by ``make notebooks``).

An executed notebook stores the state of its widgets (the explorers' sliders and their
last picture). The site does not use it: a widget needs a kernel, so the site shows
each explorer's precomputed frames instead (unrolling._live.frames_html); Jupyter and
Colab rebuild the widgets when the cell runs. Without the state the pages load no
widget manager and the notebooks are smaller.

Usage: python scripts/strip_widget_state.py book/01_fixed_points.ipynb ...
"""
import json
import pathlib
import sys


def strip(path):
    """Drop ``metadata.widgets`` from the notebook at ``path``; True if it had one."""
    path = pathlib.Path(path)
    notebook = json.loads(path.read_text())
    if notebook.get("metadata", {}).pop("widgets", None) is None:
        return False
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return True


if __name__ == "__main__":
    for name in sys.argv[1:]:
        if strip(name):
            print(f"{name}: widget state removed")
