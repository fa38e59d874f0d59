"""The appendix: the reproduction index is current, names only labels that exist, covers
every labelled figure of the book, and uses the three statuses; the notation page and the
table of contents.

That every cross-reference of the rendered page resolves is checked by the book build
(``-W``, test_book_build.py), which fails on an unresolved reference.
"""
import importlib.util
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, toc_documents

SCRIPT = ROOT / "scripts" / "reproduction_index.py"
_spec = importlib.util.spec_from_file_location("reproduction_index", SCRIPT)
index = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(index)


@pytest.fixture(scope="module")
def data():
    return yaml.safe_load(index.DATA.read_text())


@pytest.fixture(scope="module")
def labels():
    return index.book_labels()


def test_rendered_page_is_current():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_label_parser_finds_every_kind(labels):
    """Control for the tests below: the parser sees theorems, exercises, figures,
    equations and section targets."""
    assert {"ch1-thm-banach", "ch3-ex-peak", "ch2-fig-teaser", "ch2-eq-forward",
            "ch3-sec-visibility"} <= set(labels)
    assert {labels["ch1-thm-banach"], labels["ch3-ex-peak"], labels["ch2-fig-teaser"],
            labels["ch2-eq-forward"]} == {"prf", "ref", "figure", "eq"}
    assert len(index.figure_labels()) >= 50


def test_every_where_label_exists_in_the_book(data, labels):
    unknown = sorted({w for w in index.index_labels(data) if w not in labels})
    assert not unknown, f"labels not found in book/0*.ipynb: {unknown}"


def test_every_test_path_names_an_existing_test(data):
    paths = [w for item in data["slips"] for w in item["where"] if w.startswith("tests/")]
    assert paths
    for path in paths:
        file, name = path.split("::")
        assert re.search(rf"^def {name}\(", (ROOT / file).read_text(), re.M), path


def test_every_labelled_figure_is_indexed(data):
    missing = sorted(set(index.figure_labels()) - set(index.index_labels(data)))
    assert not missing, f"figures missing from the reproduction index: {missing}"


def test_statuses_and_their_explanations(data):
    for paper in data["papers"]:
        assert paper["entries"], paper["name"]
        for e in paper["entries"]:
            where = f"{paper['name']} {e['id']}"
            assert e["status"] in index.STATUSES, where
            assert e["title"] and e["where"], where
            assert bool(e.get("missing")) == (e["status"] == "partly"), where
            assert bool(e.get("why")) == (e["status"] == "not applicable"), where
            for choice in e.get("choices") or []:
                assert choice["choice"] and choice["sensitivity"], where


def test_each_paper_is_listed_once_with_unique_ids(data):
    names = [p["name"] for p in data["papers"]]
    assert names == ["Scieur et al. 2022", "Mehmood et al. 2026", "Bolte et al. 2023"]
    for paper in data["papers"]:
        ids = [e["id"] for e in paper["entries"]]
        assert len(ids) == len(set(ids)), paper["name"]


def test_slips_name_a_paper_a_correction_and_where_it_is_shown(data):
    papers = {p["name"] for p in data["papers"]}
    assert len(data["slips"]) >= 8
    for s in data["slips"]:
        assert s["paper"] in papers and s["slip"] and s["fix"] and s["where"], s


def test_cross_references_use_the_role_of_their_kind(labels):
    assert index.xref("ch1-thm-banach", labels) == "{prf:ref}`ch1-thm-banach`"
    assert index.xref("ch2-fig-teaser", labels) == "{numref}`ch2-fig-teaser`"
    assert index.xref("ch2-eq-forward", labels) == "{eq}`ch2-eq-forward`"
    assert index.xref("ch3-ex-peak", labels) == "{ref}`ch3-ex-peak`"
    assert index.xref("tests/test_x.py::test_y", labels) == "`tests/test_x.py::test_y`"


def test_appendix_pages_are_in_the_toc_after_the_chapters():
    docs = toc_documents()
    appendix = [docs.index("book/appendix/reproduction"), docs.index("book/appendix/notation")]
    chapters = [i for i, d in enumerate(docs) if re.fullmatch(r"book/0\d_\w+", d)]
    assert max(chapters) < min(appendix) and max(appendix) < docs.index("book/instructors")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert "Appendix" in [part["caption"] for part in toc["parts"]]


def test_notation_moved_to_the_appendix_with_a_glossary():
    notation = (ROOT / "book" / "appendix" / "notation.md").read_text()
    intro = (ROOT / "book" / "intro.md").read_text()
    assert "| symbol |" in notation and "| symbol |" not in intro
    assert "appendix/notation" in intro
    glossary = notation.split("## Glossary", 1)[1]
    terms = re.findall(r"^[^\s:][^\n]*\n: ", glossary, re.M)     # MyST definition lists
    assert 20 <= len(terms) <= 35, len(terms)
