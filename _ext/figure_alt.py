"""Alt text for the notebooks' figures: the caption, not the image's file path.

myst-nb gives an output image the alt text set in the cell's ``mystnb: image: alt``
metadata and otherwise its file path, which a screen reader then reads out. This
extension copies each figure's caption (maths as its TeX source, references as their
text) into the alt text of the images it holds, where none was set. Images outside a
figure keep theirs; tests/test_site_readers.py fails on any image whose alt text is
empty or a file path.
"""
from docutils import nodes


def _is_path(alt, uri):
    return not alt or alt == uri or alt.endswith((".png", ".svg", ".jpg", ".jpeg"))


def _caption_alt(app, doctree):
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            if _is_path(image.get("alt", ""), image.get("uri", "")):
                image["alt"] = text


def setup(app):
    app.connect("doctree-read", _caption_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
