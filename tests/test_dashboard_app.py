"""The dashboard's logic without a browser: events go straight to the app object."""

import io
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from drawings import drawing
from PIL import Image
from strokes import strokes

from digitlib.apps.dashboard import (
    HEIGHT,
    KEPT_SIDE,
    MAX_STROKE_POINTS,
    MAX_STROKES,
    PEN_RANGE,
    REST_S,
    WIDTH,
    DigitDashboard,
    dashboard,
)
from digitlib.constants import ROOT, WEIGHTS_DIR
from digitlib.data import corrections
from digitlib.models.zoo import VARIANTS

FAST_CONVS = sum(len(stage) for stage in VARIANTS["fast"].args["stages"])  # a picture of each conv layer's maps


@pytest.fixture
def app(tmp_path):
    return DigitDashboard("fast", corrections_dir=tmp_path / "corrections", saving=True)


def draw(app, digit_strokes):
    for points in digit_strokes:
        app.stroke_start(*points[0])
        app.stroke_to(points[1:])
        app.stroke_end()


def hidden(widget):
    return widget.layout.display == "none"


def test_a_new_app_invites_drawing_and_hides_the_empty_views(app):
    assert app.digit.value == "" and "Draw a digit" in app.status.value
    assert all(hidden(w) for w in (app.digit, app.probabilities, app.seen_panel, app.heat_panel, app.features_panel))


def test_each_stroke_end_updates_the_reading(app):
    draw(app, strokes(7))
    assert app.digit.value == "7" and not hidden(app.probabilities) and not hidden(app.seen_panel)
    assert app.seen.value and app.heat.value and app.features.value.count("<img") == FAST_CONVS


def test_status_and_bars_show_the_same_confidence(app):
    draw(app, strokes(7))
    shown = app.status.value.split(" sure")[0]
    assert shown.endswith("%") and f"<td>{shown}</td>" in app.bars.value


def test_undo_and_clear(app):
    draw(app, strokes(4))
    assert app.digit.value == "4"
    app.undo()
    assert len(app.strokes) == 1
    app.clear()
    assert app.strokes == [] and app.digit.value == "" and "Draw a digit" in app.status.value
    assert hidden(app.probabilities) and hidden(app.seen_panel)


def test_switching_to_a_fully_connected_model_explains_the_missing_feature_maps(app):
    draw(app, strokes(3))
    app.model.value = "fc"
    assert app.digit.value == "3" and "fully connected" in app.features.value


def upload(app, name, data):
    app.upload.value = (
        {
            "name": name,
            "type": "image/png",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.now(timezone.utc),
        },
    )


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_photo_is_read(app, mnist_test):
    images, labels = mnist_test
    upload(app, "photo.png", png_bytes(drawing(images[0], "photo")))
    assert app.digit.value == str(labels[0])


@pytest.mark.parametrize("data, message", [(b"", "empty file"), (b"GIF89a-broken", "not a readable image")])
def test_a_bad_upload_is_one_line_in_the_page_and_loses_nothing(app, data, message):
    draw(app, strokes(1))
    drawn, reading = [(w, list(points)) for w, points in app.strokes], app.digit.value
    upload(app, "bad.png", data)
    assert f"bad.png: {message}" in app.status.value and "Traceback" not in app.status.value
    assert 'class="error"' in app.status.value and app.upload.value == ()
    assert app.strokes == drawn and app.digit.value == reading == "1" and not hidden(app.probabilities)


def test_an_oversized_upload_is_refused(app, monkeypatch):
    monkeypatch.setattr("digitlib.apps.dashboard.MAX_UPLOAD", 100)
    upload(app, "big.png", png_bytes(Image.new("L", (200, 200), 255)))
    assert "over the" in app.status.value and app.picture is None


def test_a_number_is_read_digit_by_digit(app):
    for i, d in enumerate([2, 0, 2, 6]):
        draw(app, [[(70 + 140 * i + (x - 280) * 0.55, 140 + (y - 140) * 0.75) for x, y in s] for s in strokes(d)])
    assert app.digit.value == "2026" and app.crops.value.count("<img") == 4 and not hidden(app.crops_panel)
    assert app.digit.style.font_size == "90px"


def test_an_unknown_model_gives_a_message_not_a_traceback():
    assert "cannot start" in dashboard("resnet").value


def test_a_file_name_in_a_message_is_shown_as_text(app):
    upload(app, "<b>x</b>.png", b"not an image")
    assert "&lt;b&gt;x&lt;/b&gt;.png: not a readable image" in app.status.value


