"""Page weight of the built site: bytes a reader downloads per page (HTML + its images).

Counts each page's HTML and the images it references under _build/html (shared theme
assets, fonts and scripts are the same on every page and left out). Prints one line per
page; the issue's budget for the explorers' frames is 1 MB extra per chapter.

Run after a build: ``.venv/bin/python benchmarks/page_weight.py [_build/html]``
"""
import pathlib
import re
import sys


def page_weight(html_dir, page):
    """(html bytes, image bytes, number of images) of one page."""
    text = (html_dir / page).read_text(errors="replace")
    images = {m for m in re.findall(r'<img[^>]+src="([^"]+)"', text)
              if not m.startswith(("data:", "http"))}
    files = [(html_dir / page).parent / m for m in images]
    return (len(text.encode()), sum(f.stat().st_size for f in files if f.is_file()),
            len(images))


def main(html_dir):
    html_dir = pathlib.Path(html_dir)
    pages = sorted(p.relative_to(html_dir).as_posix() for p in (html_dir / "book").glob("*.html"))
    print(f"{'page':32s} {'html kB':>8s} {'images kB':>10s} {'total kB':>9s}")
    for page in pages:
        html, images, count = page_weight(html_dir, page)
        print(f"{page:32s} {html / 1024:8.0f} {images / 1024:10.0f} {(html + images) / 1024:9.0f}"
              f"   ({count} image files)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
