"""The API's drawing page (GET /, digitlib/apps/page) in a real browser: Playwright draws with the mouse and a
finger, uploads, and cuts the network off from everything but the server. Figures go to tests/artifacts/page.json,
screenshots beside it. Strokes are given in canvas pixels (560x280) and scaled to the canvas as the page shows it.
"""

import json

import numpy as np
import pytest
from layout import layout_faults
from strokes import STYLES, strokes

from digitlib.constants import ROOT
from digitlib.reading.answers import verdict
from digitlib.reading.strokes import WIDTH

ARTIFACTS = ROOT / "tests" / "artifacts"
FIGURES = {}
CONTROLS = ["#pad", "#pen", "#undo", "#clear", "#upload", "#digit", "#status", "#probabilities", "#seen"]
# (viewport, touch screen) of the screens the page is checked on: the narrowest phone it is made for, and a desktop
SCREENS = {"phone": ({"width": 360, "height": 740}, True), "desktop": ({"width": 1400, "height": 900}, False)}

# Stamps the time of each pointer release, and of each change of the reading's live region, in the page's clock.
WATCH = """() => {
  window.__up = 0; window.__shown = 0;
  document.addEventListener('pointerup', () => { window.__up = performance.now(); }, true);
  new MutationObserver(() => { window.__shown = performance.now(); })
    .observe(document.getElementById('said'), {childList: true, subtree: true, characterData: true});
}"""


def record(key, value):
    FIGURES[key] = value
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page.json").write_text(json.dumps(FIGURES, indent=2))


class DrawingPage:
    """One open drawing page, its network cut off from everything but the server (requests elsewhere are aborted
    and listed in `elsewhere`)."""

    def __init__(self, browser, url, viewport=None, touch=False):
        self.touch, self.cdp, self.elsewhere = touch, None, []
        options = {"has_touch": True, "is_mobile": True, "device_scale_factor": 2} if touch else {}
        self.page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900}, **options)
        self.page.route("**/*", lambda route: self.only_the_server(route, url))
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready]")
        self.page.evaluate(WATCH)
        self.pad = self.page.locator("#pad")

    def only_the_server(self, route, url):
        if route.request.url.startswith(url):
            return route.continue_()
        self.elsewhere.append(route.request.url)
        return route.abort()

    def text(self, selector):
        return self.page.locator(selector).inner_text().strip()

    def on_page(self, points):
        box = self.pad.bounding_box()
        scale = box["width"] / WIDTH
        return [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]

    def stroke(self, points):
        if self.touch:
            return self.touch_stroke(points)
        at = self.on_page(points)
        mouse = self.page.mouse
        mouse.move(*at[0])
        mouse.down()
        for x, y in at[1:]:
            mouse.move(x, y)
        mouse.up()

    def touch_stroke(self, points):
        """One stroke with a finger, as touch events (Playwright's touchscreen only taps)."""
        if self.cdp is None:
            self.cdp = self.page.context.new_cdp_session(self.page)
        at = [{"x": x, "y": y} for x, y in self.on_page(points)]
        self.cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
        for point in at[1:]:
            self.cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def draw(self, digit_strokes, pen=None):
        """Draw strokes, each after the reading of the one before; the reading shown at the end and the ms from
        the last release to it."""
        if pen is not None:
            self.page.eval_on_selector(
                "#pen", "(pen, width) => { pen.value = width; pen.dispatchEvent(new Event('input')); }", pen
            )
        for points in digit_strokes:
            self.page.evaluate("() => { window.__shown = 0; }")
            self.stroke(points)
            self.page.wait_for_function("() => window.__shown > window.__up", timeout=10_000)
        return self.text("#digit"), self.page.evaluate("() => window.__shown - window.__up")

    def clear(self):
        self.page.locator("#clear").click()
        self.page.wait_for_function("() => document.getElementById('digit').hidden")

    def upload(self, path):
        with self.page.expect_file_chooser() as chooser:
            self.page.locator("#upload").click()
        chooser.value.set_files(str(path))

    def screenshot(self, name):
        self.page.screenshot(path=ARTIFACTS / name, full_page=True)

    def close(self):
        assert self.elsewhere == [], f"the page asked another server: {self.elsewhere}"
        assert "Traceback" not in self.page.inner_text("body")
        self.page.close()


@pytest.fixture
def drawing_page(browser, api):
    page = DrawingPage(browser, api.url)
    yield page
    page.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_the_page_fits_the_screen_and_reads_a_digit_drawn_on_it(browser, api, screen):
    viewport, touch = SCREENS[screen]
    page = DrawingPage(browser, api.url, viewport, touch)
    faults, shown = layout_faults(page.page, CONTROLS)
    assert not faults, faults
    assert not {"#digit", "#probabilities", "#seen"} & set(shown), shown  # nothing read yet: the invitation alone
    assert page.text("#status").startswith("Draw a digit")
    page.screenshot(f"page_{screen}_empty.png")
    box = page.pad.bounding_box()
    assert box["width"] / box["height"] == pytest.approx(2, abs=0.02)  # scaled, not stretched
    digit, latency = page.draw(strokes(4))  # with a finger on the phone, the mouse on the desktop
    assert digit == "4"
    page.screenshot(f"page_{screen}_4.png")
    faults, shown = layout_faults(page.page, CONTROLS)
    assert not faults, faults
    assert set(CONTROLS) == set(shown), shown
    assert page.page.locator("#bars tr.top").count() == 3
    assert page.page.locator("#inputs img").evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    record(f"release_to_digit_ms_{screen}", latency)
    page.close()


