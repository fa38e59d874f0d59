"""The built site works in a real browser: headless Chromium on every page of _build/html.

The site is the session's book build (conftest.py ``book_build``; or ``--book-html DIR``),
served by ``python -m http.server`` on 127.0.0.1. Every page is visited once (the
``visits`` fixture records what the browser saw, and writes a screenshot to
_build/screenshots/); each test below checks one property on all pages and lists
the pages that fail it.

Offline: the pages load MathJax, require.js and the Jupyter widget manager from
CDNs. Every external request is answered from local copies of the same npm packages
(tests/site_assets/package.json, fetched with ``npm pack`` into
tests/site_assets/node_modules on first use); a request that has no local copy is
aborted and reported.

Needs Debian's Chromium (``apt-get install chromium``) and npm; without them the tests
skip, except in CI (``CI=true``), where they fail.
"""
import functools
import json
import mimetypes
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from conftest import ROOT, toc_documents

pytestmark = pytest.mark.slow

#: Debian's Chromium (the environment variable CHROMIUM may name another binary).
CHROMIUM = pathlib.Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ASSETS = ROOT / "tests" / "site_assets"
MODULES = ASSETS / "node_modules"

#: Console errors that are known and harmless (anything else fails test_no_console_errors).
CONSOLE_ALLOWED = (
    # sphinx-book-theme declares the thebe URL in two inline scripts on pages with launch buttons.
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme reads the colour mode from localStorage before it is set.
    "Got invalid theme mode",
    # the widget manager (html-manager 1.0.x) probes MathJax 2's API; the page runs MathJax 3.
    "Cannot read properties of undefined (reading 'Queue')",
)

#: html-manager 1.0.6 derives its webpack public path from a page-relative AMD module id,
#: so it asks the site, not the CDN, for its Font Awesome fonts: a 404 on any host. The
#: explorers show no icons; these failed requests and their console errors are expected.
WIDGET_FONTS = re.compile(r"/@jupyter-widgets/html-manager/dist/[0-9a-f]{20}\.(woff2?|ttf|eot|svg)$")

#: Directives whose rendered blocks are counted: MyST name -> CSS selector of one block.
BLOCKS = {"exercise": "div.exercise", "exercise-start": "div.exercise",
          "solution": "div.solution", "solution-start": "div.solution"}


