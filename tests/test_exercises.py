"""Exercises keep their answers inside the folds (static; nothing is executed).

On the site, a solution written with the gated form

    ```{solution-start} ch3-ex-peak
    :class: dropdown
    ```
    (prose, then code cells that compute the answer and call the checker)
    ```{solution-end}
    ```

folds everything between its start and its end, code cells included. Outside those
folds a reader sees only the exercise and an attempt cell with a placeholder. These
tests read the stored notebooks and fail when

- a checker's "correct" verdict is printed outside a solution;
- an attempt cell outside a solution computes its answer instead of showing a
  placeholder, or its checker does not answer "not yet";
- a checker is attempted but never answered inside a solution (the answer would have
  nowhere to live);
- a solution's fence closes early because a code fence inside it is as long as its
  own (the rest of the solution then prints in plain view).
"""
import ast
import json
import re

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from conftest import ROOT

CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.ipynb") if re.match(r"\d\d_", p.name))
DIRECTIVES = ("exercise", "solution", "solution-start")
OPEN = re.compile(r"^[ \t]*(`{3,}|:{3,})\{(%s)\}" % "|".join(map(re.escape, DIRECTIVES)))
FENCE = re.compile(r"^[ \t]*(`{3,}|:{3,})(.*)$")
CHECKER_CALL = re.compile(r"\bchecks\.(ch\d_\w+)\(")
CORRECT = re.compile(r"^\[(ch\d_\w+)\] correct\b", re.M)
NOT_YET = re.compile(r"^\[(ch\d_\w+)\] not yet\b", re.M)
#: Calls allowed in a placeholder answer: they build a neutral value of a given shape.
PLACEHOLDER_CALLS = {"zeros", "ones", "zeros_like", "ones_like", "full", "array", "asarray",
                     "float", "int", "tuple", "list"}


def _source(cell):
    return "".join(cell["source"])


def _output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        text = out.get("text") or out.get("data", {}).get("text/plain") or ""
        parts.append("".join(text))
    return "".join(parts)


def located_cells(path):
    """(index, cell, inside) for every cell; inside = within a solution-start/-end fold."""
    inside, result = False, []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        text = _source(cell) if cell["cell_type"] == "markdown" else ""
        starts = "{solution-start}" in text
        result.append((i, cell, inside or starts))
        if starts:
            inside = True
        if "{solution-end}" in text:
            inside = False
    return result


def _ids(paths):
    return [p.stem for p in paths]


