"""Strict numerics for every test: float64, no implicit rank or dtype promotion, warnings are
errors (pyproject.toml)."""
import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    """An explicit PRNG key: tests never draw from global random state."""
    return jax.random.PRNGKey(0)


# --- The book build, run once per session and shared by test_book_build.py and test_site.py ---

import pathlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import yaml  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "--keep-going", "--all"]
#: ipykernel prints this on stderr while executing the chapters; it is not a Sphinx warning.
HARMLESS_WARNINGS = ("Kernel is running over TCP without encryption",)


def pytest_addoption(parser):
    parser.addoption("--book-html", default=None, metavar="DIR",
                     help="check this already built site (e.g. _build/html after `make book`) "
                          "instead of building the book once for the session")


@dataclass
class BookBuild:
    """One `jupyter-book build` of the repository (or an existing site given by --book-html)."""
    html: pathlib.Path        # the built site
    source: pathlib.Path      # the book's source folder (holds _config.yml, _toc.yml, book/)
    returncode: int = None    # None when the site was built outside this session
    output: str = ""          # stdout and stderr, interleaved
    seconds: float = None

    @property
    def warnings(self):
        return [line for line in self.output.splitlines()
                if "WARNING" in line and not any(h in line for h in HARMLESS_WARNINGS)]


@pytest.fixture(scope="session")
def book_build(request):
    """`jupyter-book build . -W --keep-going --all` into _build/html, once per session.

    The chapters are rendered from their stored outputs (the configuration is
    _config.yml with ``execute_notebooks: off``): nbval re-executes every chapter and
    checks those outputs, and test_colab_path executes them again, so a third
    execution here would only add minutes to the test command. ``make book`` and
    benchmarks/book.py build with execution (``force``), and
    test_raising_cell_fails_the_build shows that such a build fails on a raising cell.
    The old _build/html is removed and ``--all`` rebuilds every page, so that no stale
    page is checked and the warnings of unchanged pages are reported too.
    """
    given = request.config.getoption("--book-html")
    if given:
        html = pathlib.Path(given).resolve()
        return BookBuild(html=html, source=html.parents[1])
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")
    shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)   # no stale pages
    start = time.perf_counter()
    config = stored_outputs_config(ROOT / "_build" / "_config_stored_outputs.yml")
    proc = subprocess.run([str(jupyter_book), *BUILD_COMMAND[1:], "--config", str(config)],
                          cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return BookBuild(html=ROOT / "_build" / "html", source=ROOT, returncode=proc.returncode,
                     output=proc.stdout, seconds=time.perf_counter() - start)


def stored_outputs_config(target, source=ROOT):
    """Write _config.yml with ``execute_notebooks: off`` to ``target`` and return it.

    Paths in ``sphinx.local_extensions`` are resolved against the configuration file's
    folder by jupyter-book, so they are made absolute here.
    """
    config = yaml.safe_load((source / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str((source / path).resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return target


def toc_documents(source=ROOT):
    """Every document of _toc.yml (root first), as paths without suffix, e.g. 'book/intro'."""
    toc = yaml.safe_load((source / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections"))
    chapters = [c for part in toc.get("parts", [{"chapters": toc.get("chapters")}])
                for c in walk(part["chapters"])]
    return [toc["root"], *chapters]
