"""Strokes as the dashboard's canvas takes them, and the picture they make: shared by the dashboard, the
corrections saved from it and the demo hand, so that all three are read from the same kind of picture."""

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 560, 280  # the canvas: room for a number such as 2026; one digit can go anywhere
PEN_RANGE = (4, 40)  # the pen widths offered, and allowed whatever the page sends
PEN = 18  # the default pen width
MAX_STROKE_POINTS = 1000  # the pad sends a point per 2 screen pixels: a stroke 2000 px long; points past it dropped
MAX_STROKES = 40  # strokes in one drawing; a number such as 2026 takes about 8


def render(strokes, size=(WIDTH, HEIGHT)):
    """Strokes [(pen width, [(x, y), ...]), ...] in canvas pixels, black on a transparent picture ("LA"): the ink
    is its opacity, so preprocessing reads it as it is (no paper to tell from the ink)."""
    image = Image.new("LA", size, (0, 0))
    draw = ImageDraw.Draw(image)
    for width, points in strokes:
        points = [tuple(p) for p in points]
        if len(points) > 1:
            draw.line(points, fill=(0, 255), width=round(width), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=(0, 255))
    return image
