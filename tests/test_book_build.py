"""The book builds with zero warnings, and a notebook cell that raises fails the build and nbval.

The real build (every chapter rendered from its stored, nbval-checked outputs) runs
once per session in the ``book_build`` fixture of conftest.py; test_site.py checks the
same build in a browser. The failure
tests build a scratch book of one tiny notebook in a temporary folder.
"""
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
import yaml

from conftest import BUILD_COMMAND, ROOT, toc_documents

BIN = pathlib.Path(sys.executable).parent


@pytest.mark.slow
def test_book_builds_without_warnings(book_build):
    if book_build.returncode is None:
        pytest.skip("--book-html: the site was built outside this session")
    tail = "\n".join(book_build.output.splitlines()[-40:])
    assert book_build.returncode == 0, f"{' '.join(BUILD_COMMAND)} failed:\n{tail}"
    assert book_build.warnings == [], "\n".join(book_build.warnings)
    print(f"book build: {book_build.seconds:.0f} s")


@pytest.mark.slow
def test_every_toc_document_is_built(book_build):
    missing = [doc for doc in toc_documents(book_build.source)
               if not (book_build.html / f"{doc}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"


@pytest.mark.slow
def test_tables_printed_by_code_render_as_tables(book_build):
    """A cell that displays ``Markdown("| a | b |\\n|---|---|...")`` (the guide's measured
    decision table, chapter 4's App. C table) must reach the page as an HTML table, not as
    a paragraph of pipes (myst-nb's default commonmark output format has no tables)."""
    pages = {}
    for path in sorted((book_build.source / "book").rglob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        tables = sum(1 for c in cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if re.search(r"^\|.*\|\s*\n\|[-|: ]+\|", o.get("data", {}).get(
                         "text/markdown", ""), re.M))
        if tables:
            pages[path.relative_to(book_build.source).with_suffix(".html")] = tables
    assert pages, "no notebook displays a Markdown table (the control of this test)"
    for page, tables in pages.items():
        html = (book_build.html / page).read_text()
        outputs = re.findall(r'<div class="cell_output docutils container">(.*?)</div>\s*</div>',
                             html, re.S)
        rendered = sum("<table" in out for out in outputs)
        assert rendered >= tables, f"{page}: {tables} Markdown tables, {rendered} rendered"
        assert not any(re.search(r"<p>\|[^<]*\|", out) for out in outputs), page


@pytest.mark.slow
def test_bibliography_labels_match_the_author_year_citations(book_build):
    """Each bibliography entry is labelled as the text cites it ("Scieur et al. 2022"),
    every author-year citation in a chapter names a labelled entry, and the papers with
    a DOI or an arXiv number link to it."""
    html = (book_build.html / "book" / "bibliography.html").read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]+)<', html)
    if not labels:   # docutils versions differ in how they wrap the label
        labels = re.findall(r'class="label"[^>]*>(?:<[^>]+>)*\[?([^<\]]+)', html)
    assert labels and all(re.fullmatch(r"[^\W\d][\w\s.'-]* \d{4}[a-z]?", l) for l in labels), labels
    cited = set()
    for page in (book_build.html / "book").glob("0*.html"):
        for inner in re.findall(r'<a class="reference internal" href="bibliography\.html#[^"]*"'
                                r'[^>]*>(.*?)</a>', page.read_text(), flags=re.S):
            match = re.fullmatch(r"(.+), (\d{4}[a-z]?)", re.sub(r"<[^>]+>", "", inner).strip())
            if match:    # {cite:t} links the year alone; {cite} links "Names, year"
                cited.add(f"{match.group(1)} {match.group(2)}")
    unmatched = sorted(c for c in cited if c not in labels)
    assert len(cited) >= 10 and not unmatched, unmatched
    assert len(re.findall(r"https://doi\.org/|https?://arxiv\.org/abs/", html)) >= 10


# --- A cell that raises must fail the build (-W) and nbval -----------------------------

def _notebook(*sources, outputs=None):
    """A notebook of code cells, stored as if executed with ``outputs`` (one list per cell)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Scratch")]
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source, execution_count=i + 1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)
                        for text in (outputs or [[]] * len(sources))[i]]
        nb.cells.append(cell)
    return nb


def _scratch_book(folder, nb):
    """The repository's _config.yml (and its local extensions) with a one-notebook table of contents."""
    (folder / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    shutil.copytree(ROOT / "_ext", folder / "_ext")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    (folder / "_toc.yml").write_text("format: jb-book\nroot: book/scratch\n")
    nbformat.write(nb, folder / "book" / "scratch.ipynb")


@pytest.mark.slow
def test_scratch_book_builds(tmp_path):
    """Control for the next test: the scratch book itself builds cleanly."""
    _scratch_book(tmp_path, _notebook("print(1 + 1)", outputs=[["2\n"]]))
    proc = subprocess.run([str(BIN / "jupyter-book"), *BUILD_COMMAND[1:]], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
def test_raising_cell_fails_the_build(tmp_path):
    _scratch_book(tmp_path, _notebook("raise RuntimeError('deliberately broken cell')"))
    proc = subprocess.run([str(BIN / "jupyter-book"), *BUILD_COMMAND[1:]], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "[mystnb.exec]" in proc.stdout + proc.stderr     # the execution failure is the cause
    report = tmp_path / "_build" / "html" / "reports" / "book" / "scratch.err.log"
    assert "deliberately broken cell" in report.read_text()


def _nbval(path):
    """The nbval part of the README's test command, on one notebook, in a fresh pytest."""
    sanitize = ROOT / "tests" / "nbval_sanitize.cfg"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(sanitize), "-p", "no:cacheprovider",
         "--rootdir", str(path.parent), str(path)],
        cwd=path.parent, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("case, sources, outputs, passes", [
    ("matching", ["print(6 * 7)"], [["42\n"]], True),
    ("stale output", ["print(6 * 7)"], [["41\n"]], False),
    ("raising cell", ["print(6 * 7)", "1 / 0"], [["42\n"], []], False),
])
def test_nbval_fails_on_stale_output_or_raising_cell(tmp_path, case, sources, outputs, passes):
    path = tmp_path / "scratch.ipynb"
    nbformat.write(_notebook(*sources, outputs=outputs), path)
    proc = _nbval(path)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert (proc.returncode == 0) == passes, f"{case}: {summary}"
    if not passes:
        assert re.search(r"\d+ failed", summary), summary


# --- Read online: the workflow publishing _build/html, and the README's link to it -------

def test_readme_links_the_pages_site_of_the_repository():
    """The README points at the GitHub Pages site of the repository named in _config.yml."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    owner, repo = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", url).groups()
    readme = (ROOT / "README.md").read_text()
    assert f"https://{owner}.github.io/{repo}/" in readme
    assert f"{url}/actions/workflows/book.yml/badge.svg" in readme


def test_workflow_builds_with_warnings_as_errors_and_deploys():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [s.get("run") or s.get("uses", "") for job in workflow["jobs"].values()
             for s in job["steps"]]
    assert "make book" in steps
    assert "-W" in re.search(r"^book:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(),
                             flags=re.M)[1]
    assert any(s.startswith("actions/upload-pages-artifact") for s in steps)
    assert any(s.startswith("actions/deploy-pages") for s in steps)
