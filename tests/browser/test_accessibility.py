"""Both pages, the API's drawing page and the Voila dashboard, for everyone: axe-core (through
axe-playwright-python) finds no serious or critical violation (labels, contrast at WCAG AA, roles), before and
after drawing, on a desktop and a phone; Upload and Clear are reached and used from the keyboard; the reading is
in an aria-live region."""

import pytest
from strokes import strokes
from test_dashboard import App, open_app
from test_page import SCREENS, DrawingPage

SERIOUS = {"serious", "critical"}
TABS = 40  # more than either page has controls


def serious_violations(page):
    """axe-core's serious and critical violations on the page as it is: ["rule: target, ...", ...]."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'])}"
        for v in violations
        if v["impact"] in SERIOUS
    ]


def tab_order(page, describe):
    """What `describe` (a JavaScript function of document.activeElement) says of each control Tab reaches."""
    page.locator("body").focus()
    reached = []
    for _ in range(TABS):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(describe))
    return reached


@pytest.mark.parametrize("screen", SCREENS)
def test_the_drawing_page_has_no_serious_violation_before_and_after_drawing(browser, api, screen):
    viewport, touch = SCREENS[screen]
    page = DrawingPage(browser, api.url, viewport, touch)
    assert serious_violations(page.page) == []
    assert page.draw(strokes(3))[0] == "3"
    assert serious_violations(page.page) == []
    assert page.page.locator("#status").evaluate("s => s.closest('[aria-live]') !== null")
    page.close()


def test_the_drawing_page_uploads_and_clears_from_the_keyboard(browser, api):
    drawing_page = DrawingPage(browser, api.url)
    assert drawing_page.draw(strokes(7))[0] == "7"
    reached = tab_order(drawing_page.page, "() => document.activeElement.id")
    assert {"pen", "undo", "clear", "upload"} <= set(reached), reached
    while drawing_page.page.evaluate("() => document.activeElement.id") != "clear":
        drawing_page.page.keyboard.press("Tab")
    drawing_page.page.keyboard.press("Enter")
    drawing_page.page.wait_for_function("() => document.getElementById('digit').hidden")
    # Chromium turns the interception of file choosers on as the wait begins: not yet for a key pressed at once
    with drawing_page.page.expect_file_chooser():
        drawing_page.page.keyboard.press("Tab")
        assert drawing_page.page.evaluate("() => document.activeElement.id") == "upload"
        drawing_page.page.keyboard.press("Enter")
    drawing_page.close()


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_the_dashboard_has_no_serious_violation_before_and_after_drawing(browser, voila, screen):
    viewport, touch = SCREENS[screen]
    page = open_app(browser, voila.url, viewport=viewport, has_touch=touch, is_mobile=touch)
    app = App(page, touch=touch)
    app.wait_for_first_paint()
    assert serious_violations(page) == []
    assert app.draw(strokes(3))[0] == "3"
    assert serious_violations(page) == []
    assert page.locator(".digit-status").evaluate("s => s.closest('[aria-live]') !== null")
    page.close()


def test_the_dashboard_uploads_and_clears_from_the_keyboard(browser, voila):
    page = open_app(browser, voila.url)
    reached = tab_order(page, "() => document.activeElement.closest('.digit-upload, .digit-clear')?.className ?? ''")
    assert any("digit-clear" in r for r in reached) and any("digit-upload" in r for r in reached), reached
    page.close()
