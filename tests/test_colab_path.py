"""The Colab path: a fresh environment with only a Colab-like stack runs every chapter.

A new virtual environment gets the packages Colab preinstalls (unpinned: whatever is
current, as on Colab) plus a kernel. The chapters' own setup cell is then executed in
that kernel with UNROLLING_SOURCE pointing at a copy of this checkout, so the test
exercises the real cell and the real packaging (pyproject.toml's loose ranges): the
install must change no preinstalled package's version. Finally every chapter runs top
to bottom in that kernel. Slow: creating the environment takes a minute or two.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

COLAB_STACK = ["jax", "numpy", "matplotlib", "ipywidgets", "scikit-learn", "ipykernel",
               "nbclient", "nbformat"]
KERNEL = "unrolling-colab-test"
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.ipynb") if re.match(r"\d\d_", p.name))

#: Runs in the Colab-like environment: execute a notebook with its kernel (nbclient).
DRIVER = """\
import sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, target, workdir = sys.argv[1:4]
nb = nbformat.read(source, as_version=4)
start = time.perf_counter()
try:
    NotebookClient(nb, kernel_name="%s", timeout=600,
                   resources={"metadata": {"path": workdir}}).execute()
except CellExecutionError as error:
    print(error)
    sys.exit(1)
finally:
    nbformat.write(nb, target)
print(f"executed in {time.perf_counter() - start:.1f} s")
""" % KERNEL


def _freeze(python):
    """name -> version (or 'name @ url' requirement) of every installed package."""
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], check=True,
                         capture_output=True, text=True).stdout
    packages = {}
    for line in out.splitlines():
        name, sep, version = line.partition("==")
        if not sep:
            name, _, version = line.partition(" @ ")
        packages[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return packages


def _library_copy(target):
    """The files `pip install <checkout>` needs, copied so the build leaves the checkout clean."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "src", target / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


class ColabEnv:
    def __init__(self, folder):
        self.folder = folder
        self.venv = folder / "venv"
        self.python = self.venv / "bin" / "python"
        self.library = _library_copy(folder / "unrolling-source")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH", "MPLBACKEND")}
        self.env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                        UNROLLING_SOURCE=str(self.library))
        (folder / "driver.py").write_text(DRIVER)

    def create(self):
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", *COLAB_STACK],
                       check=True, env=self.env)
        subprocess.run([str(self.python), "-m", "ipykernel", "install", "--sys-prefix",
                        "--name", KERNEL], check=True, env=self.env, capture_output=True)

    def execute(self, notebook, workdir):
        """Run ``notebook`` in the environment's kernel; (process, executed notebook)."""
        target = self.folder / f"executed-{notebook.name}"
        proc = subprocess.run([str(self.python), str(self.folder / "driver.py"), str(notebook),
                               str(target), str(workdir)],
                              cwd=workdir, env=self.env, capture_output=True, text=True)
        return proc, (nbformat.read(target, as_version=4) if target.is_file() else None)


def _setup_cell():
    """The first code cell of the first chapter: the cell a Colab user runs first."""
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """The environment, its packages before and after running the setup cell, and that run."""
    if not CHAPTERS:
        pytest.fail("no chapter notebook in book/")
    folder = tmp_path_factory.mktemp("colab")
    env = ColabEnv(folder)
    env.create()
    before = _freeze(env.python)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import importlib.util\n"
                                  "print(importlib.util.find_spec('unrolling') is None)"),
        nbformat.v4.new_code_cell(_setup_cell()),
        nbformat.v4.new_code_cell("import sys\nimport unrolling\nprint(sys.executable)\n"
                                  "print(unrolling.__file__)"),
    ]
    nbformat.write(nb, folder / "setup.ipynb")
    proc, executed = env.execute(folder / "setup.ipynb", folder)
    return env, before, _freeze(env.python), proc, executed


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_setup_cell_installs_the_library(colab):
    env, before, after, proc, executed = colab
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _stdout(executed.cells[0]).strip() == "True", "unrolling was preinstalled"
    executable, module = _stdout(executed.cells[2]).split()
    assert pathlib.Path(executable).parent == env.venv / "bin", "the kernel is not the venv's"
    assert pathlib.Path(module).is_relative_to(env.venv), f"unrolling imported from {module}"
    assert "unrolling" not in before and "unrolling" in after


def test_setup_cell_changes_no_preinstalled_version(colab):
    _, before, after, _, _ = colab
    changed = {name: (version, after.get(name)) for name, version in before.items()
               if after.get(name) != version}
    assert not changed, f"installing the library changed (before, after): {changed}"
    added = sorted(set(after) - set(before) - {"unrolling"})
    print("packages the library added to the Colab-like stack:", added or "none")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_top_to_bottom(colab, chapter, tmp_path):
    env, *_ = colab
    shutil.copy(chapter, tmp_path / chapter.name)
    proc, _ = env.execute(tmp_path / chapter.name, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    print(chapter.name, proc.stdout.strip().splitlines()[-1])


# --- The graded assignments in the same environment (after the chapters) -------------

sys.path.insert(0, str(ROOT / "scripts"))
import assignments  # noqa: E402

ASSIGNMENTS = assignments.masters()


@pytest.mark.parametrize("master", ASSIGNMENTS, ids=[p.stem for p in ASSIGNMENTS])
def test_assignment_solution_runs_and_passes_its_public_checks(colab, master, tmp_path):
    """The solved assignment runs in the Colab-like kernel from its own setup cell (which
    installs otter-grader; the public tests are put beside it, as the cell would fetch
    them from the release tag), every grader.check passes, and installing otter changes
    no version of the Colab stack (anything else it changes is printed)."""
    env, _, after_library, _, _ = colab
    dist = assignments.assign(_master_copy(master, tmp_path), tmp_path / "dist", run_tests=False)
    work = tmp_path / "work"
    shutil.copytree(dist / "student" / "tests", work / "tests")
    notebook = work / master.name
    shutil.copy(dist / "autograder" / master.name, notebook)
    proc, executed = env.execute(notebook, work)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    checks = [_stdout(c) + "".join(str(o.get("data", {}).get("text/plain", ""))
                                   for o in c.outputs)
              for c in executed.cells if "grader.check(" in c.source]
    assert checks and all("passed" in text and "failed" not in text.lower() for text in checks), checks
    after_otter = _freeze(env.python)
    stack = {re.sub(r"[-_.]+", "-", n).lower() for n in COLAB_STACK}
    changed = {n: (after_library[n], after_otter.get(n)) for n in stack
               if n in after_library and after_otter.get(n) != after_library[n]}
    assert not changed, f"installing otter-grader changed the Colab stack: {changed}"
    others = {n: (v, after_otter.get(n)) for n, v in after_library.items()
              if after_otter.get(n) != v}
    print("otter-grader changed these preinstalled packages:", others or "none")


def _master_copy(master, folder):
    copy = folder / master.name
    shutil.copy(master, copy)
    assignments.write_setup_cell(copy)
    return copy
