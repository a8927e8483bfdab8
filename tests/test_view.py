"""What the dashboard shows, from predictions alone: no widgets, no browser, no shipped model."""

import numpy as np

from digitlib.apps.dashboard_view import (
    FEATURES_SHOWN,
    INVITE,
    NOT_FOUND,
    READING_PX,
    failed,
    features_html,
    heat_png,
    marks_html,
    seen_png,
    shown,
)
from digitlib.reading.reader import Prediction


def reading(digit, top, ink=1.0, second=None):
    """A Prediction of digit with top probability `top` (half the rest on `second`) and `ink` on its input."""
    probs = np.full(10, (1 - top) / 9)
    if second is not None:
        probs[:] = (1 - top) / 18
        probs[second] = (1 - top) / 2
    probs[digit] = top
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10:18, 12:16] = ink
    return Prediction(digit, probs, x)


def test_nothing_drawn_invites_drawing_with_no_empty_bars_or_pictures():
    empty = shown([], drawn=False)
    assert empty.status == INVITE and empty.digit == empty.bars == empty.crops == "" and empty.x is None
    not_found = shown([], drawn=True)
    assert not_found.status == NOT_FOUND and not_found.digit == not_found.bars == "" and not_found.x is None


def test_a_picture_that_cannot_be_read_says_so_and_that_the_canvas_is_kept():
    status = failed("notes.txt: not a readable image")
    assert status.startswith("notes.txt: not a readable image. ") and "kept" in status and "upload another" in status


def test_a_sure_digit_shows_its_confidence_in_the_status_and_the_bars():
    s = shown([reading(7, 0.973)], drawn=True)
    assert s.digit == "7" and s.status == "97.3% sure" and "<td>97.3%</td>" in s.bars and s.crops == ""
    assert s.digit_px == READING_PX


def test_an_unsure_digit_names_the_two_best():
    s = shown([reading(1, 0.45, second=7)], drawn=True)
    assert s.digit == "1" and s.status == "Not sure: 1 or 7?"


def test_a_number_is_shown_whole_in_the_reading_and_explains_the_digit_with_most_ink():
    digits = [reading(2, 0.99), reading(0, 0.99, ink=0.5), reading(2, 0.99), reading(6, 0.98, ink=3.0)]
    s = shown(digits, drawn=True)
    assert s.digit == "2026" and s.crops.count("<img") == 4 and s.x is digits[3].x
    assert s.status == "4 digits. The bars and pictures explain the 6 (98.0% sure)."
    assert "For the 6, the digit with the most ink" in s.bars


def test_a_long_number_gets_a_smaller_reading_that_still_fits_a_phone():
    sizes = [shown([reading(1, 0.99)] * n, drawn=True).digit_px for n in (1, 2, 3, 4, 8, 40)]
    assert sizes[:3] == [READING_PX] * 3 and sizes == sorted(sizes, reverse=True) and sizes[-1] >= 32
    assert all(0.6 * px * n <= 330 for px, n in zip(sizes[:5], (1, 2, 3, 4, 8)))  # 0.6 em a digit, a 360 px phone


def test_feature_maps_show_the_most_active_channels_of_each_conv_layer():
    rng = np.random.default_rng(0)
    html = features_html("tiny", [rng.random((16, 28, 28), np.float32), rng.random((4, 14, 14), np.float32)])
    assert html.count("<img") == 2 and f"Layer 1: 16 filters, each a 28 × 28 picture ({FEATURES_SHOWN} shown)" in html
    assert "Layer 2: 4 filters, each a 14 × 14 picture</div>" in html
    assert "fully connected" in features_html("mlp", []) and features_html("mlp", None) == ""


def test_the_pictures_are_pngs():
    x, heat = reading(1, 0.9).x, np.linspace(0, 1, 28 * 28).reshape(28, 28)
    for picture in (seen_png(x), heat_png(x, heat)):
        assert picture.startswith(b"\x89PNG")
    assert heat_png(x, heat) != seen_png(x)


def test_a_number_gets_a_mark_under_the_drawing_where_each_digit_was_read():
    digits = [reading(2, 0.9), reading(7, 0.8)]
    digits[0].centre, digits[1].centre = 0.25, 0.5
    marks = marks_html(digits, left=0.1, span=0.8)  # the picture read fills 80% of the canvas, from 10%
    assert 'left:30.0%">2</span>' in marks and 'left:50.0%">7</span>' in marks
    digits[1].digit = None
    assert 'left:50.0%">?</span>' in marks_html(digits)
    assert marks_html(digits[:1]) == marks_html([]) == ""
