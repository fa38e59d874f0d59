"""The site for readers: phones, sharp and described figures, nothing cut off, print.

Headless Chromium on the session's book build, like tests/test_site.py (whose server,
offline routing and Chromium set-up are reused). Every page is visited once at phone
size (390×844, touch, 3 device pixels per CSS pixel) and its facts recorded; a
screenshot of each page at that width goes to _build/screenshots/phone/ (test_site.py
writes the desktop ones). The navigation tests tap the toggles a reader sees.
"""
import functools
import re
import shutil
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import sync_playwright

from test_site import (CHROMIUM, CHROMIUM_ARGS, _fetch_assets, _require, _route, site,  # noqa: F401
                       site_pages)

pytestmark = pytest.mark.slow

PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
             device_scale_factor=3)
DESKTOP = dict(viewport={"width": 1280, "height": 800})
#: A figure is sharp on a phone when it is vector art or has this many image pixels per
#: CSS pixel of its displayed width.
MIN_PIXEL_RATIO = 2.0
CHAPTER = "book/03_curse.html"

_FACTS = """() => {
  const main = document.querySelector('main') || document.body;
  const images = [...main.querySelectorAll('img')].filter(i => i.closest('.cell_output, figure'));
  return {
    images: images.map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt') || '',
                              natural: i.naturalWidth, shown: i.getBoundingClientRect().width})),
    page_width: document.scrollingElement.scrollWidth,
    view_width: window.innerWidth,
    wide_figures: [...main.querySelectorAll('figure.wide img')].map(i => ({
        shown: i.getBoundingClientRect().width,
        scrolls: i.closest('figure').scrollWidth > i.closest('figure').clientWidth})),
    wide_outputs: [...main.querySelectorAll('.cell_output pre')]
        .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60)),
  };
}"""

_FOLDED_SHOWN = """() => [...document.querySelectorAll('div.admonition.dropdown')].map(b => {
  const body = b.querySelector(':scope > :not(.admonition-title)');
  const r = body ? body.getBoundingClientRect() : {height: 0};
  const s = body ? getComputedStyle(body) : {visibility: 'hidden'};
  return {id: b.id, shown: r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'};
})"""

_WIDGETS_SHOWN = """() => [...document.querySelectorAll('.jupyter-widgets, .widget-slider')]
  .filter(w => { const r = w.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length"""


@dataclass
class PhoneVisit:
    page: str
    images: list = field(default_factory=list)
    page_width: int = 0
    view_width: int = 0
    wide_outputs: list = field(default_factory=list)
    wide_figures: list = field(default_factory=list)   # multi-panel figures: width, scrolls
    print_folded: list = field(default_factory=list)   # dropdown blocks and whether shown in print
    print_widgets: int = 0                             # widgets visible in print


