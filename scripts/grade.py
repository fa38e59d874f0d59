"""Grade a folder of submitted notebooks with otter-grader, without Docker (make grade).

    python scripts/grade.py ASSIGNMENT SUBMISSIONS [--out scores.csv] [--timeout 600]

ASSIGNMENT is a master's name (``a1_contractions``); SUBMISSIONS a folder of the
students' ``.ipynb`` files. The autograder is built from the master if
``assignments/dist/<name>`` has none (``make assignments`` builds every one). Each
submission is graded by ``otter run`` in its own temporary directory, under a time
limit (``otter run`` has none and exits 0 whatever the score), after its kernel is set
to ``python3`` (a notebook saved from another environment names another kernel, which
``otter run`` cannot start). One CSV row per submission: file, student identifier,
score, maximum, one column per question, and a status (graded, timeout or error).
"""
import argparse
import csv
import json
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import assignments  # noqa: E402

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def autograder_zip(name):
    """The autograder zip of assignment ``name``, built first if missing."""
    found = sorted((assignments.DIST / name / "autograder").glob("*-autograder_*.zip"))
    if not found:
        assignments.build([name])
        found = sorted((assignments.DIST / name / "autograder").glob("*-autograder_*.zip"))
    return found[-1]


def student_id(notebook):
    """The STUDENT_ID the submission entered (empty if none)."""
    for cell in notebook["cells"]:
        match = re.search(r'^STUDENT_ID\s*=\s*["\']([^"\']*)["\']', "".join(cell["source"]),
                          flags=re.M)
        if cell["cell_type"] == "code" and match:
            return match.group(1)
    return ""


def grade_one(zip_path, submission, timeout):
    """(student id, {question: (score, max)}, status) of one submission."""
    notebook = json.loads(submission.read_text())
    notebook.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
    otter = pathlib.Path(sys.executable).with_name("otter")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        copy = tmp / submission.name
        copy.write_text(json.dumps(notebook))
        (tmp / "out").mkdir()
        try:
            proc = subprocess.run([str(otter) if otter.is_file() else "otter", "run", "-a",
                                   str(zip_path), "-o", str(tmp / "out"), str(copy)],
                                  cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return student_id(notebook), {}, "timeout"
        results = tmp / "out" / "results.json"
        if not results.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return student_id(notebook), {}, f"error: {tail[0][:200]}"
        tests = json.loads(results.read_text())["tests"]
    scores = {t["name"]: (t["score"], t["max_score"]) for t in tests
              if t.get("max_score") is not None}
    return student_id(notebook), scores, "graded"


def grade(name, folder, out, timeout=600):
    """Grade every notebook in ``folder``; write the CSV ``out``; return its rows."""
    zip_path = autograder_zip(name)
    questions = assignments.question_names(assignments.MASTERS / f"{name}.ipynb")
    rows = []
    for submission in sorted(pathlib.Path(folder).glob("*.ipynb")):
        sid, scores, status = grade_one(zip_path, submission, timeout)
        total = sum(s for s, _ in scores.values()) if scores else 0.0
        maximum = sum(m for _, m in scores.values()) if scores else ""
        rows.append({"file": submission.name, "student_id": sid, "score": total,
                     "max_score": maximum, **{q: scores.get(q, (0.0, None))[0] for q in questions},
                     "status": status})
        print(f"{submission.name}: {total} / {maximum} ({status})")
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, ["file", "student_id", "score", "max_score", *questions,
                                    "status"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("submissions")
    parser.add_argument("--out", default="scores.csv")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    grade(args.assignment, args.submissions, args.out, args.timeout)
    print(f"scores written to {args.out}")
