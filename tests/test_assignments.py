"""The graded assignments: generated, leak-free, and graded as an instructor expects.

Static (fast): every master has a committed student version that a fresh
``otter assign`` reproduces; no solution line and no hidden test reaches the student
version; the student notebook starts with the setup cell that installs the release
tag of _config.yml and a pinned otter-grader, tagged so that graders skip it.

Grading (slow): for every assignment the autograder built from its master gives full
marks to the solution, zero to the blank student notebook and a score strictly in
between to a half-solved submission (the first half of the answer cells solved), each
graded by scripts/grade.py as ``make grade`` does (``otter run`` in its own temporary
directory, under a time limit, after the kernel name is reset). The half-solved
submission is saved with another kernel name. The gradings run two at a time.
"""
import concurrent.futures
import json
import pathlib
import re
import shutil
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import assignments  # noqa: E402
import grade  # noqa: E402

MASTERS = assignments.masters()
SOLUTION_TAG, ANSWER_TAG = "otter_assign_solution_cell", "otter_answer_cell"


def _ids(paths):
    return [p.stem for p in paths]


def _cells(path):
    return json.loads(pathlib.Path(path).read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


def solution_lines(master):
    """Lines of the master that only the solution may contain (stripped, non-trivial)."""
    lines, given, inside, prompt = [], set(), False, False
    for cell in _cells(master):
        if cell["cell_type"] != "code":
            continue
        for line in _source(cell).splitlines():
            text = line.strip()
            if text.endswith("# END SOLUTION"):
                inside = False
            elif re.match(r"# BEGIN SOLUTION", text):
                inside = True
            elif text.endswith(("# BEGIN PROMPT", "# END PROMPT")):
                prompt = text.endswith("# BEGIN PROMPT")
            elif prompt:
                given.add(text)     # the prompt shows it to the student
            elif (inside or re.search(r"# ?SOLUTION$", text)) and len(text) > 12:
                lines.append(re.sub(r"\s*# ?SOLUTION$", "", text))
    return [line for line in lines if line not in given]


def hidden_tests(master):
    """Bodies of the master's hidden test functions."""
    return [_source(c) for c in _cells(master) if c["cell_type"] == "code"
            and re.search(r"BEGIN TEST CONFIG[\s\S]*hidden:\s*true", _source(c))]


def student_text(name):
    folder = assignments.STUDENT / name
    parts = [_source(c) for c in _cells(folder / f"{name}.ipynb")]
    parts += [p.read_text() for p in sorted((folder / "tests").glob("*.py"))]
    return "\n".join(parts)


def test_there_are_assignments():
    assert len(MASTERS) >= 1


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_no_solution_or_hidden_test_in_the_student_version(master):
    text = student_text(master.stem)
    leaked = [line for line in solution_lines(master) if line in text]
    assert solution_lines(master), "the master marks no solution"
    assert not leaked, f"solution lines in the student version: {leaked[:5]}"
    hidden = hidden_tests(master)
    assert hidden, "the master has no hidden test"
    for body in hidden:
        name = re.search(r"def (test_\w+)", body).group(1)
        assert name not in text, f"hidden test {name} in the student version"


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_student_notebook_starts_with_the_setup_cell(master):
    first = next(c for c in _cells(assignments.STUDENT / master.stem / f"{master.stem}.ipynb")
                 if c["cell_type"] == "code")
    source = _source(first)
    tag = assignments.release_tag()
    assert first["metadata"].get("tags") == ["otter_ignore"]
    assert f".git@{tag}" in source and assignments.OTTER_PIN in source
    assert f"/{tag}/assignments/student/{master.stem}/tests/" in source
    for question in assignments.question_names(master):
        assert f"{question}.py" in source


def test_student_versions_are_not_stale():
    """A fresh ``otter assign`` of every master gives the committed student versions."""
    assert assignments.stale() == [], "run `make assignments` and commit assignments/student"


# --- Grading --------------------------------------------------------------------------

def _half_solved(solution, blank):
    """The solution notebook with the answer cells of its second half left blank."""
    solved, empty = _cells(solution), _cells(blank)
    answers = [i for i, c in enumerate(solved) if SOLUTION_TAG in c["metadata"].get("tags", [])]
    assert len(answers) >= 2 and len(solved) == len(empty)
    for i in answers[len(answers) // 2:]:
        assert ANSWER_TAG in empty[i]["metadata"].get("tags", [])
        solved[i] = empty[i]
    notebook = json.loads(pathlib.Path(solution).read_text())
    notebook["cells"] = solved
    notebook["metadata"]["kernelspec"] = {"name": "course-env", "display_name": "Course",
                                          "language": "python"}
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(assignment, submission kind) -> (scores, status), for every assignment."""
    jobs = []
    for master in MASTERS:
        folder = tmp_path_factory.mktemp(master.stem)
        copy = folder / master.name
        shutil.copy(master, copy)
        assignments.write_setup_cell(copy)
        dist = assignments.assign(copy, folder / "dist", run_tests=False)
        [zip_path] = (dist / "autograder").glob("*-autograder_*.zip")
        solution = dist / "autograder" / master.name
        blank = dist / "student" / master.name
        half = folder / "half.ipynb"
        half.write_text(json.dumps(_half_solved(solution, blank)))
        jobs += [(master.stem, kind, zip_path, path)
                 for kind, path in (("solution", solution), ("blank", blank), ("half", half))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(name, kind): pool.submit(grade.grade_one, zip_path, path, 600)
                   for name, kind, zip_path, path in jobs}
    return {key: future.result()[1:] for key, future in futures.items()}


def _total(scores):
    return sum(s for s, _ in scores.values()), sum(m for _, m in scores.values())


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_solution_gets_full_marks(graded, master):
    scores, status = graded[master.stem, "solution"]
    total, maximum = _total(scores)
    assert status == "graded" and maximum > 0 and total == maximum, scores
    assert set(scores) == set(assignments.question_names(master))


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_blank_student_notebook_gets_zero(graded, master):
    scores, status = graded[master.stem, "blank"]
    assert status == "graded" and _total(scores)[0] == 0, scores


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_half_solved_submission_scores_in_between(graded, master):
    scores, status = graded[master.stem, "half"]
    total, maximum = _total(scores)
    assert status == "graded" and 0 < total < maximum, scores


def test_instructor_guide_links_every_assignment_at_the_release_tag():
    """book/instructors.md has an "Open in Colab" link per assignment, at the tag of
    _config.yml, and every assignment link it has opens an existing student notebook."""
    guide = (ROOT / "book" / "instructors.md").read_text()
    repo = assignments.config()["repository"]["url"].removeprefix("https://github.com/")
    prefix = (f"https://colab.research.google.com/github/{repo}/blob/"
              f"{assignments.release_tag()}/assignments/student/")
    for master in MASTERS:
        assert f"{prefix}{master.stem}/{master.stem}.ipynb" in guide, master.stem
    linked = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", guide)
    assert linked and all(url.startswith(prefix) for url in linked), linked
    for url in linked:
        assert (assignments.STUDENT / url.removeprefix(prefix)).is_file(), url


def test_autograders_are_not_committed():
    """assignments/dist (solutions, hidden tests, zips) is generated and ignored by git."""
    import subprocess
    proc = subprocess.run(["git", "ls-files", "assignments/dist"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    assert proc.stdout.strip() == "", proc.stdout.splitlines()[:5]
    ignored = subprocess.run(["git", "check-ignore", "-q", "assignments/dist/x/autograder.zip"],
                             cwd=ROOT)
    assert ignored.returncode == 0, "assignments/dist/ must be in .gitignore"
