"""Folded proofs: give each ``prf:proof`` with ``:class: dropdown`` a title and its own id.

sphinx-proof 0.4 renders a proof as an admonition without a title ("Proof. " is
prepended to its first paragraph) and with the id "proof" on every proof of a page.
sphinx-togglebutton folds a ``.dropdown`` admonition by putting a button in its title
and finds the title by the admonition's id: its script stops with a TypeError at the
first proof without a title (leaving every later dropdown of the page, solutions
included, unfolded), and with repeated ids only the first proof opens.
"""
from docutils import nodes

PREFIX = "Proof. "


def _fold_proofs(app, doctree):
    proofs = [a for a in doctree.findall(nodes.admonition)
              if {"proof", "dropdown"} <= set(a["classes"])
              and not isinstance(a.children[0] if a.children else None, nodes.title)]
    for number, proof in enumerate(proofs, start=1):
        proof["ids"] = [f"proof-{number}"]
        first = next(proof.findall(nodes.Text), None)
        if first is not None and first.astext().startswith(PREFIX):
            first.parent.replace(first, nodes.Text(first.astext()[len(PREFIX):]))
        proof.insert(0, nodes.title("", "Proof"))


def setup(app):
    app.connect("doctree-read", _fold_proofs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
