"""Static checks of the chapter notebooks (fast; nothing is executed).

The chapters are discovered from book/*.ipynb, so a new chapter is checked as soon as
it exists: it is in _toc.yml, opens with the shared setup cell, is stored executed top
to bottom without errors, has thin cells, defines no name twice, has folded solutions
for its exercises, and has an interactive explorer.
"""
import ast
import importlib.util
import json
import re
import statistics

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from conftest import ROOT, toc_documents

BOOK = ROOT / "book"
#: The chapters and the appendix's notebooks: the rules of every page apply to both; the
#: chapter rules (exercises, explorer, inline math) to the chapters only.
NOTEBOOKS = sorted(BOOK.glob("*.ipynb")) + sorted((BOOK / "appendix").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name)]

MAX_CELL_LINES, MAX_MEDIAN_LINES = 25, 6
MIN_EXERCISES = 4
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Chapters without an interactive explorer (stem -> why). Empty: every chapter has one.
NO_EXPLORER = {}


def _ids(paths):
    return [p.stem for p in paths]


def _cells(path, kind):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def _source(cell):
    return "".join(cell["source"])


def _setup_cell_source():
    spec = importlib.util.spec_from_file_location("setup_cell", ROOT / "scripts" / "setup_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.setup_cell_source()


def directives(path, name):
    """(argument, options) of every ``{name}`` directive in the markdown cells."""
    text = "\n".join(_source(c) for c in _cells(path, "markdown"))
    pattern = r"^[ \t]*(?:`{3,}|:{3,})\{%s\}[ \t]*(.*)\n((?:[ \t]*:[\w-]+:.*\n)*)" % re.escape(name)
    return [(arg.strip(), dict(re.findall(r":([\w-]+):[ \t]*(.*)", opts)))
            for arg, opts in re.findall(pattern, text + "\n", flags=re.M)]


def test_chapters_exist():
    assert CHAPTERS, "no chapter notebook book/NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_in_toc(path):
    document = path.relative_to(ROOT).with_suffix("").as_posix()
    assert document in toc_documents(), f"add `- file: {document}` to _toc.yml"


def test_toc_entries_exist():
    missing = [doc for doc in toc_documents()
               if not any((ROOT / doc).with_suffix(s).is_file() for s in (".ipynb", ".md"))]
    assert not missing, f"_toc.yml lists documents that do not exist: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_is_the_setup_cell(path):
    """The same setup cell everywhere (scripts/setup_cell.py writes it from _config.yml)."""
    first = _cells(path, "code")[0]
    assert _source(first) == _setup_cell_source(), "run: .venv/bin/python scripts/setup_cell.py"
    assert "hide-input" in first["metadata"].get("tags", []), \
        "the setup cell's input folds on the site: run scripts/setup_cell.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_executed_top_to_bottom_without_errors(path):
    cells = [c for c in _cells(path, "code") if _source(c).strip()]
    errors = [o.get("ename") for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"stored error outputs: {errors}"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), \
        "not stored executed top to bottom in one run: run `make notebooks`"


def _lines(cell):
    return sum(1 for line in _source(cell).splitlines() if line.strip())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_cells_are_thin(path):
    lengths = [_lines(c) for c in _cells(path, "code")]
    long = [(i, n) for i, n in enumerate(lengths) if n > MAX_CELL_LINES]
    assert not long, f"(code cell index, non-blank lines) over {MAX_CELL_LINES}: {long}"
    assert statistics.median(lengths) <= MAX_MEDIAN_LINES, lengths


def _defined_names(source):
    """Names bound by def/class statements at the top level of a cell (IPython syntax allowed)."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_name_defined_twice(path):
    names = [name for c in _cells(path, "code") for name in _defined_names(_source(c))]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"defined in more than one place: {twice}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_exercises_have_folded_solutions(path):
    exercises = directives(path, "exercise")
    solutions = directives(path, "solution") + directives(path, "solution-start")
    assert len(exercises) >= MIN_EXERCISES, f"{len(exercises)} exercises"
    labels = [opts.get("label") for _, opts in exercises]
    assert None not in labels, "every exercise needs a :label: (its solution refers to it)"
    assert sorted(arg for arg, _ in solutions) == sorted(labels), \
        "one {solution} (or {solution-start}) per exercise, naming the exercise's label"
    unfolded = [arg for arg, opts in solutions if "dropdown" not in opts.get("class", "").split()]
    assert not unfolded, f"solutions without `:class: dropdown`: {unfolded}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_has_an_explorer(path):
    """A cell tagged nbval-ignore-output shows a widget from unrolling.widgets."""
    if path.stem in NO_EXPLORER:
        pytest.skip(NO_EXPLORER[path.stem])
    explorers = [c for c in _cells(path, "code")
                 if "nbval-ignore-output" in c["metadata"].get("tags", [])
                 and re.search(r"\bwidgets\.\w+\(", _source(c))
                 and any(WIDGET_VIEW in o.get("data", {}) for o in c["outputs"])]
    assert explorers, "no explorer (stored executed, tagged nbval-ignore-output)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_explorers_carry_frames_and_no_widget_state_is_stored(path):
    """Each explorer's output also holds its precomputed frames (what the site shows), and
    the notebook stores no widget state (make notebooks strips it: the site has no kernel)."""
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], "run scripts/strip_widget_state.py"
    without = [i for i, c in enumerate(_cells(path, "code")) for o in c["outputs"]
               if WIDGET_VIEW in o.get("data", {})
               and 'class="course-explorer-static"' not in "".join(o["data"].get("text/html", ""))]
    assert not without, f"explorer outputs without frames in code cells {without}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_widget_cells_are_ignored_by_nbval(path):
    """nbval cannot compare widget outputs: every cell showing a widget is tagged."""
    untagged = [i for i, c in enumerate(_cells(path, "code"))
                if any(WIDGET_VIEW in o.get("data", {}) for o in c["outputs"])
                and "nbval-ignore-output" not in c["metadata"].get("tags", [])]
    assert not untagged, f"code cells {untagged} show a widget but lack the nbval-ignore-output tag"


MAX_CODE_COLUMNS, MAX_INLINE_MATH = 79, 60


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_code_fits_79_columns(path):
    """Nothing is cut off on the site: code lines fit 79 columns (the setup cell is generated)."""
    long = [(i, len(line)) for i, c in enumerate(_cells(path, "code")) if i > 0
            for line in _source(c).splitlines() if len(line) > MAX_CODE_COLUMNS]
    assert not long, f"{path.name}: (code cell index, line length) over {MAX_CODE_COLUMNS}: {long}"


def inline_math(text):
    """The TeX of every inline $...$ formula in markdown text ($$ displays, escaped dollars
    and code spans are skipped)."""
    text = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)  # code spans (fences stay)
    formulas, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith("$$", i):
            end = text.find("$$", i + 2)
            i = len(text) if end < 0 else end + 2
        elif text[i] == "$":
            j = i + 1
            while j < len(text) and text[j] != "$":
                j += 2 if text[j] == "\\" else 1
            formulas.append(text[i + 1:j])
            i = j + 1
        else:
            i += 1
    return formulas


MARKDOWN = CHAPTERS + sorted((BOOK / "appendix").glob("*.ipynb")) + [BOOK / "intro.md"]


@pytest.mark.parametrize("path", MARKDOWN, ids=_ids(MARKDOWN))
def test_no_long_inline_math(path):
    """Long inline formulas overflow a phone screen: make them $$ displays or shorten them."""
    if path.suffix == ".md":
        texts = [path.read_text()]
    else:
        texts = [_source(c) for c in _cells(path, "markdown")]
    long = [f[:40] for text in texts for f in inline_math(text) if len(f) > MAX_INLINE_MATH]
    assert not long, f"{path.name}: inline formulas over {MAX_INLINE_MATH} characters of TeX " \
                     f"(starts): {long}"


#: Figures wider than this (in points) are multi-panel: the site lets them scroll on phones.
WIDE_FIGURE_PT = 520


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_labelled_figure_cells_show_one_output(path):
    """myst-nb wraps every displayed output (not printed text) of a cell with figure metadata in a figure of that name:
    a second output (say the Legend a last expression returns) duplicates the label, which
    fails the -W build."""
    extra = [c["metadata"]["mystnb"]["figure"]["name"] for c in _cells(path, "code")
             if c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
             and sum(o["output_type"] != "stream" for o in c["outputs"]) != 1]
    assert not extra, f"{path.name}: figure cells with other than one displayed output: {extra}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_wide_figures_are_marked_wide(path):
    """A figure cell whose SVG is wider than WIDE_FIGURE_PT has the class "wide" (the
    site keeps it legible on phones, _static/custom.css), and no narrower one has it."""
    wrong = []
    for i, cell in enumerate(_cells(path, "code")):
        figure = cell["metadata"].get("mystnb", {}).get("figure")
        widths = [float(m.group(1)) for out in cell["outputs"]
                  for m in [re.search(r'<svg[^>]*width="([\d.]+)pt"',
                                      "".join(out.get("data", {}).get("image/svg+xml", "")))] if m]
        if figure is None or not widths:
            continue
        if (max(widths) > WIDE_FIGURE_PT) != ("wide" in str(figure.get("classes", "")).split()):
            wrong.append((i, figure.get("name"), round(max(widths))))
    assert not wrong, f"figures whose 'wide' class does not match their width: {wrong}"