def _is_placeholder(node, params=()):
    """A literal, a neutral constructor of literals, or a function parameter."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in params
    if isinstance(node, ast.UnaryOp):
        return _is_placeholder(node.operand, params)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_placeholder(e, params) for e in node.elts)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return (name in PLACEHOLDER_CALLS
                and all(_is_placeholder(a, params) or _is_shape(a) for a in node.args)
                and all(_is_placeholder(k.value, params) or _is_shape(k.value)
                        for k in node.keywords))
    return False


def _is_shape(node):
    """`x.shape`, `len(x)`, `x.size` or a literal: shapes may mention the data."""
    if isinstance(node, ast.Attribute):
        return node.attr in {"shape", "size", "dtype"}
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "len":
        return True
    if isinstance(node, ast.Subscript):
        return _is_shape(node.value)
    return isinstance(node, ast.Constant)


def _function_is_placeholder(fn):
    """A function whose every return value is a placeholder (or that raises)."""
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    raises = [n for n in ast.walk(fn) if isinstance(n, ast.Raise)]
    calls = [n for stmt in fn.body for n in ast.walk(stmt) if isinstance(n, ast.Call)
             and not _is_placeholder(n, params)]
    return (returns or raises) and not calls and all(
        r.value is None or _is_placeholder(r.value, params) for r in returns)


def answer_expressions(source):
    """(checker, how its answer argument is defined) for each checker call in a cell.

    The answer is the last positional argument. It is returned as the expression that
    defines it in the cell: the literal itself, the assigned value, or the function.
    """
    tree = ast.parse(TransformerManager().transform_cell(source))
    defined = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = stmt.value
                elif isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                    for t, v in zip(target.elts, stmt.value.elts):
                        if isinstance(t, ast.Name):
                            defined[t.id] = v
        elif isinstance(stmt, ast.FunctionDef):
            defined[stmt.name] = stmt
    def resolve(expr):
        if isinstance(expr, ast.Name):
            expr = defined.get(expr.id, expr)
        if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
                and isinstance(defined.get(expr.func.id), ast.FunctionDef)):
            expr = defined[expr.func.id]   # the answer is what the student's function returns
        return expr

    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
                and node.args):
            answer = resolve(node.args[-1])
            if isinstance(answer, ast.Tuple):
                answer = ast.Tuple(elts=[resolve(e) for e in answer.elts])
            found.append((node.func.attr, answer))
    return found


def _placeholder(expr):
    if isinstance(expr, ast.FunctionDef):
        return _function_is_placeholder(expr)
    if isinstance(expr, ast.Tuple):
        return all(_placeholder(e) for e in expr.elts)
    return _is_placeholder(expr)


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_no_correct_verdict_outside_a_solution(path):
    visible = [(i, m) for i, cell, inside in located_cells(path)
               if cell["cell_type"] == "code" and not inside
               for m in CORRECT.findall(_output_text(cell))]
    assert not visible, f"'correct' verdicts in plain view (cell, checker): {visible}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_attempts_show_a_placeholder_and_get_not_yet(path):
    problems = []
    for i, cell, inside in located_cells(path):
        if cell["cell_type"] != "code" or inside:
            continue
        source = _source(cell)
        for checker, expr in answer_expressions(source):
            if not _placeholder(expr):
                problems.append((i, checker, "computes its answer: " + ast.unparse(expr)[:60]))
        for checker in CHECKER_CALL.findall(source):
            if checker not in NOT_YET.findall(_output_text(cell)):
                problems.append((i, checker, "its output is not a 'not yet' verdict"))
    assert not problems, f"attempt cells outside a solution: {problems}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_every_attempted_checker_is_answered_in_a_solution(path):
    attempted, answered = set(), set()
    for _, cell, inside in located_cells(path):
        if cell["cell_type"] != "code":
            continue
        if inside:
            answered.update(CORRECT.findall(_output_text(cell)))
        else:
            attempted.update(CHECKER_CALL.findall(_source(cell)))
    missing = sorted(attempted - answered)
    assert not missing, f"no solution cell prints a 'correct' verdict for: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_solution_starts_and_ends_pair_up(path):
    depth, problems = 0, []
    for i, cell, _ in located_cells(path):
        text = _source(cell) if cell["cell_type"] == "markdown" else ""
        depth += text.count("{solution-start}")
        if depth > 1:
            problems.append((i, "a solution starts inside another"))
        depth -= text.count("{solution-end}")
        if depth < 0:
            problems.append((i, "a solution ends that never started"))
            depth = 0
    if depth:
        problems.append(("end", "a solution never ends"))
    assert not problems, problems


def early_closes(markdown):
    """Directive fences that a same-length inner code fence would close early."""
    lines, problems = markdown.splitlines(), []
    for n, line in enumerate(lines):
        opening = OPEN.match(line)
        if not opening:
            continue
        marker = opening.group(1)
        for later in lines[n + 1:]:
            fence = FENCE.match(later)
            if not fence or fence.group(1)[0] != marker[0] or len(fence.group(1)) < len(marker):
                continue
            if fence.group(2).strip():
                problems.append((opening.group(2), later.strip()))
            break
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_directive_fences_do_not_close_early(path):
    problems = [(i, p) for i, cell, _ in located_cells(path) if cell["cell_type"] == "markdown"
                for p in early_closes(_source(cell))]
    assert not problems, f"a code fence as long as its directive's closes it early: {problems}"


# --- The detectors themselves ---------------------------------------------------------

def test_early_close_is_detected_and_a_longer_outer_fence_is_not():
    leaking = "```{solution} ex\n:class: dropdown\n\n```python\nx = 1\n```\n\nafter\n```"
    nested = "````{solution} ex\n:class: dropdown\n\n```python\nx = 1\n```\n````"
    assert early_closes(leaking) == [("solution", "```python")]
    assert early_closes(nested) == []


@pytest.mark.parametrize("source, placeholder", [
    ("my_rho = 0.0\nchecks.ch1_x(L, mu, my_rho)", True),
    ("my_x = jnp.zeros(A.shape[1])\nchecks.ch1_x(A, my_x)", True),
    ("my_e, my_t = 1.0, 1.0\nchecks.ch5_c(c, 2.0, 4, (my_e, my_t))", True),
    ("def my_rule(rho, K):\n    return 0\nchecks.ch4_r(my_rule)", True),
    ("checks.ch4_r(K, T, None)", True),
    ("def my_sweep(f, x, w):\n    return jnp.zeros_like(w)\nchecks.ch2_s(f, x, my_sweep(f, x, w))", True),
    ("def my_sweep(f, x, w):\n    return f(x) @ w\nchecks.ch2_s(f, x, my_sweep(f, x, w))", False),
    ("my_rho = max(abs(1 - a * mu), abs(1 - a * L))\nchecks.ch1_x(a, L, mu, my_rho)", False),
    ("my_alpha = 1 / L\nchecks.ch1_x(L, mu, my_alpha)", False),
    ("def my_rule(rho, K):\n    return int(K * rho)\nchecks.ch4_r(my_rule)", False),
    ("checks.ch1_x(L, mu, 2 / (L + mu))", False),
])
def test_placeholder_detector(source, placeholder):
    [(_, expr)] = answer_expressions(source)
    assert bool(_placeholder(expr)) is placeholder