def _require(ok, message):
    """Skip locally when a system tool is missing; in CI (CI=true) fail instead."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the browser tests must not skip)")
    pytest.skip(message)


# --- Local copies of the CDN assets --------------------------------------------------

def _npm_packages():
    """name -> version spec, from tests/site_assets/package.json."""
    return json.loads((ASSETS / "package.json").read_text())["dependencies"]


def _fetch_assets():
    """``npm pack`` each package (no dependencies: the dist files are self-contained) and
    unpack it to node_modules/<name>; skipped for packages already there."""
    missing = {name: spec for name, spec in _npm_packages().items()
               if not (MODULES / name / "package.json").is_file()}
    if not missing:
        return
    npm = shutil.which("npm")
    _require(npm, "npm is missing: install Node.js and npm (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", "--json", "--pack-destination", tmp,
                               *(f"{name}@{spec}" for name, spec in missing.items())],
                              capture_output=True, text=True, cwd=tmp)
        assert proc.returncode == 0, f"npm pack failed:\n{proc.stderr}"
        for packed in json.loads(proc.stdout):
            unpacked = pathlib.Path(tmp) / packed["name"]
            with tarfile.open(pathlib.Path(tmp) / packed["filename"]) as tar:
                tar.extractall(unpacked, filter="data")
            target = MODULES / packed["name"]
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(unpacked / "package", target)


def local_asset(url):
    """The local copy of a CDN URL, or None.

    Two URL shapes occur in the built HTML: npm-mirroring CDNs,
    ``<cdn>/npm/<package>@<version>/<file>`` (MathJax, the widget manager and the
    widget modules it loads), and ``<cdn>/ajax/libs/require.js/<version>/require.min.js``.
    """
    path = unquote(urlsplit(url).path)
    match = re.fullmatch(r"/npm/((?:@[^/@]+/)?[^/@]+)@[^/]+/(.+)", path)
    if match:
        return MODULES / match[1] / match[2]
    if re.fullmatch(r"/ajax/libs/require\.js/[^/]+/require(\.min)?\.js", path):
        return MODULES / "requirejs" / "require.js"
    return None


def external_scripts(html_dir):
    """URL -> pages, for every external ``<script src>`` / stylesheet of the built site."""
    urls = {}
    for page in html_dir.rglob("*.html"):
        for url in re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(https?://[^"]+\.(?:js|css))"',
                              page.read_text(errors="replace")):
            urls.setdefault(url, []).append(page.relative_to(html_dir).as_posix())
    return urls


# --- Serving the site and visiting its pages -----------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(book_build):
    """(base URL, html folder): the built site served on 127.0.0.1."""
    html = book_build.html
    if not (html / "index.html").is_file():
        pytest.fail(f"no built site in {html}: the book build failed (see test_book_build.py)")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(html)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(base, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield base, html
    server.terminate()
    server.wait()


@dataclass
class Visit:
    """What the browser saw on one page."""
    page: str
    status: int = None
    console_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    unrouted: list = field(default_factory=list)     # external requests without a local copy
    math_nodes: int = 0          # elements Sphinx marked as math
    mjx: int = 0                 # elements MathJax produced
    untypeset: list = field(default_factory=list)    # math elements MathJax left alone
    tex_errors: list = field(default_factory=list)   # TeX that MathJax could not render
    raw_math: list = field(default_factory=list)     # leftover TeX delimiters in the text
    broken_images: list = field(default_factory=list)
    links: list = field(default_factory=list)        # absolute hrefs
    colab: list = field(default_factory=list)
    blocks: dict = field(default_factory=dict)       # CSS selector -> number rendered
    untitled_blocks: int = 0
    proofs: int = 0
    dropdowns: dict = None       # folded block -> (hidden before, shown after a click on its toggle)
    widget_views: int = 0        # widgets the widget manager rendered
    screenshot: pathlib.Path = None
    redirect: str = None         # where a redirect page (index.html) led


_PAGE_FACTS = """() => {
  const text = (el) => {  // visible prose: without code, scripts and typeset math
    const c = el.cloneNode(true);
    c.querySelectorAll('pre, code, script, style, textarea, mjx-container, .MathJax').forEach(e => e.remove());
    return c.textContent;
  };
  const main = document.querySelector('main') || document.body;
  const prose = text(main);
  return {
    math_nodes: document.querySelectorAll('.math').length,
    mjx: document.querySelectorAll('mjx-container').length,
    untypeset: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
                                                      .map(e => e.textContent.slice(0, 60)),
    // TeX MathJax could not parse (merror) or did not know (noundefined: a red mtext)
    tex_errors: (window.MathJax && MathJax.startup && MathJax.startup.document
                 && MathJax.startup.document.getMathItemsWithin)
        ? MathJax.startup.document.getMathItemsWithin(document.body)
              .filter(m => /<merror|mathcolor="red"/.test(MathJax.startup.toMML(m.root)))
              .map(m => m.math.slice(0, 80))
        : [],
    raw_math: ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(d => prose.includes(d)),
    broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                         .map(i => i.src.slice(0, 120)),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    proofs: document.querySelectorAll('div.proof').length,
    untitled_blocks: [...document.querySelectorAll('div.proof, div.exercise, div.solution')]
        .filter(b => !(b.querySelector('.admonition-title') || {}).textContent).length,
    widget_views: document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, .widget-slider').length,
  };
}"""


def _strip_integrity(body):
    """Drop Subresource Integrity hashes: the local npm copies differ from the CDN files."""
    return re.sub(r'\sintegrity="[^"]*"', "", body)


def _route(route, base, html_dir, unrouted):
    url = route.request.url
    if url.startswith(base):
        path = html_dir / unquote(urlsplit(url).path).lstrip("/")
        if path.suffix == ".html" and path.is_file():
            return route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                 body=_strip_integrity(path.read_text()))
        return route.continue_()
    local = local_asset(url)
    if local is not None and local.is_file():
        kind = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        return route.fulfill(status=200, path=str(local), content_type=kind,
                             headers={"Access-Control-Allow-Origin": "*"})
    unrouted.append(url)
    return route.abort()


def _visit(context, base, html_dir, page_path, shots):
    visit = Visit(page_path)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and not WIDGET_FONTS.search(
        m.location.get("url", "")) and visit.console_errors.append(f"{m.text} [{m.location.get('url')}]"))
    page.on("pageerror", lambda e: visit.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: not WIDGET_FONTS.search(r.url)
            and visit.failed_requests.append(f"{r.url} ({r.failure})"))
    page.route("**/*", functools.partial(_route, base=base, html_dir=html_dir,
                                         unrouted=visit.unrouted))
    response = page.goto(base + page_path, wait_until="load")
    visit.status = response.status if response else None
    if 'http-equiv="Refresh"' in (html_dir / page_path).read_text():   # index.html
        page.wait_for_url(lambda url: url != base + page_path)
        page.wait_for_load_state("load")
        visit.redirect = page.url.removeprefix(base)
        page.close()
        return visit
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    }""")
    if page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count():
        try:
            page.wait_for_selector(".jupyter-widgets", timeout=15000)
        except PlaywrightTimeout:   # reported by test_widget_state_is_embedded (widget_views == 0)
            pass
    try:
        page.wait_for_load_state("networkidle", timeout=10000)
    except PlaywrightTimeout:   # something keeps polling: check the page as it is
        pass
    for name, value in page.evaluate(_PAGE_FACTS).items():
        setattr(visit, name, value)
    visit.blocks = {sel: page.locator(sel).count() for sel in set(BLOCKS.values())}
    visit.colab = [a.get_attribute("href") for a in page.locator("a[href]").all()
                   if (a.get_attribute("href") or "").startswith(colab_url() + "/github/")]
    visit.screenshot = shots / (page_path.replace("/", "__").removesuffix(".html") + ".png")
    page.screenshot(path=str(visit.screenshot), full_page=True)
    visit.dropdowns = _open_dropdowns(page)
    page.close()
    return visit


