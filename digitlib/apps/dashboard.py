"""The drawing dashboard: draw (or upload) a digit or a number and see what the network reads, and why.

`DigitDashboard().widget` is the whole app; its state (strokes, model, current picture) lives on the object, and what
it shows is computed by digitlib.apps.dashboard_view.
The page draws a stroke as it comes and the kernel paints it on the canvas when it ends; the reading happens then,
once, from a clean rendering of the strokes kept in the kernel, so the canvas never has to send its pixels back. The
digit is shown first; the pictures that explain it follow once the pen has rested REST_S, unless a newer stroke has
made them stale: they cost several times the reading's CPU, and on a server a class shares, readings then come first.
The pointer is watched by a pad laid over the canvas (digitlib.apps.pad), not by the canvas itself (ipycanvas sends
every move, hovering included, 60 a second or more, a message each): the page sends a stroke's points in batches 250 ms
apart (digitlib.apps.pad.MOVE_MS), every point kept, which is what lets one server keep up with a classroom drawing at
once. The kernel reads with ONNX Runtime (digitlib.reading.onnx_model.OnnxPredictor) and never imports torch: a
visitor's kernel stays small. Beside a single digit read, "Wrong? It is a ..." saves the drawing with the right label
(digitlib.data.corrections) where the server's environment has DIGITLIB_CORRECTIONS=on, at most
corrections.SAVES_PER_MINUTE new drawings a minute; choosing again for the same drawing (another model's reading of
it included) relabels it. An upload is kept at most KEPT_SIDE pixels on a side, and the canvas's copy of it is made
once: a page connecting again is painted without converting the picture again.
"""

import asyncio
import functools
import html
import math
import sys
import traceback
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import traitlets
from ipycanvas import Canvas, hold_canvas

from digitlib.apps import dashboard_view as view
from digitlib.apps.access import Access
from digitlib.apps.pad import Pad
from digitlib.constants import DEFAULT_MODEL, WEIGHTS_DIR
from digitlib.data import corrections
from digitlib.errors import DigitlibError, without_paths
from digitlib.reading import strokes as ink
from digitlib.reading.images import MAX_UPLOAD, open_image
from digitlib.reading.onnx_model import OnnxPredictor, exported, onnx_path
from digitlib.reading.strokes import HEIGHT, MAX_STROKE_POINTS, MAX_STROKES, PEN, PEN_RANGE, WIDTH

# An upload is kept at most this size on a side: 40 times the network's 28 pixels, so that a digit filling a tenth
# of the picture is still 4 times larger than the 20 pixels it is shrunk to; a 7000 x 7000 photo (196 MB as RGBA)
# is kept as 5 MB.
KEPT_SIDE = 1120

# The pictures that explain a reading wait until the pen has rested this long, and a stroke begun sooner makes them
# stale: a digit of several strokes is explained once, and on a server a class shares, the pictures (several times a
# reading's CPU) do not hold up the readings of those still drawing
REST_S = 0.3

# The look, in a file of its own: the layout reflows from a phone to a wide screen
STYLE = f"<style>{(Path(__file__).parent / 'dashboard.css').read_text()}</style>"


def canvas_point(x, y):
    """A point sent by the page, as floats clamped to the canvas; None unless it is two finite numbers."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return min(max(x, 0.0), WIDTH), min(max(y, 0.0), HEIGHT)


def pad_point(point):
    """The canvas point of a point the pad sends ([x, y] as fractions of the pad's width and height, however the page
    shows it), clamped to the canvas; None unless it is two finite numbers."""
    try:
        x, y = point
        return canvas_point(float(x) * WIDTH, float(y) * HEIGHT)
    except (TypeError, ValueError):
        return None


def guarded(method):
    """Run a UI callback; show any failure as one line in the app instead of a traceback."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DigitlibError as e:
            self.say(str(e), error=True)
        except Exception:
            # to the server's log (the real stderr: in a kernel, sys.stderr goes to the page), never to the page
            print("dashboard callback failed:", traceback.format_exc(), file=sys.__stderr__, flush=True)
            self.say("Something went wrong; the drawing is kept. Try again or press Clear.", error=True)

    return run