def test_an_unexpected_failure_is_one_line_in_the_page_and_a_traceback_in_the_server_log(app, monkeypatch, capfd):
    def broken(image):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(app.predictor, "predict_number", broken)
    draw(app, strokes(1))
    assert "Something went wrong" in app.status.value and "model exploded" not in app.status.value
    assert "dashboard callback failed" in capfd.readouterr().err


def test_an_unsure_reading_says_so(app, monkeypatch):
    flat = np.array([[0.05, 0.4, 0.05, 0.05, 0.05, 0.05, 0.05, 0.25, 0.05, 0.0]], dtype=np.float32)
    monkeypatch.setattr(app.predictor, "probs", lambda x: flat)
    draw(app, strokes(1))
    assert app.digit.value == "1" and "Not sure: 1 or 7?" in app.status.value


# --- values from the page: the browser sends them, so the app trusts none ---------------------------------


@pytest.fixture
def no_failed_callback(caplog, capfd):
    """Fails the test if a canvas callback raised: unguarded (ipywidgets logs it; in a kernel the page gets the
    traceback) or guarded (digitlib.apps.dashboard.guarded logs it to the server's stderr)."""
    yield
    assert not [r for r in caplog.get_records("call") if "Exception in callback" in r.getMessage()]
    assert "dashboard callback failed" not in capfd.readouterr().err


def page_sends(app, kind, *points, **more):
    """A message from the page's pad (digitlib.apps.pad), through ipywidgets' own handling: points in canvas pixels,
    sent as fractions of the pad's size, as the page sends them whatever size it shows the pad at."""
    content = {"kind": kind, "points": [[x / WIDTH, y / HEIGHT] for x, y in points], **more}
    app.surface._handle_custom_msg(content, [])


@pytest.fixture
def to_page(app, monkeypatch):
    """The messages the kernel sends the pad."""
    sent = []
    monkeypatch.setattr(app.surface, "send", lambda content, buffers=None: sent.append(content))
    return sent


def test_the_page_is_told_once_a_stroke_is_painted_so_that_it_stops_drawing_it(app, to_page, no_failed_callback):
    page_sends(app, "down", (10, 10))
    page_sends(app, "move", (20, 20))
    assert to_page == []  # the page draws the stroke meanwhile
    page_sends(app, "up", (30, 30), stroke=1)
    assert to_page == [{"drawn": 1}] and len(app.strokes) == 1
    for _ in range(MAX_STROKES):  # refused past the limit: told all the same, or its ink would stay on the page
        page_sends(app, "down", (100, 100))
        page_sends(app, "up", stroke=2)
    assert to_page[-1] == {"drawn": 2} and len(app.strokes) == MAX_STROKES
    page_sends(app, "up", stroke="3; alert(1)")  # only a number goes back
    assert to_page[-1] == {"drawn": 2}


def test_the_pages_ink_is_as_wide_as_the_kernels(app):
    app.pen.value = 30
    assert app.surface.pen == 30 / WIDTH
    app.pen.max = app.pen.value = 1_000_000
    assert app.surface.pen == PEN_RANGE[1] / WIDTH


def test_a_huge_pen_width_from_the_page_is_clamped(app):
    app.pen.max = app.pen.value = 1_000_000  # both are synced from the page
    draw(app, strokes(1))
    assert app.strokes[0][0] == PEN_RANGE[1] and app.digit.value == "1"


@pytest.mark.parametrize("x, y", [(float("nan"), 10), (10, float("inf")), ("ten", 10), (None, None), ([1], {})])
def test_a_point_that_is_not_a_finite_number_is_ignored(app, no_failed_callback, x, y):
    for kind in ("down", "move", "up"):
        app.surface._handle_custom_msg({"kind": kind, "points": [[x, y]]}, [])
    assert app.strokes == [] and "Something went wrong" not in app.status.value


@pytest.mark.parametrize(
    "content", [None, [], "down", {}, {"kind": "down"}, {"kind": "down", "points": "1,2"}, {"kind": 3, "points": []}]
)
def test_a_message_of_another_shape_is_ignored(app, no_failed_callback, content):
    app.surface._handle_custom_msg(content, [])
    assert app.strokes == [] and "Something went wrong" not in app.status.value


def test_a_bad_point_among_good_ones_is_dropped_alone(app, no_failed_callback):
    app.surface._handle_custom_msg({"kind": "down", "points": [[0.1, 0.1], [None, 1], [0.2, 0.2], [0.3]]}, [])
    assert app.strokes == [(app.pen.value, [(0.1 * WIDTH, 0.1 * HEIGHT), (0.2 * WIDTH, 0.2 * HEIGHT)])]