def test_thirty_drawn_digits_are_read(drawing_page):
    styles = list(STYLES)
    results, latencies = [], []
    for i in range(30):
        digit, style = i % 10, styles[(i // 10 + i) % len(styles)]
        drawing_page.clear()
        shown, latency = drawing_page.draw(strokes(digit, style, jitter=0.01, seed=i), pen=STYLES[style][0])
        results.append({"digit": digit, "style": style, "shown": shown})
        latencies.append(latency)
        if shown != str(digit):
            drawing_page.screenshot(f"page_digit_{digit}_{style}.png")
    correct = sum(r["shown"] == str(r["digit"]) for r in results)
    record(
        "drawn_digits", {"correct": correct, "of": 30, "misread": [r for r in results if r["shown"] != str(r["digit"])]}
    )
    record("release_to_digit_ms", {"median": float(np.median(latencies)), "p95": float(np.percentile(latencies, 95))})
    assert correct >= 29


def test_a_number_is_read_digit_by_digit(drawing_page):
    for i, d in enumerate([2, 0, 2, 6]):
        for points in strokes(d, "normal"):
            drawing_page.stroke([(70 + 140 * i + (x - 280) * 0.55, 140 + (y - 140) * 0.75) for x, y in points])
    drawing_page.page.wait_for_function("() => document.getElementById('digit').innerText.trim() === '2026'")
    assert drawing_page.page.locator("#inputs img").count() == 4
    drawing_page.screenshot("page_number_2026.png")


def test_undo_removes_the_last_stroke_and_clear_empties_the_page(drawing_page):
    first, second = strokes(4)
    after_first, _ = drawing_page.draw([first])
    assert drawing_page.draw([second])[0] == "4"
    drawing_page.page.locator("#undo").click()
    drawing_page.page.wait_for_function(f"() => document.getElementById('digit').innerText.trim() === '{after_first}'")
    drawing_page.clear()
    assert drawing_page.text("#status").startswith("Draw a digit")
    for gone in ("#digit", "#probabilities", "#seen"):
        assert not drawing_page.page.locator(gone).is_visible(), gone


def test_an_upload_is_read_and_a_bad_one_is_one_line_that_keeps_the_reading(drawing_page, tmp_path, mnist_test):
    from drawings import drawing

    images, labels = mnist_test
    good = tmp_path / "photo.png"
    drawing(images[0], "photo").save(good)
    drawing_page.upload(good)
    drawing_page.page.wait_for_function(f"() => document.getElementById('digit').innerText.trim() === '{labels[0]}'")
    drawing_page.screenshot("page_upload.png")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image at all")
    drawing_page.upload(bad)
    drawing_page.page.wait_for_function("() => document.getElementById('status').innerText.startsWith('notes.png')")
    status = drawing_page.text("#status")
    assert "not a readable image" in status and "\n" not in status, status
    assert drawing_page.text("#digit") == str(labels[0])  # the reading stays
    drawing_page.screenshot("page_bad_upload.png")


def test_the_server_down_is_one_line_and_drawing_goes_on_once_it_is_back(drawing_page):
    drawing_page.page.route("**/predict*", lambda route: route.abort("connectionrefused"))
    drawing_page.page.evaluate("() => { window.__shown = 0; }")
    drawing_page.stroke(strokes(1)[0])
    drawing_page.page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    status = drawing_page.text("#status")
    assert status.startswith("The server does not answer") and "\n" not in status, status
    drawing_page.screenshot("page_server_down.png")
    drawing_page.page.unroute("**/predict*")
    drawing_page.clear()
    assert drawing_page.draw(strokes(7))[0] == "7"


def test_a_busy_server_or_proxy_page_is_one_line(drawing_page):
    """A reply that is not the API's JSON (uvicorn's 503 past its connections, a proxy's 429 or 502 page)."""
    busy = {"status": 503, "content_type": "text/plain", "body": "Service Unavailable"}
    drawing_page.page.route("**/predict*", lambda route: route.fulfill(**busy))
    drawing_page.stroke(strokes(1)[0])
    drawing_page.page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert drawing_page.text("#status") == "The server is busy or unwell (503): draw again in a moment."


# sure, not sure (a tie at the top), exactly at the threshold, and as sure as a reading is worded
READINGS = [
    [0.973, 0.027] + [0] * 8,
    [0.1, 0.4, 0.05, 0, 0, 0, 0, 0.4, 0.05, 0],
    [0.6] + [0.04] * 9,
    [0.9999] + [0] * 9,
]


@pytest.mark.parametrize("probs", READINGS)
def test_the_page_words_a_reading_as_the_cli_and_the_dashboard_do(drawing_page, probs):
    assert drawing_page.page.evaluate("probs => verdict(probs)", probs) == verdict(np.array(probs))


def test_docs_render_with_no_network_but_the_servers(browser, api):
    page = DrawingPage.__new__(DrawingPage)
    page.elsewhere, page.page = [], browser.new_page()
    page.page.route("**/*", lambda route: page.only_the_server(route, api.url))
    page.page.goto(f"{api.url}docs")
    page.page.wait_for_selector(".swagger-ui .opblock-summary-path >> text=/predict", timeout=30_000)
    page.close()
