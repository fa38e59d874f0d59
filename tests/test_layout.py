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


import ast  # noqa: E402
import re  # noqa: E402

from conftest import ROOT  # noqa: E402

SRC = ROOT / "src" / "unrolling"
MODULES = sorted(p for p in SRC.glob("*.py") if p.name != "__init__.py")
#: DESIGN §4 sets "about 150" public names for the layout of chapters 1-5 (which uses
#: exactly 150). Each later chapter adds its one module, its estimator values, its five
#: checkers and its explorer (chapter 6: 15 names, chapter 7: about 13): the budget is 180
#: for chapters 1-7.
MAX_LINES, MAX_PUBLIC_NAMES = 500, 180


def _public_names(path):
    """The names listed in the module's ``__all__`` (empty for private modules)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if getattr(target, "id", None) == "__all__":
                yield from (e.value for e in node.value.elts)


def test_no_module_is_over_500_lines():
    long = {p.name: n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_public_names_within_the_budget():
    """DESIGN §4: about 150 public names; before adding one, find the module that owns it."""
    count = sum(len(list(_public_names(p))) for p in MODULES)
    assert count <= MAX_PUBLIC_NAMES, f"{count} public names (budget {MAX_PUBLIC_NAMES})"


def test_readme_and_package_docstring_describe_every_public_module():
    import unrolling
    readme = (ROOT / "README.md").read_text()
    public = [p.stem for p in MODULES if not p.stem.startswith("_")]
    missing = [m for m in public
               if not re.search(rf"^\|.*`{m}`", readme, re.M)
               or not re.search(rf"^\s+{m}\s", unrolling.__doc__, re.M)]
    assert not missing, f"modules missing from README's layout table or the package docstring: {missing}"