def test_points_off_the_canvas_are_clamped_to_its_edges(app, no_failed_callback):
    page_sends(app, "down", (-1e300, 1e300))
    page_sends(app, "move", (1e300, -5))
    page_sends(app, "up", (0, 0))
    assert app.strokes == [(app.pen.value, [(0, HEIGHT), (WIDTH, 0), (0, 0)])]


def test_points_per_stroke_and_strokes_per_drawing_are_capped(app, no_failed_callback):
    page_sends(app, "down", (10, 10))
    for i in range(10):
        page_sends(app, "move", *[(10 + j % 500, 10 + (i + j) % 250) for j in range(2 * MAX_STROKE_POINTS)])
    page_sends(app, "up", (0, 0))
    for _ in range(2 * MAX_STROKES):
        page_sends(app, "down", (100, 100))
        page_sends(app, "up")
    assert len(app.strokes[0][1]) == MAX_STROKE_POINTS and len(app.strokes) == MAX_STROKES
    assert "undo or clear" in app.status.value


def test_a_digit_sent_in_batches_is_read_with_every_point_kept(app, no_failed_callback):
    for points in strokes(7):
        page_sends(app, "down", *points[:2])
        page_sends(app, "move", *points[2:-1])
        page_sends(app, "up", points[-1])
    assert app.digit.value == "7"
    kept, drawn = [s for _, s in app.strokes], strokes(7)
    assert [len(s) for s in kept] == [len(s) for s in drawn] and np.allclose(np.vstack(kept), np.vstack(drawn))


def test_the_lift_ends_the_stroke_with_its_last_points_and_later_points_are_ignored(app, no_failed_callback):
    page_sends(app, "move", (5, 5))  # no stroke begun: nothing is drawn
    page_sends(app, "down", (10, 10))
    page_sends(app, "move", (20, 20))
    page_sends(app, "up", (25, 25), (30, 30))
    page_sends(app, "move", (40, 40))
    assert app.strokes == [(app.pen.value, [(10, 10), (20, 20), (25, 25), (30, 30)])]


def test_a_move_after_clear_in_mid_stroke_is_ignored(app, no_failed_callback):
    page_sends(app, "down", (10, 10))
    app.clear()
    page_sends(app, "move", (20, 20))
    page_sends(app, "up", (20, 20))
    assert app.strokes == []


