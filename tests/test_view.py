"""What the dashboard shows, from predictions alone: no widgets, no browser, no shipped model."""

import numpy as np

from digitlib.reader import Prediction
from digitlib.view import FEATURES_SHOWN, INVITE, NOT_FOUND, features_html, heat_png, seen_png, shown


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


def test_nothing_drawn_invites_drawing_and_nothing_found_says_so():
    assert shown([], drawn=False).status == INVITE
    empty = shown([], drawn=True)
    assert empty.status == NOT_FOUND and empty.digit == empty.number == empty.crops == "" and empty.x is None


def test_a_sure_digit_shows_its_confidence_in_the_status_and_the_bars():
    s = shown([reading(7, 0.973)], drawn=True)
    assert s.digit == s.number == "7" and s.status == "97.3% sure" and "<td>97.3%</td>" in s.bars and s.crops == ""


def test_an_unsure_digit_names_the_two_best():
    s = shown([reading(1, 0.45, second=7)], drawn=True)
    assert s.digit == "1" and s.status == "Not sure: 1 or 7?"


def test_a_number_shows_each_digit_and_explains_the_one_with_most_ink():
    digits = [reading(2, 0.99), reading(0, 0.99, ink=0.5), reading(2, 0.99), reading(6, 0.98, ink=3.0)]
    s = shown(digits, drawn=True)
    assert s.digit == "" and s.number == "2026" and s.crops.count("<img") == 4
    assert "the one with the most ink, read as 6" in s.status and s.x is digits[3].x


def test_feature_maps_show_the_most_active_channels_of_each_conv_layer():
    rng = np.random.default_rng(0)
    html = features_html("tiny", [rng.random((16, 28, 28), np.float32), rng.random((4, 14, 14), np.float32)])
    assert html.count("<img") == 2 and f"16 channels, 28x28 (the {FEATURES_SHOWN} most active)" in html
    assert "4 channels, 14x14</div>" in html
    assert "fully connected" in features_html("mlp", []) and features_html("mlp", None) == ""


def test_the_pictures_are_pngs_and_a_blank_without_an_input():
    x, heat = reading(1, 0.9).x, np.linspace(0, 1, 28 * 28).reshape(28, 28)
    for picture in (seen_png(x), heat_png(x, heat), seen_png(None), heat_png(None, None)):
        assert picture.startswith(b"\x89PNG")
    assert heat_png(x, heat) != seen_png(x) and heat_png(None, None) == seen_png(None)