def _open(context, base, html_dir, page_path):
    page = context.new_page()
    page.route("**/*", functools.partial(_route, base=base, html_dir=html_dir, unrouted=[]))
    page.goto(base + page_path, wait_until="load")
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    }""")
    page.wait_for_timeout(300)
    return page


def _browser(p):
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def _need_browser():
    _require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's Chromium")
    _fetch_assets()


def _content_pages(html_dir):
    return [p for p in site_pages(html_dir) if p != "index.html"]


@pytest.fixture(scope="module")
def phone_visits(site):  # noqa: F811
    """Visit every page at phone size: page path -> PhoneVisit (and a screenshot)."""
    _need_browser()
    base, html_dir = site
    shots = html_dir.parent / "screenshots" / "phone"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    result = {}
    with sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context(**PHONE)
        for page_path in _content_pages(html_dir):
            page = _open(context, base, html_dir, page_path)
            visit = PhoneVisit(page_path, **page.evaluate(_FACTS))
            page.screenshot(path=str(shots / (page_path.replace("/", "__")[:-5] + ".png")),
                            full_page=True)
            page.emulate_media(media="print")
            page.wait_for_timeout(100)
            visit.print_folded = page.evaluate(_FOLDED_SHOWN)
            visit.print_widgets = page.evaluate(_WIDGETS_SHOWN)
            result[page_path] = visit
            page.close()
        browser.close()
    return result


def _on_screen(page, selector):
    """The element is displayed and lies (at least half) inside the viewport."""
    return page.evaluate("""sel => {
        const e = document.querySelector(sel); if (!e) return false;
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        const visibleWidth = Math.min(r.right, innerWidth) - Math.max(r.left, 0);
        return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0
               && visibleWidth >= r.width / 2;
    }""", selector)


def _visible(page, selector):
    found = [b for b in page.locator(selector).all() if b.is_visible()]
    assert len(found) == 1, f"{len(found)} visible elements match {selector}"
    return found[0]


def test_phone_reader_reaches_the_chapter_list_and_the_page_contents(site):  # noqa: F811
    _need_browser()
    base, html_dir = site
    with sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context(**PHONE)
        page = _open(context, base, html_dir, CHAPTER)
        assert not _on_screen(page, ".bd-sidebar-primary")
        _visible(page, "button.primary-toggle").tap()
        page.wait_for_timeout(500)
        assert _on_screen(page, ".bd-sidebar-primary"), "tapping ☰ does not show the chapter list"
        chapter_link = page.locator(".bd-sidebar-primary a", has_text="Truncation").first
        assert chapter_link.is_visible(), "the chapter list is on screen but not its links"
        page.close()

        page = _open(context, base, html_dir, CHAPTER)
        assert not _on_screen(page, ".bd-sidebar-secondary")
        _visible(page, "button.secondary-toggle").tap()
        page.wait_for_timeout(500)
        assert _on_screen(page, ".bd-sidebar-secondary"), \
            "tapping the contents icon does not show the page contents"
        assert page.locator(".bd-sidebar-secondary nav a").first.is_visible()
        browser.close()


def test_desktop_menu_button_collapses_and_restores_the_sidebar(site):  # noqa: F811
    _need_browser()
    base, html_dir = site
    with sync_playwright() as p:
        browser = _browser(p)
        page = _open(browser.new_context(**DESKTOP), base, html_dir, CHAPTER)
        assert _on_screen(page, ".bd-sidebar-primary")
        toggle = _visible(page, "button.primary-toggle")
        toggle.click()
        page.wait_for_timeout(500)
        assert not _on_screen(page, ".bd-sidebar-primary"), "☰ does not collapse the sidebar"
        toggle.click()
        page.wait_for_timeout(500)
        assert _on_screen(page, ".bd-sidebar-primary"), "☰ does not restore the sidebar"
        assert len([b for b in page.locator(".search-button-field").all() if b.is_visible()]) <= 1, \
            "more than one search bar shows"
        browser.close()


def test_every_page_was_visited_at_phone_width(phone_visits, site):  # noqa: F811
    assert set(phone_visits) == set(_content_pages(site[1]))
    shots = site[1].parent / "screenshots" / "phone"
    assert len(list(shots.glob("*.png"))) == len(phone_visits)


def test_figures_are_sharp_on_a_phone(phone_visits):
    soft = [(v.page, i["src"][-40:], round(i["natural"] / i["shown"], 2))
            for v in phone_visits.values() for i in v.images
            if not i["src"].endswith(".svg") and i["shown"]
            and i["natural"] / i["shown"] < MIN_PIXEL_RATIO]
    assert not soft, f"figures with fewer than {MIN_PIXEL_RATIO} image pixels per CSS pixel: {soft}"
    assert sum(len(v.images) for v in phone_visits.values()) > 0


def test_figures_have_alt_text_that_describes_them(phone_visits):
    path_like = re.compile(r"(^|/)[\w.-]+\.(png|svg|jpe?g)$|^$")
    bad = [(v.page, i["src"][-40:], i["alt"][:40]) for v in phone_visits.values()
           for i in v.images if path_like.search(i["alt"].strip()) or len(i["alt"].split()) < 4]
    assert not bad, f"figures without a description as alt text: {bad}"


def test_nothing_runs_off_a_phone_screen(phone_visits):
    wide = [(v.page, v.page_width) for v in phone_visits.values() if v.page_width > v.view_width + 1]
    cut = [(v.page, v.wide_outputs[:3]) for v in phone_visits.values() if v.wide_outputs]
    assert not wide, f"pages wider than the screen (page, width): {wide}"
    assert not cut, f"code outputs that do not wrap: {cut}"


def test_print_unfolds_proofs_and_solutions_and_hides_widgets(phone_visits):
    folded = [(v.page, b["id"]) for v in phone_visits.values() for b in v.print_folded
              if not b["shown"]]
    widgets = [(v.page, v.print_widgets) for v in phone_visits.values() if v.print_widgets]
    assert not folded, f"blocks that stay folded in print: {folded[:10]}"
    assert not widgets, f"widgets shown in print: {widgets}"
    assert sum(len(v.print_folded) for v in phone_visits.values()) > 0


def test_explorer_frames_follow_the_slider_without_a_kernel(site):  # noqa: F811
    """On a phone: open the explorer, move its first slider (keyboard), and the picture and
    its alt text change; the slider track has a usable width."""
    _need_browser()
    base, html_dir = site
    with sync_playwright() as p:
        browser = _browser(p)
        page = _open(browser.new_context(**PHONE), base, html_dir, CHAPTER)
        explorer = page.locator("details.course-explorer-static").first
        explorer.locator("summary").tap()
        slider = explorer.locator("input[type=range]").first
        assert slider.is_visible() and slider.bounding_box()["width"] >= 100
        image = explorer.locator("img.cx-frame")
        before = (image.get_attribute("src"), image.get_attribute("alt"))
        slider.focus()
        page.keyboard.press("ArrowLeft" if slider.input_value() != "0" else "ArrowRight")
        after = (image.get_attribute("src"), image.get_attribute("alt"))
        assert after[0] != before[0] and after[1] != before[1]
        browser.close()


def test_multi_panel_figures_keep_a_legible_size_on_a_phone(phone_visits):
    """Figures marked wide are shown at 640 CSS px and scroll sideways in their figure."""
    small = [(v.page, f) for v in phone_visits.values() for f in v.wide_figures
             if f["shown"] < 600 or not f["scrolls"]]
    assert not small, small
    assert sum(len(v.wide_figures) for v in phone_visits.values()) > 0
