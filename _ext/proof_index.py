"""The proof index lists each statement by number and title, grouped by chapter.

sphinx-proof 0.4's index (prf-prf.html) lists raw labels ("ch3-thm-master") in
alphabetical groups. This replaces its ``generate`` so that each entry reads
"Theorem 3.1: Master identity (Scieur et al., Thm 1)", under its chapter's title, in
the order of the book.
"""
from docutils import nodes
from sphinx_proof.domain import ProofIndex


def _titles(env, docname):
    """label -> the statement's title text in one document."""
    found = {}
    for node in env.get_doctree(docname).findall(nodes.Element):
        if not node.get("ids") or not node.tagname.endswith("_node"):
            continue
        title = node.children[0] if node.children else None
        if isinstance(title, nodes.title):
            text = title.astext().strip()
            if text.startswith("(") and text.endswith(")"):
                text = text[1:-1]
            for label in node["ids"]:
                found.setdefault(label, text)
    return found


def _generate(self, docnames=None):
    env = self.domain.env
    proofs = getattr(env, "proof_list", {})
    order = {doc: i for i, doc in enumerate(_reading_order(env))}
    groups, titles = {}, {}
    for label, values in proofs.items():
        doc = values["docname"]
        if doc not in titles:
            titles[doc] = _titles(env, doc)
        number = env.toc_fignumbers.get(doc, {}).get(values["countertype"], {}).get(label)
        kind = values["realtype"].capitalize()
        name = f"{kind} {'.'.join(map(str, number))}" if number else kind
        text = titles[doc].get(label, "")
        heading = env.titles[doc].astext() if doc in env.titles else doc
        groups.setdefault((order.get(doc, 0), heading), []).append(
            (name + (f": {text}" if text else ""), 0, doc, label, "", "", ""))
    return [(heading, entries) for (_, heading), entries in sorted(groups.items())], True


def _reading_order(env):
    """Documents in the order of the table of contents."""
    seen, stack = [], [env.config.root_doc]
    while stack:
        doc = stack.pop(0)
        if doc in seen:
            continue
        seen.append(doc)
        stack[0:0] = env.toctree_includes.get(doc, [])
    return seen


def setup(app):
    ProofIndex.generate = _generate
    return {"parallel_read_safe": True, "parallel_write_safe": True}