def test_the_dashboard_kernel_reads_and_explains_a_drawing_without_importing_torch():
    """What notebooks/06_dashboard.ipynb runs, then a drawing read and explained, in a fresh interpreter: torch (and
    matplotlib, captum) would add hundreds of MiB to every visitor's kernel."""
    code = f"""
import sys
sys.path[:0] = [{str(ROOT / "tests" / "browser")!r}]
from digitlib.apps.dashboard import DigitDashboard, dashboard
from strokes import strokes
dashboard()
app = DigitDashboard()
for points in strokes(7):
    app.stroke_start(*points[0])
    app.stroke_to(points[1:])
    app.stroke_end()
assert app.digit.value == "7" and app.heat.value and "Layer 1" in app.features.value, app.status.value
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "matplotlib", "captum")))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_stroke_begun_before_the_explanation_runs_makes_it_stale(app):
    draw(app, strokes(7))
    pictures = app.seen.value, app.heat.value, app.features.value
    generation = app.generation
    app.stroke_start(10, 10)  # a new stroke: the explanation of reading `generation` is no longer wanted
    app.explain(generation, None)
    assert (app.seen.value, app.heat.value, app.features.value) == pictures
    app.clear()
    assert app.features.value == "" and hidden(app.features_panel)


def test_the_explanation_follows_the_reading_once_the_pen_has_rested(app):
    """In a kernel, the digit is shown at once and the pictures REST_S later."""
    import asyncio

    async def stroke_then_wait():
        draw(app, strokes(1))
        shown_first = app.digit.value, app.features.value
        await asyncio.sleep(REST_S / 2)
        halfway = app.features.value
        await asyncio.sleep(REST_S)
        return shown_first, halfway, app.features.value

    (digit, features_before), halfway, features_after = asyncio.run(stroke_then_wait())
    assert digit == "1" and features_before == halfway == "" and features_after.count("<img") == FAST_CONVS


def test_a_digit_of_several_strokes_drawn_without_rest_is_explained_once(app, monkeypatch):
    import asyncio

    occluded = []
    occlusion = app.predictor.occlusion
    monkeypatch.setattr(app.predictor, "occlusion", lambda x: occluded.append(x) or occlusion(x))

    async def strokes_then_rest():
        for points in strokes(4):  # two strokes, the second begun before the pen rested after the first
            draw(app, [points])
            await asyncio.sleep(REST_S / 3)
        await asyncio.sleep(REST_S * 2)

    asyncio.run(strokes_then_rest())
    assert len(strokes(4)) == 2 and len(occluded) == 1 and np.array_equal(occluded[0], app.reading.x)


def test_a_correction_saves_the_drawing_with_the_label_chosen_and_says_so(app):
    draw(app, strokes(7))
    assert not hidden(app.correct_box) and "Saving is on" in app.correct_box.children[-1].value
    app.correct(1)
    (sample,), _ = corrections.read(app.corrections_dir)
    assert sample.label == 1 and sample.meta["reading"] == 7 and sample.meta["model"] == "fast"
    assert len(sample.meta["strokes"]) == len(app.strokes) and "Saved as a 1" in app.status.value
    app.correct(4)  # a slip corrected: the same sample, relabelled
    (sample,), _ = corrections.read(app.corrections_dir)
    assert sample.label == 4 and "Changed" in app.status.value
    draw(app, strokes(7))  # a new stroke makes a new drawing: a new sample
    app.correct(7)
    assert len(corrections.read(app.corrections_dir)[0]) == 2 and app.digit.value


def test_a_correction_that_cannot_be_saved_is_one_line_and_keeps_the_drawing(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("where the folder should be")
    app = DigitDashboard("fast", corrections_dir=blocked / "corrections", saving=True)
    draw(app, strokes(7))
    drawn = [(w, list(points)) for w, points in app.strokes]
    app.correct(1)
    assert 'class="error"' in app.status.value and "Not a directory. The drawing is kept." in app.status.value
    assert app.strokes == drawn and app.digit.value == "7" and not hidden(app.correct_box)


def test_with_saving_switched_off_no_correction_is_offered_or_saved(tmp_path):
    app = DigitDashboard("fast", corrections_dir=tmp_path, saving=False)
    draw(app, strokes(7))
    assert hidden(app.correct_box)
    app.correct(1)
    assert list(tmp_path.iterdir()) == []


def test_saving_follows_the_servers_environment_and_is_off_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv(corrections.CORRECTIONS_ENV, "on")
    assert DigitDashboard("fast", corrections_dir=tmp_path).saving is True
    monkeypatch.delenv(corrections.CORRECTIONS_ENV)
    assert DigitDashboard("fast", corrections_dir=tmp_path).saving is False


def test_a_correction_is_offered_for_a_single_digit_only(app):
    assert hidden(app.correct_box)  # nothing read
    for i, d in enumerate([2, 0]):
        draw(app, [[(70 + 140 * i + (x - 280) * 0.55, 140 + (y - 140) * 0.75) for x, y in s] for s in strokes(d)])
    assert app.digit.value == "20" and hidden(app.correct_box)


def personal_copy_of(folder, name="fast"):
    """A personal model in folder: the shipped NAME's files under the personal name (they match one another)."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".onnx", ".safetensors", ".json"):
        (folder / f"personal{suffix}").write_bytes((WEIGHTS_DIR / f"{name}{suffix}").read_bytes())


def test_the_personal_model_is_offered_once_it_exists_and_reads(app, tmp_path):
    assert "personal" not in app.model.options
    personal_copy_of(app.corrections_dir)
    app = DigitDashboard("fast", corrections_dir=app.corrections_dir, personal=True)
    assert "personal" in app.model.options
    draw(app, strokes(3))
    app.model.value = "personal"
    assert app.predictor.name == "personal" and app.digit.value == "3" and "Layer 1" in app.features.value


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_broken_personal_model_is_one_line_and_the_other_models_still_work(app, damage):
    personal_copy_of(app.corrections_dir)
    onnx = app.corrections_dir / "personal.onnx"
    if damage == "corrupt":
        onnx.write_bytes(b"not a model")
    else:
        onnx.unlink()
    app = DigitDashboard("fast", corrections_dir=app.corrections_dir, personal=True)
    draw(app, strokes(3))
    app.model.value = "personal"
    status = app.status.value
    assert 'class="error"' in status and "Traceback" not in status and "Still reading with fast" in status
    assert f"{damage} ONNX model" in status.replace("no ONNX", "missing ONNX")
    assert "python -m digitlib export --model personal" in status
    assert str(app.corrections_dir) not in status and "personal.onnx" in status  # the file, not the server's folders
    assert app.model.value == "fast" and app.predictor.name == "fast" and app.digit.value == "3"
    app.model.value = "cnn2"
    assert app.digit.value == "3" and "Layer 2" in app.features.value


