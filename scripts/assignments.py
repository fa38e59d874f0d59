"""Generate the graded assignments' student notebooks from their masters (otter-grader).

Each master notebook ``assignments/masters/<name>.ipynb`` holds the questions, the
solutions and the public and hidden tests, in otter-grader's format. This script

    python scripts/assignments.py build          # (make assignments) every master
    python scripts/assignments.py build a1_...   # one master
    python scripts/assignments.py check          # exit 1 if a student version is stale

first writes the shared setup cell into each master (install the course library at the
release tag of _config.yml and otter-grader if missing, fetch the public tests, start
the grader; the repository URL and the tag are read from _config.yml, their one
place), then runs ``otter assign``. The student version (notebook + public tests,
no solutions, no hidden tests) goes to ``assignments/student/<name>/`` and is
committed: Colab opens it from the repository. The autograder (solutions, hidden
tests, the zip ``otter run`` grades with) goes to ``assignments/dist/<name>/``, which
is generated and ignored by git.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
MASTERS = ROOT / "assignments" / "masters"
STUDENT = ROOT / "assignments" / "student"
DIST = ROOT / "assignments" / "dist"
OTTER_PIN = "otter-grader==7.0.0"
SETUP_MARK = "# Setup (the same in every assignment)"

SETUP_TEMPLATE = '''\
{mark}: install the course library (release {tag}) and
# otter-grader when they are missing (e.g. on Colab), fetch this assignment's public tests.
# Colab's jax and numpy are left as they are. Graders skip this cell (tag otter_ignore).
import importlib.util, os, pathlib, urllib.request
if importlib.util.find_spec("unrolling") is None:
    _source = os.environ.get("UNROLLING_SOURCE", "unrolling @ git+{url}.git@{tag}")
    %pip install --quiet "{{_source}}"
if importlib.util.find_spec("otter") is None:
    %pip install --quiet {otter}
_tests = pathlib.Path("tests")
_tests.mkdir(exist_ok=True)
for _name in {tests}:
    if not (_tests / _name).is_file():
        try:
            urllib.request.urlretrieve(
                "{raw}/{tag}/assignments/student/{assignment}/tests/" + _name, _tests / _name)
        except OSError as error:
            print(f"could not fetch the public test {{_name}} ({{error}}): "
                  "grader.check will not find it; the graded run is not affected")'''


def config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def release_tag():
    """The release the assignments install (``course.release_tag`` in _config.yml)."""
    return config()["course"]["release_tag"]


def masters(names=()):
    found = sorted(MASTERS.glob("*.ipynb"))
    if names:
        found = [p for p in found if p.stem in names]
        missing = set(names) - {p.stem for p in found}
        if missing:
            raise SystemExit(f"no master notebook for {sorted(missing)} in {MASTERS}")
    return found


def question_names(master):
    """The names of the master's questions, in order (from its BEGIN QUESTION cells)."""
    nb = json.loads(master.read_text())
    return [re.search(r"^name:\s*(\S+)", "".join(c["source"]), flags=re.M).group(1)
            for c in nb["cells"] if c["cell_type"] == "raw"
            and "".join(c["source"]).lstrip().startswith("# BEGIN QUESTION")]


def setup_cell_source(master):
    url = config()["repository"]["url"]
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/")
    tests = [f"{q}.py" for q in question_names(master)]
    return SETUP_TEMPLATE.format(mark=SETUP_MARK, tag=release_tag(), url=url, raw=raw,
                                 otter=OTTER_PIN, tests=tests, assignment=master.stem)


def write_setup_cell(master):
    """Put the setup cell (tagged otter_ignore) first among the master's code cells."""
    nb = json.loads(master.read_text())
    source = setup_cell_source(master).splitlines(keepends=True)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if code and "".join(code[0]["source"]).startswith(SETUP_MARK):
        cell = code[0]
    else:
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": []}
        first_raw = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "raw")
        nb["cells"].insert(first_raw + 1, cell)
    if cell["source"] != source or cell["metadata"].get("tags") != ["otter_ignore"]:
        cell["source"], cell["metadata"]["tags"] = source, ["otter_ignore"]
        master.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def assign(master, target, run_tests=True):
    """Run ``otter assign`` on ``master`` into ``target`` (dist/student, dist/autograder)."""
    command = ["otter", "assign", str(master), str(target)]
    if not run_tests:
        command.append("--no-run-tests")
    otter = pathlib.Path(sys.executable).with_name("otter")
    command[0] = str(otter) if otter.is_file() else "otter"
    proc = subprocess.run(command, cwd=master.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"otter assign failed for {master.name}:\n{proc.stdout}\n{proc.stderr}")
    return target


def build(names=()):
    for master in masters(names):
        write_setup_cell(master)
        dist = DIST / master.stem
        shutil.rmtree(dist, ignore_errors=True)
        assign(master, dist)
        student = STUDENT / master.stem
        shutil.rmtree(student, ignore_errors=True)
        shutil.copytree(dist / "student", student)
        _stable_ids(student / f"{master.stem}.ipynb")
        print(f"{master.stem}: student version in {student.relative_to(ROOT)}, "
              f"autograder in {dist.relative_to(ROOT)}")


def _stable_ids(path):
    """Number the cells' ids (otter draws random ones), so a rebuild changes no byte."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if "id" in cell:
            cell["id"] = f"cell-{i:03d}"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def student_files(folder):
    """relative path -> comparable content of a student version (cell types and sources)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        key = path.relative_to(folder).as_posix()
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            files[key] = [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
        else:
            files[key] = path.read_text()
    return files


def stale(names=()):
    """Names of assignments whose committed student version differs from a fresh one."""
    result = []
    for master in masters(names):
        with tempfile.TemporaryDirectory() as tmp:
            copy = pathlib.Path(tmp) / master.name
            shutil.copy(master, copy)
            write_setup_cell(copy)
            fresh = assign(copy, pathlib.Path(tmp) / "dist", run_tests=False) / "student"
            if student_files(fresh) != student_files(STUDENT / master.stem):
                result.append(master.stem)
    return result


if __name__ == "__main__":
    action, names = (sys.argv[1] if len(sys.argv) > 1 else "build"), sys.argv[2:]
    if action == "build":
        build(names)
    elif action == "check":
        outdated = stale(names)
        for name in outdated:
            print(f"stale: assignments/student/{name} (run `make assignments`)")
        sys.exit(1 if outdated else 0)
    else:
        raise SystemExit(f"unknown action {action!r}: build or check")