def _open_dropdowns(page):
    """Click the toggle of every folded block (solutions, proofs): id -> (hidden before, shown after)."""
    result = {}
    for i, block in enumerate(page.locator("div.admonition.dropdown").all()):
        body = block.locator(":scope > :not(.admonition-title)").first
        before = body.is_visible()
        button = block.locator(":scope > .admonition-title > button.toggle-button")
        if button.count():    # the chevron in the title (the title text may hold a link)
            button.click()
            page.wait_for_timeout(200)
        classes = block.get_attribute("class").split()
        key = f"{i}:{'solution' if 'solution' in classes else classes[0]}#{block.get_attribute('id')}"
        result[key] = (not before, body.is_visible())
    return result


def site_pages(html_dir):
    """Every HTML page of the site (not the static assets or the page sources)."""
    skip = ("_static", "_sources", "_images", "reports")
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not p.relative_to(html_dir).parts[0] in skip)


@pytest.fixture(scope="module")
def visits(site):
    """Visit every page of the site once in headless Chromium: page path -> Visit."""
    _require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's Chromium "
                                 "(apt-get update && apt-get install -y chromium)")
    _fetch_assets()
    base, html_dir = site
    shots = html_dir.parent / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        result = {page: _visit(context, base, html_dir, page, shots) for page in site_pages(html_dir)}
        browser.close()
    return result


# --- What the pages should hold, from the sources --------------------------------------

@functools.cache
def config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def colab_url():
    return config()["launch_buttons"]["colab_url"].rstrip("/")


def notebook_of(page, source):
    """The .ipynb a page was built from, or None."""
    path = source / (page.removesuffix(".html") + ".ipynb")
    return path if path.is_file() else None


def directive_counts(notebook):
    """MyST directive name -> occurrences in the notebook's markdown cells."""
    cells = json.loads(notebook.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    counts = {}
    for name in re.findall(r"^\s*(?:`{3,}|:{3,})\{([\w:-]+)\}", text, flags=re.M):
        counts[name] = counts.get(name, 0) + 1
    return counts


def has_explorer(notebook):
    """Whether an executed cell of the notebook displays a widget."""
    cells = json.loads(notebook.read_text())["cells"]
    return any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for c in cells if c["cell_type"] == "code" for out in c.get("outputs", []))


def _failures(visits, check):
    """'page: problem' lines for every page where ``check(visit)`` returns a problem."""
    return [f"{page}: {problem}" for page, v in visits.items() if (problem := check(v))]


# --- The checks -------------------------------------------------------------------------

def test_cdn_assets_have_local_copies(site):
    """Every external script/stylesheet the site loads is served from a local npm copy."""
    _fetch_assets()
    urls = external_scripts(site[1])
    assert urls, "expected the CDN scripts of MathJax"
    missing = [f"{url} (on {pages[0]})" for url, pages in urls.items()
               if not (local_asset(url) and local_asset(url).is_file())]
    assert not missing, "no local copy (tests/site_assets/package.json) for:\n" + "\n".join(missing)


def test_every_toc_page_is_visited(visits, book_build):
    pages = [f"{doc}.html" for doc in toc_documents(book_build.source)]
    assert [p for p in pages if p not in visits] == []


def test_index_redirects_to_the_root_document(visits, book_build):
    assert visits["index.html"].redirect == f"{toc_documents(book_build.source)[0]}.html"


def test_pages_load(visits):
    assert _failures(visits, lambda v: v.status != 200 and f"HTTP {v.status}") == []


def test_no_request_leaves_the_machine(visits):
    assert _failures(visits, lambda v: v.unrouted and f"unrouted {v.unrouted}") == []


def test_no_failed_requests(visits):
    assert _failures(visits, lambda v: v.failed_requests) == []


def test_mathjax_typesets(visits):
    def check(v):
        if v.untypeset:
            return f"{len(v.untypeset)} of {v.math_nodes} math elements not typeset: {v.untypeset[:5]}"
        if v.tex_errors:
            return f"TeX errors: {v.tex_errors}"
        if v.raw_math:
            return f"raw TeX delimiters left in the text: {v.raw_math}"
    assert _failures(visits, check) == []
    assert any(v.mjx for v in visits.values()), "no page has typeset math"