def test_a_corrections_folder_that_cannot_be_looked_into_leaves_the_shipped_models(tmp_path, monkeypatch):
    exists = Path.exists

    def refused(path, *args, **kwargs):  # what Python 3.11 does where it may not look (we run tests as root)
        if tmp_path in path.parents:
            raise PermissionError(13, "Permission denied")
        return exists(path, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", refused)
    app = DigitDashboard("fast", corrections_dir=tmp_path, personal=True)
    assert "personal" not in app.model.options and "best" in app.model.options


def test_the_personal_model_is_offered_only_where_its_owner_turned_it_on(tmp_path, monkeypatch):
    personal_copy_of(tmp_path)
    monkeypatch.delenv(corrections.PERSONAL_ENV, raising=False)
    assert "personal" not in DigitDashboard("fast", corrections_dir=tmp_path).model.options
    monkeypatch.setenv(corrections.PERSONAL_ENV, "on")
    assert "personal" in DigitDashboard("fast", corrections_dir=tmp_path).model.options


def ring(stroke):
    """A 0 of as many points as the dashboard keeps in a stroke, each one new: strokes of it lie over one another."""
    turn = np.linspace(0, 2 * np.pi, MAX_STROKE_POINTS) + stroke / 100
    return list(zip(280 + 50 * np.cos(turn), 140 + (80 + stroke / 10) * np.sin(turn)))


def test_a_flood_of_corrections_stays_within_the_rate_and_the_quota(app, monkeypatch):
    """40 strokes of 1,000 points, then quick model switches each with a digit chosen: one sample, relabelled (not
    one each of 2 MB); then new drawings saved as fast as the page allows: the rate stops them, and the quota."""
    now = [0.0]
    app.saves = corrections.RateLimit(clock=lambda: now[0])
    monkeypatch.setattr(app, "explain", lambda *_: None)  # the pictures that explain a reading: not what is saved
    with monkeypatch.context() as quick:  # read once, not after each stroke: the same drawing, 40 times sooner
        quick.setattr(app, "show", lambda: None)
        draw(app, [ring(i) for i in range(MAX_STROKES)])
    app.show()
    assert app.digit.value == "0"
    for i in range(12):
        app.model.value = ("cnn2", "fast")[i % 2]
        app.correct(i % 10)
    (sample,), _ = corrections.read(app.corrections_dir)
    assert sample.label == 1 and sample.meta["model"] == "fast" and "Changed" in app.status.value
    assert sum(len(points) for _, points in sample.meta["strokes"]) == MAX_STROKES * MAX_STROKE_POINTS
    assert corrections.usage(app.corrections_dir)[1] < corrections.MAX_PNG + corrections.MAX_JSON
    for _ in range(2 * corrections.SAVES_PER_MINUTE):
        app.clear()
        draw(app, strokes(7))
        app.correct(1)
    assert len(corrections.read(app.corrections_dir)[0]) == corrections.SAVES_PER_MINUTE
    assert "within a minute" in app.status.value and 'class="error"' in app.status.value
    monkeypatch.setenv(corrections.MAX_COUNT_ENV, str(corrections.SAVES_PER_MINUTE + 2))
    now[0] = 60.0  # a minute later: the rate allows more, the quota only two
    for _ in range(5):
        app.clear()
        draw(app, strokes(7))
        app.correct(1)
    assert len(corrections.read(app.corrections_dir)[0]) == corrections.SAVES_PER_MINUTE + 2
    assert "no more corrections are kept here" in app.status.value and app.digit.value == "7"


def test_an_upload_is_kept_bounded_and_a_page_connecting_again_does_not_convert_it_again(app, monkeypatch, mnist_test):
    images, labels = mnist_test
    big = drawing(images[0], "plain", size=2800).resize((7000, 7000), Image.Resampling.NEAREST)
    upload(app, "big.png", png_bytes(big))
    assert max(app.picture.size) == KEPT_SIDE and app.digit.value == str(labels[0])
    converted = []
    convert = Image.Image.convert
    monkeypatch.setattr(Image.Image, "convert", lambda self, *a, **k: converted.append(a) or convert(self, *a, **k))
    for _ in range(2):
        app.canvas._handle_custom_msg({"event": "client_ready"}, [])
    assert converted == []
