"""The course's metadata: licences, citation, version and changelog agree.

The version lives in pyproject.toml; CITATION.cff, the footer of every page
(_config.yml) and the changelog's newest entry must name the same version, and the
citation and footer the same date.
"""
import re
import tomllib

import yaml

from conftest import ROOT, toc_documents


def _version():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_licences_for_code_and_text_exist():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE-TEXT").read_text()


def test_citation_names_the_version_and_a_licence_for_each_part():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == _version()
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    assert citation["authors"] and citation["repository-code"] == \
        yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_footer_shows_version_date_and_licences():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    footer = config["html"]["extra_footer"]
    assert f"Version {_version()} ({citation['date-released']})" in footer
    assert "CC BY 4.0" in footer and "MIT" in footer


def test_changelog_is_in_the_toc_and_starts_with_this_version():
    assert "book/changelog" in toc_documents()
    text = (ROOT / "book" / "changelog.md").read_text()
    first = re.search(r"^## (\S+)", text, flags=re.M)
    assert first and first.group(1) == _version()


def test_intro_says_how_to_cite():
    assert "## How to cite" in (ROOT / "book" / "intro.md").read_text()
