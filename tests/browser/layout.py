"""Whether a page's controls fit its screen: none off screen, none over another."""


def layout_faults(page, controls):
    """Controls (CSS selectors) that stick out of the page's width or overlap another control, from their boxes on
    the page; and whether the page scrolls sideways."""
    width = page.viewport_size["width"]
    boxes = {}
    for selector in controls:
        element = page.locator(selector)
        if element.is_visible():
            boxes[selector] = element.bounding_box()
    faults = [f"{s} outside 0..{width}: {b}" for s, b in boxes.items() if b["x"] < 0 or b["x"] + b["width"] > width]
    items = list(boxes.items())
    for i, (s1, a) in enumerate(items):
        for s2, b in items[i + 1 :]:
            if (
                a["x"] < b["x"] + b["width"]
                and b["x"] < a["x"] + a["width"]
                and a["y"] < b["y"] + b["height"]
                and b["y"] < a["y"] + a["height"]
            ):
                faults.append(f"{s1} {a} overlaps {s2} {b}")
    if page.evaluate("() => document.documentElement.scrollWidth") > width:
        faults.append("the page scrolls sideways")
    return faults, sorted(boxes)