def test_images_load(visits):
    assert _failures(visits, lambda v: v.broken_images) == []


def test_no_console_errors(visits):
    def check(v):
        return [e for e in v.console_errors if not any(a in e for a in CONSOLE_ALLOWED)]
    assert _failures(visits, check) == []


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


@functools.cache
def anchors(path):
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return parser.ids


def test_internal_links_resolve(visits, site):
    base, html_dir = site

    def check(v):
        broken = []
        for link in v.links:
            if not link.startswith(base):
                continue
            url, fragment = urldefrag(link)
            target = html_dir / unquote(urlsplit(url).path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(link)
            elif fragment and target.suffix == ".html" and unquote(fragment) not in anchors(target):
                broken.append(link)
        return broken
    assert _failures(visits, check) == []


def _tracked_files(source):
    """Paths git tracks in the book's repository, or None outside a git work tree."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", "ls-files"], cwd=source, capture_output=True, text=True)
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else None


def test_notebook_pages_open_in_colab(visits, book_build):
    """Each notebook page links to Colab, naming a notebook of this repository."""
    repo = urlsplit(config()["repository"]["url"]).path.strip("/")
    branch = config()["repository"].get("branch", "main")
    prefix = f"{colab_url()}/github/{repo}/blob/{branch}/"

    def check(v):
        notebook = notebook_of(v.page, book_build.source)
        if notebook is None:
            return None
        if not v.colab:
            return "no Open in Colab link"
        wrong = [link for link in v.colab if not link.startswith(prefix)
                 or not link.endswith(".ipynb")
                 or not (book_build.source / link.removeprefix(prefix)).is_file()]
        if wrong:
            return f"links name no notebook of the repository: {wrong}"
        untracked = [link for link in v.colab if tracked is not None
                     and link.removeprefix(prefix) not in tracked]
        return untracked and f"notebook not committed (the link would 404): {untracked}"
    tracked = _tracked_files(book_build.source)
    assert _failures(visits, check) == []
    assert any(notebook_of(p, book_build.source) for p in visits), "no notebook page"


def test_theorem_exercise_solution_blocks_render(visits, book_build):
    """As many rendered blocks as directives in the notebook, each with its title."""
    def check(v):
        notebook = notebook_of(v.page, book_build.source)
        if notebook is None:
            return None
        counts = directive_counts(notebook)
        expected = {sel: sum(n for name, n in counts.items() if BLOCKS.get(name) == sel)
                    for sel in set(BLOCKS.values())}
        expected_proofs = sum(n for name, n in counts.items() if name.startswith("prf:"))
        problems = [f"{sel}: {v.blocks.get(sel)} rendered, {n} in the notebook"
                    for sel, n in expected.items() if v.blocks.get(sel) != n]
        if v.proofs != expected_proofs:
            problems.append(f"prf blocks: {v.proofs} rendered, {expected_proofs} in the notebook")
        if v.untitled_blocks:
            problems.append(f"{v.untitled_blocks} blocks without a title")
        return problems
    assert _failures(visits, check) == []


def test_dropdowns_open_on_click(visits, book_build):
    """Every folded block (solutions, proofs) is hidden until a click on its toggle shows it."""
    def check(v):
        stuck = [key for key, state in (v.dropdowns or {}).items() if state != (True, True)]
        notebook = notebook_of(v.page, book_build.source)
        if notebook and directive_counts(notebook).get("solution") and not any(
                ":solution#" in key for key in v.dropdowns or {}):
            stuck.append("no folded solution")
        return stuck
    assert _failures(visits, check) == []
    assert any(":solution#" in key for v in visits.values() for key in v.dropdowns or {})


def test_explorers_show_frames_not_a_dead_widget(visits, book_build):
    """Pages of chapters with an explorer show its precomputed frames (a widget needs a
    kernel), and neither a widget nor an embedded widget state."""
    def check(v):
        notebook = notebook_of(v.page, book_build.source)
        html = (book_build.html / v.page).read_text()
        if 'type="application/vnd.jupyter.widget-state+json"' in html:
            return "embedded widget state (a dead widget on a page without a kernel)"
        if v.widget_views:
            return f"{v.widget_views} widgets rendered"
        if notebook is not None and has_explorer(notebook) \
                and 'class="course-explorer-static"' not in html:
            return "an explorer without its frames"
    assert _failures(visits, check) == []


def test_screenshots_written(visits):
    assert _failures(visits, lambda v: not v.redirect and not (v.screenshot and v.screenshot.stat().st_size)
                     and "no screenshot") == []
