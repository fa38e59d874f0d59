"""The setup cell that opens every chapter notebook, generated from _config.yml.

The GitHub repository URL lives in one place, ``_config.yml`` (repository.url);
this script writes the same first code cell into every notebook under ``book/``,
tagged ``hide-input`` so that its input folds on the site:

    python scripts/setup_cell.py          # rewrite the cells
    python scripts/setup_cell.py --check  # exit 1 if any notebook differs

The cell installs the course library only when it is missing (Colab), without
re-pinning Colab's jax/numpy (pyproject.toml has loose ranges), enables float64
and applies the figure style. ``UNROLLING_SOURCE`` overrides where the library is
installed from (the Colab-path test points it at the local checkout).
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

TEMPLATE = '''\
# Setup (the same in every chapter): install the course library if it is missing
# (e.g. on Colab), use float64, and apply the course's figure style.
import importlib.util, os
if importlib.util.find_spec("unrolling") is None:
    _source = os.environ.get("UNROLLING_SOURCE", "git+{url}.git")
    %pip install --quiet {{_source}}
import jax
jax.config.update("jax_enable_x64", True)
from unrolling import plotting
plotting.use_style()'''


#: The setup cell's input folds on the site (Jupyter Book's hide-input tag).
TAG = "hide-input"


def repository_url():
    """repository.url from _config.yml (the single place that holds it)."""
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, flags=re.M)
    if not match:
        raise SystemExit("_config.yml has no repository.url")
    return match.group(1)


def setup_cell_source():
    return TEMPLATE.format(url=repository_url())


def notebooks():
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in str(p))


def _first_code_cell(nb):
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


def main(check=False):
    source, stale = setup_cell_source(), []
    for path in notebooks():
        nb = json.loads(path.read_text())
        cell = _first_code_cell(nb)
        tags = cell["metadata"].get("tags", [])
        if "".join(cell["source"]) != source or TAG not in tags:
            stale.append(path)
            if not check:
                cell["source"] = source.splitlines(keepends=True)
                cell["metadata"]["tags"] = tags + [TAG] * (TAG not in tags)
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    for path in stale:
        print(("differs: " if check else "updated: ") + str(path.relative_to(ROOT)))
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