def models(personal_dir=corrections.CORRECTIONS_DIR, personal=False):
    """{name: folder} of the models offered: the shipped ones, and where personal is true the personal model if it
    has been made (a broken one too, so that choosing it says what is wrong with it)."""
    found = {name: WEIGHTS_DIR for name in exported()}
    if not personal:
        return found
    personal = corrections.PERSONAL
    try:
        if any(p.exists() for p in (onnx_path(personal, personal_dir), Path(personal_dir) / f"{personal}.json")):
            found[personal] = Path(personal_dir)
    except OSError:  # a folder we may not look into: no personal model, and the shipped ones still work
        pass
    return found


class DigitDashboard:
    """Canvas, controls and views; `widget` is the app.

    corrections_dir: where corrections are saved and the personal model is looked for; saving: whether the
    "Wrong? It is a ..." buttons are offered (default: where DIGITLIB_CORRECTIONS=on); personal: whether the
    personal model is offered (default: where DIGITLIB_PERSONAL=on)."""

    def __init__(self, model=DEFAULT_MODEL, corrections_dir=corrections.CORRECTIONS_DIR, saving=None, personal=None):
        personal = corrections.personal_offered() if personal is None else personal
        self.folders = models(corrections_dir, personal)
        if model not in self.folders:
            raise DigitlibError(f"unknown model {model!r}; choose from {', '.join(self.folders)}")
        self.predictor = OnnxPredictor(model, self.folders[model])
        self.predictor.warm_up()  # in a server's pool of kernels, before any visitor comes
        self.corrections_dir = corrections_dir
        self.saving = corrections.enabled() if saving is None else saving
        self.generation = 0  # counts readings and strokes begun: explaining an older reading is stale work
        self.drawing = 0  # counts changes to what is read (a stroke, undo, clear, upload); not a model switch
        self.strokes = []  # [(pen width, [(x, y), ...]), ...]
        self.picture = None  # an uploaded PIL image (at most KEPT_SIDE on a side), read instead of the strokes
        self.picture_shown = None  # the RGBA pixels of it the canvas shows (at most WIDTH x HEIGHT)
        self.pen_down = False
        self.reading = None  # the Prediction of a single digit shown, which a correction saves; else None
        self.saved = None  # (drawing, sample id) of the last correction saved: a second choice relabels it
        self.saves = corrections.RateLimit()  # new samples this visitor saves
        self.build_drawing(model)
        self.build_reading()
        self.widget = self.layout()
        self.show()

    # --- the widgets, built once ---------------------------------------------------------------

    def build_drawing(self, model):
        """The canvas, the pad over it that takes the pointer, and the tools below it."""
        self.canvas = labelled(Canvas(width=WIDTH, height=HEIGHT), "digit-canvas")
        self.canvas.layout = widgets.Layout(width="100%", height="auto")  # scaled to fit; digit-canvas keeps 2:1
        self.canvas.on_client_ready(self.redraw)
        self.surface = Pad()
        self.surface.on_msg(self.pad_message)
        self.pad = labelled(widgets.Box([self.canvas, self.surface]), "digit-pad")

        self.pen = labelled(
            widgets.IntSlider(PEN, *PEN_RANGE, description="Pen", layout=widgets.Layout(width="230px")),
            "digit-pen",
        )
        self.pen.style.description_width = "32px"
        traitlets.dlink((self.pen, "value"), (self.surface, "pen"), lambda width: pen_width(width) / WIDTH)
        self.clear_button = button("Clear", "digit-clear", self.clear)
        self.undo_button = button("Undo", "digit-undo", self.undo)
        self.model = labelled(
            widgets.Dropdown(
                options=list(self.folders), value=model, description="Model", layout=widgets.Layout(width="170px")
            ),
            "digit-model",
        )
        self.model.style.description_width = "48px"
        self.model.observe(self.switch_model, "value")
        self.upload = labelled(
            widgets.FileUpload(accept="image/*", multiple=False, description="", tooltip="Upload a picture of a digit"),
            "digit-upload",
        )
        self.upload.observe(self.uploaded, "value")

    def build_reading(self):
        """The widgets that show the reading: the digit, the status line, the corrections, the bars and the views."""
        self.digit = labelled(widgets.HTML(), "digit-prediction")
        self.status = labelled(widgets.HTML(), "digit-status")
        self.correct_box = labelled(
            widgets.HBox(
                [widgets.HTML(f'<div class="digit-caption">{view.CORRECT}</div>')]
                + [button(str(d), f"digit-correct-{d}", functools.partial(self.correct, d)) for d in range(10)]
                + [
                    button(
                        view.NOT_A_DIGIT_BUTTON,
                        "digit-correct-none",
                        functools.partial(self.correct, corrections.NOT_A_DIGIT_LABEL),
                    )
                ]
                + [widgets.HTML(f'<div class="digit-caption">{view.SAVING_ON}</div>')]
            ),
            "digit-correct",
        )
        self.bars = labelled(widgets.HTML(), "digit-probabilities")
        self.seen = labelled(widgets.Image(format="png", width=140, height=140), "digit-seen")
        self.heat = labelled(widgets.Image(format="png", width=140, height=140), "digit-heat")
        self.crops = labelled(widgets.HTML(), "digit-crops")
        self.marks = labelled(widgets.HTML(), "digit-marks")
        self.features = labelled(widgets.HTML(), "digit-features")

    def layout(self):
        """The app: the drawing, the reading and the probabilities in a row, then the views; rows wrap by width."""
        tools = row([self.undo_button, self.clear_button, self.upload, self.pen, self.model], "digit-tools")
        drawing = labelled(widgets.VBox([self.pad, self.marks, tools]), "digit-drawing")
        reading = labelled(panel("The network reads", self.digit, self.status, self.correct_box), "digit-reading")
        self.probabilities = panel("Probabilities", self.bars)
        self.seen_panel = panel(*view.SEEN, self.seen)
        self.heat_panel = panel(*view.HEAT, self.heat)
        self.crops_panel = panel(*view.DIGITS, self.crops)
        self.features_panel = panel(*view.FEATURES, self.features)
        # the digit, its bars and the pictures explaining it come and go together (view.Shown): one layout, so that
        # showing or hiding them is one message to the page rather than five
        shared = self.digit.layout
        for widget in (self.probabilities, self.seen_panel, self.heat_panel, self.features_panel):
            widget.layout = shared
        app = widgets.VBox(
            [
                widgets.HTML(STYLE),
                Access(),
                row([drawing, reading, self.probabilities]),
                row([self.seen_panel, self.heat_panel, self.crops_panel]),
                self.features_panel,
            ],
        )
        app.add_class("digit-app")
        return app

    # --- drawing (every value here comes from the page: checked, clamped and capped) -------------

    @guarded
    def pad_message(self, _pad, content, _buffers):
        """A stroke's points from the pad (digitlib.apps.pad): where a pen, mouse or finger went down and the points
        after it, more points, or the last points and the lift."""
        content = content if isinstance(content, dict) else {}
        kind, points = content.get("kind"), content.get("points")
        points = [p for p in map(pad_point, points[:MAX_STROKE_POINTS] if isinstance(points, list) else []) if p]
        if kind == "down" and points:
            self.stroke_start(*points[0])
            self.stroke_to(points[1:])
        elif kind in ("move", "up"):
            self.stroke_to(points)
        if kind == "up":
            self.stroke_end()
            if isinstance(content.get("stroke"), int):  # the page stops drawing the stroke itself
                self.surface.send({"drawn": content["stroke"]})

    @guarded
    def stroke_start(self, x, y):
        point = canvas_point(x, y)
        if point is None:
            return
        if self.picture is not None:  # drawing after an upload starts a fresh drawing
            self.hold(None)
            self.redraw()
        if len(self.strokes) >= MAX_STROKES:
            self.say(f"A drawing holds {MAX_STROKES} strokes: undo or clear to draw more.", error=True)
            return
        self.generation += 1
        self.drawing += 1
        self.pen_down = True
        self.strokes.append((pen_width(self.pen.value), [point]))

    @guarded
    def stroke_to(self, points):
        """Go on with the stroke being drawn through points [(x, y), ...] (the page draws it meanwhile)."""
        if not self.pen_down:
            return
        _, stroke = self.strokes[-1]
        for point in points:
            point = canvas_point(*point)
            if len(stroke) < MAX_STROKE_POINTS and point is not None and point != stroke[-1]:
                stroke.append(point)

    @guarded
    def stroke_end(self, *_):
        if self.pen_down:
            self.pen_down = False
            with hold_canvas():
                paint(self.canvas, *self.strokes[-1])
            self.show()

    @guarded
    def redraw(self):
        """Paint the canvas from state: on page connect (earlier drawing is lost then), undo, clear, upload."""
        c = self.canvas
        with hold_canvas():
            c.clear()
            c.fill_style = "white"
            c.fill_rect(0, 0, WIDTH, HEIGHT)
            if self.picture_shown is not None:
                h, w = self.picture_shown.shape[:2]
                c.put_image_data(self.picture_shown, (WIDTH - w) // 2, (HEIGHT - h) // 2)
            for width, points in self.strokes:
                paint(c, width, points)

    def hold(self, picture):
        """Keep an upload (None: none) at most KEPT_SIDE pixels on a side, and the pixels the canvas shows of it."""
        if picture is not None:
            picture.thumbnail((KEPT_SIDE, KEPT_SIDE))
            shown = picture.convert("RGBA")
            shown.thumbnail((WIDTH, HEIGHT))
        self.picture = picture
        self.picture_shown = None if picture is None else np.asarray(shown)

    def picture_span(self):
        """Where the picture read lies on the canvas: (left edge, width) as fractions of the canvas's width."""
        if self.picture_shown is None:
            return 0.0, 1.0
        w = self.picture_shown.shape[1]
        return (WIDTH - w) // 2 / WIDTH, w / WIDTH

    def render(self):
        """The strokes as drawn, black on a transparent picture (digitlib.reading.strokes.render)."""
        return ink.render(self.strokes)

    # --- controls ------------------------------------------------------------------------------

    @guarded
    def clear(self, *_):
        self.strokes, self.pen_down = [], False
        self.hold(None)
        self.drawing += 1
        self.redraw()
        self.show()

    @guarded
    def undo(self, *_):
        if self.strokes:
            self.strokes.pop()
            self.pen_down = False
            self.drawing += 1
            self.redraw()
            self.show()

    @guarded
    def switch_model(self, change):
        """Read with the model chosen; one that cannot be loaded (a broken personal model) is one line in the
        status, and the selector goes back to the model still reading."""
        try:
            predictor = OnnxPredictor(change["new"], self.folders[change["new"]])
        except DigitlibError as e:
            self.model.value = change["old"]  # the same predictor: switch_model again changes nothing else
            self.say(f"{e}. Still reading with {change['old']}.", error=True)
            return
        self.predictor = predictor
        self.show()

    @guarded
    def correct(self, label, *_):
        """Save the drawing (or picture) read as a single digit with the label chosen; choosing again for the same
        drawing (read by another model too) relabels the sample saved. A failure (disk full, the folder's quota
        reached, too many in a minute) is one line and loses nothing."""
        if not self.saving or self.reading is None or self.pen_down:  # mid-stroke: the reading is of an older drawing
            return
        again = self.saved is not None and self.saved[0] == self.drawing
        if not again and not self.saves.allow():
            self.say(view.not_saved(view.too_many(self.saves.count)), error=True)
            return
        try:
            path = corrections.save(
                label,
                self.reading.x,
                None if again else self.picture if self.picture is not None else self.render(),
                strokes=self.strokes if self.picture is None else [],
                model=self.predictor.name,
                probs=self.reading.probs,
                folder=self.corrections_dir,
                sample_id=self.saved[1] if again else None,
                relabel=again,
            )
        except DigitlibError as e:
            self.say(view.not_saved(str(e)), error=True)
            return
        self.saved = (self.drawing, path.stem)
        self.say(view.saved(label, self.reading.digit, again))

    @guarded
    def uploaded(self, change):
        """Show and read an uploaded picture instead of the drawing; a file that is not a picture changes nothing
        but the status line, which says so."""
        if not change["new"]:
            return
        file = change["new"][0]
        content = file["content"]
        self.upload.value = ()  # the same file can be chosen again
        try:
            if len(content) > MAX_UPLOAD:  # voila.json lets messages well past this through, so the app can say so
                raise DigitlibError(
                    f"{file['name']}: {len(content) / 1e6:.1f} MB is over the {MAX_UPLOAD // 1_000_000} MB limit"
                )
            picture = open_image(bytes(content), file["name"])  # decoded fully: a broken file fails here
        except DigitlibError as e:
            self.say(view.failed(str(e)), error=True)
            return
        self.strokes, self.pen_down = [], False
        self.hold(picture)
        self.drawing += 1
        self.redraw()
        self.show()

    # --- views ---------------------------------------------------------------------------------

    def say(self, text, error=False):
        text = html.escape(without_paths(text))  # messages can quote a file name, and name no server folder
        self.status.value = f'<span class="error">{text}</span>' if error else text

    def show(self):
        """Read the current picture and show what digitlib.apps.dashboard_view makes of it."""
        drawn = self.picture is not None or bool(self.strokes)
        self.marks.value = ""  # (kept empty if the reading fails)
        digits = (
            self.predictor.predict_number(self.picture if self.picture is not None else self.render()) if drawn else []
        )
        self.reading = digits[0] if len(digits) == 1 else None
        self.display(view.shown(digits, drawn))
        self.marks.value = view.marks_html(digits, *self.picture_span())
        visible(self.correct_box, self.saving and self.reading is not None)

    def display(self, shown):
        """Copy a view.Shown into the widgets: the digit, status and bars at once, the pictures that explain it
        once the pen has rested (explain). What has nothing to show is hidden."""
        self.generation += 1
        self.digit.value = html.escape(shown.digit)
        self.digit.style.font_size = f"{shown.digit_px}px"
        self.bars.value, self.crops.value = shown.bars, shown.crops
        self.say(shown.status)
        visible(self.digit, shown.digit)  # the bars and pictures too: they share its layout
        visible(self.crops_panel, shown.crops)
        if shown.x is None:
            self.features.value = ""
        else:
            later(REST_S, self.explain, self.generation, shown.x)

    @guarded
    def explain(self, generation, x):
        """Show what the network saw for the reading numbered generation, what decided it and its feature maps;
        each step is skipped once a newer stroke or reading has begun."""
        steps = [
            (self.seen, lambda: view.seen_png(x)),
            (self.heat, lambda: view.heat_png(x, self.predictor.occlusion(x))),
            (self.features, lambda: view.features_html(self.predictor.name, self.predictor.feature_maps(x))),
        ]
        for widget, make in steps:
            if generation != self.generation:
                return
            widget.value = make()


def paint(canvas, width, points):
    """Paint a stroke through its points, smoothed: a dot where it starts, then from the middle of each two points to
    the middle of the next two, bent by the point between (quadratic curves); joined straight, a fast curve would
    show corners where the pointer's points lie apart."""
    canvas.fill_style, canvas.stroke_style, canvas.line_width, canvas.line_cap = "black", "black", width, "round"
    canvas.fill_circle(*points[0], width / 2)
    canvas.line_join = "round"
    canvas.begin_path()
    canvas.move_to(*points[0])
    for b, end in zip(points, points[1:]):
        canvas.quadratic_curve_to(*b, (b[0] + end[0]) / 2, (b[1] + end[1]) / 2)
    canvas.line_to(*points[-1])
    canvas.stroke()


def pen_width(width):
    """A pen width from the page's slider (its bounds are synced from the page too), within PEN_RANGE."""
    return min(max(width, PEN_RANGE[0]), PEN_RANGE[1])


def later(seconds, callback, *args):
    """Call callback(*args) on the kernel's event loop after `seconds` (a stroke begun meanwhile then makes it stale);
    at once where no event loop runs (tests, scripts)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return callback(*args)
    loop.call_later(seconds, callback, *args)


def visible(widget, shown):
    widget.layout.display = None if shown else "none"


def panel(title, *children):
    """A titled column: the title, an optional one-line caption (a plain string after it), then the widgets."""
    caption = [widgets.HTML(f'<div class="digit-caption">{children[0]}</div>')] if isinstance(children[0], str) else []
    widgets_ = children[1:] if caption else children
    return labelled(
        widgets.VBox([widgets.HTML(f'<div class="digit-panel-title">{title}</div>'), *caption, *widgets_]),
        "digit-panel",
    )


def row(children, *css_classes):
    """Widgets side by side, wrapping onto the next line where the page is too narrow."""
    box = labelled(widgets.HBox(children), "digit-row")
    for css_class in css_classes:
        box.add_class(css_class)
    return box


def labelled(widget, css_class):
    widget.add_class(css_class)
    return widget


def button(text, css_class, callback):
    b = labelled(widgets.Button(description=text), css_class)
    b.on_click(callback)
    return b


def dashboard(model=DEFAULT_MODEL):
    """The drawing app as one widget, for a notebook or Voila; a plain message if it cannot start."""
    try:
        return DigitDashboard(model).widget
    except DigitlibError as e:
        return widgets.HTML(f'<p class="digit-status"><b>The dashboard cannot start:</b> {e}</p>')
