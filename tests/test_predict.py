import numpy as np
import pytest
from drawings import drawing, wavy_line
from PIL import Image

from digitlib.data import synth
from digitlib.errors import DigitlibError
from digitlib.models.predictor import Predictor
from digitlib.reading import preprocess, reader, sequence
from digitlib.reading.onnx_model import OnnxPredictor
from digitlib.reading.preprocess import (
    MAX_DIGITS,
    STROKE,
    WIDE_DIGIT,
    around,
    find_ink,
    ink_box,
    join_fragments,
    number_parts,
    split_digits,
    strip_ink,
)
from digitlib.reading.reader import SURE_OF_THE_SPLIT, SURE_ONE_DIGIT
from digitlib.reading.rows import read


def write_number(digits, style="plain"):
    """Digits drawn side by side on one wide canvas, with uneven gaps and heights, as a person writes a number."""
    parts = [np.asarray(drawing(d, style, size=200).convert("L")) for d in digits]
    canvas = np.full((260, 200 * len(parts) + 40), 255, np.uint8)
    for i, part in enumerate(parts):
        top, left = 10 + 25 * (i % 3), 20 + i * 185  # the 28x28 digits have margins; 185 keeps them apart
        canvas[top : top + 200, left : left + 200] = np.minimum(canvas[top : top + 200, left : left + 200], part)
    return Image.fromarray(canvas)


def test_a_written_number_is_split_and_read_left_to_right(mnist_test):
    images, labels = mnist_test
    predictor = Predictor("best")
    rng = np.random.default_rng(0)
    for trial in range(10):
        idx = rng.choice(len(labels), size=4, replace=False)
        read = predictor.predict_number(write_number(images[idx]))
        assert [p.digit for p in read] == [predictor.predict(drawing(images[i])).digit for i in idx]
        assert all(p.x.shape == (1, 28, 28) for p in read)


def test_a_single_digit_reads_as_a_one_digit_number(mnist_test):
    images, labels = mnist_test
    read = Predictor("best").predict_number(drawing(images[0]))
    assert [p.digit for p in read] == [labels[0]]


def test_the_sequence_readers_second_opinion_reads_digits_of_a_number_the_model_alone_misreads(monkeypatch):
    """Numbers of MNIST test digits written apart (seed 63): the model alone reads 6630 as 0630, 04 as 09, 66 as 46
    and 830 as 930; with the sequence reader's probabilities weighed in, they read right. A picture of one digit reads
    as the model reads it."""
    made = synth.numbers(61, seed=63, mnist=synth.mnist_digits("test"), touching=False, sources=("mnist",))
    pictures = [made[i] for i in (7, 46, 55, 60)]
    predictor = Predictor("best")

    def numbers():
        return ["".join(str(p.digit) for p in predictor.predict_number(image)) for image, _ in pictures]

    assert numbers() == ["6630", "04", "66", "830"] == [number for _, number in pictures]
    monkeypatch.setattr(reader, "SECOND_OPINION", 0)
    assert numbers() == ["0630", "09", "46", "930"]


def test_a_single_digit_reads_through_number_as_through_predict():
    """The second opinion is for a digit among others: alone, a digit reads as the model reads it (an 8 the model
    takes for a 4 at 58%, which the sequence reader reads as an 8, stays a 4 as `predict` reads it)."""
    image, label = synth.numbers(4, seed=5, mnist=synth.mnist_digits("test"), digits=(1, 1), sources=("mnist",))[3]
    predictor = Predictor("best")
    assert label == "8" and str(predictor.predict(image).digit) == "4"
    [digit] = predictor.predict_number(image)
    assert digit.digit == 4 and np.allclose(digit.probs, predictor.predict(image).probs, atol=0.02)


def test_a_wide_digit_the_sequence_reader_splits_is_one_digit_where_the_model_is_sure():
    """Single digits in handwriting fonts no network trains on: the sequence reader alone splits a wide 2 into "71"
    or "72"; the model, sure of one digit, reads each of them as the 2 it is."""
    if not synth.fonts(synth.HELD_OUT_DIGIT_FONTS):
        pytest.skip(f"no held-out font installed (apt-get install {' '.join(synth.HELD_OUT_FONT_PACKAGES)})")
    singles = synth.numbers(300, seed=5, digits=(1, 1), sources=("held-out fonts",))
    split = [(image, label) for image, label in singles if len(number_parts(image)) > 1]
    assert len(split) >= 3, f"{len(split)} of 300 split by the sequence reader: too few to test"
    predictor = Predictor("best")
    assert [[str(p.digit) for p in predictor.predict_number(image)] for image, _ in split] == [[d] for _, d in split]


def test_the_model_makes_one_digit_only_of_a_split_piece_narrow_enough_for_one():
    numbers = synth.numbers(40, seed=3, digits=(2, 2), touching=True, sources=("templates",))
    checked = set()
    for image, _ in numbers:
        if [p.probs is None for p in number_parts(image)] != [False, False]:
            continue  # not one piece the sequence reader split in two
        top, bottom, left, right = ink_box(find_ink(image)[1])
        narrow = right - left <= WIDE_DIGIT * (bottom - top)
        assert len(number_parts(image, one_symbol=lambda x, parts, width: True)) == (1 if narrow else 2)
        assert len(number_parts(image, one_symbol=lambda x, parts, width: False)) == 2
        checked.add(narrow)
    assert checked == {True, False}, f"only pieces with narrow={checked} among the 40 numbers"


def test_a_split_the_sequence_reader_is_sure_of_stays_split_where_the_model_sees_one_digit():
    """Two narrow digits that touch, such as a 1 and an 8, can make one shape the model is 99.5% sure of (an 8); where
    the sequence reader is SURE_OF_THE_SPLIT sure of each digit it read, the number keeps both."""
    predictor, kept = Predictor("best"), []
    for image, _ in synth.numbers(300, seed=503, mnist=synth.mnist_digits("test"), digits=(2, 2), touching=True):
        split = number_parts(image, one_symbol=lambda x, parts, width: False)
        if len(split) != 2 or any(p.probs is None or p.probs.max() < SURE_OF_THE_SPLIT for p in split):
            continue
        whole = number_parts(image, one_symbol=lambda x, parts, width: True)
        if len(whole) > 1:
            continue  # too wide for one digit: the rule is not asked
        x = whole[0].x[None]
        if predictor.probs(x)[0].max() >= SURE_ONE_DIGIT and not predictor.rejects(x):
            kept.append(len(predictor.predict_number(image)))
    assert len(kept) >= 3, f"only {len(kept)} pieces the model alone is sure are one digit"
    assert kept == [2] * len(kept)


def test_a_fragment_of_a_digit_joins_its_piece_instead_of_reading_as_a_digit_of_its_own():
    """MNIST digits written as numbers sometimes leave a stroke apart (a 5's bar); read alone, the model made it a
    digit: 26405 read as 264052, 28527 as 28227."""
    predictor, read = Predictor("best"), []
    for image, number in synth.numbers(100, seed=62, mnist=synth.mnist_digits("test"), sources=("mnist",)):
        ink, mask, _ = around(*find_ink(image))
        top, bottom, _, _ = ink_box(mask)
        pieces = split_digits(mask)
        if len(join_fragments(ink, pieces, bottom - top)) < len(pieces):
            read.append((number, "".join(str(p.digit) for p in predictor.predict_number(image))))
    assert len(read) >= 2, f"only {len(read)} numbers with a fragment"
    assert [got for _, got in read] == [number for number, _ in read]


def test_a_stroke_joins_its_piece_even_where_the_sequence_reader_reads_a_digit_in_it(monkeypatch):
    """A 5's bar written apart, blown up to a strip's height, reads as a digit to the sequence reader too: lower than
    STROKE times the number's height, it joins its piece all the same (5179 read as 52179 without)."""
    predictor, low = Predictor("best"), []
    for image, number in synth.numbers(
        100, seed=62, mnist=synth.mnist_digits("test"), touching=False, sources=("mnist",)
    ):
        ink, mask, _ = around(*find_ink(image))
        top, bottom, _, _ = ink_box(mask)
        for piece in split_digits(mask):
            piece_top, piece_bottom, _, _ = ink_box(piece)
            if piece_bottom - piece_top < STROKE * (bottom - top) and sequence.read_strip(strip_ink(ink, piece)):
                low.append((image, number))
                break
    assert len(low) >= 2, f"only {len(low)} numbers with a low stroke the sequence reader reads"

    def numbers():
        return ["".join(str(p.digit) for p in predictor.predict_number(image)) for image, _ in low]

    assert numbers() == [number for _, number in low]
    monkeypatch.setattr(preprocess, "STROKE", 0)
    assert [len(got) for got in numbers()] == [len(number) + 1 for _, number in low]


def test_two_touching_digits_the_model_takes_for_one_stay_two_where_it_reads_each_part_as_the_sequence_reader():
    """An 8 and a 7 that touch can make one shape the model is 99.5% sure is an 8; before the parts were asked, every
    such pair read as one digit."""
    predictor = Predictor("best")
    pairs = []
    for image, number in synth.numbers(100, seed=3, mnist=synth.mnist_digits("test"), digits=(2, 2), touching=True):
        split = number_parts(image, one_symbol=lambda x, parts, width: False)
        whole = number_parts(image, one_symbol=lambda x, parts, width: True)
        if len(split) == 2 and all(p.probs is not None for p in split) and len(whole) == 1:
            if predictor.probs(whole[0].x[None])[0].max() >= SURE_ONE_DIGIT and not predictor.rejects(whole[0].x[None]):
                pairs.append((number, "".join(str(p.digit) for p in predictor.predict_number(image))))
    assert len(pairs) >= 5, f"only {len(pairs)} pairs the model alone is sure are one digit"
    assert sum(number == read for number, read in pairs) >= len(pairs) / 2, pairs


def test_a_blank_picture_is_no_number():
    assert Predictor("best").predict_number(Image.new("L", (400, 200), 255)) == []


def test_predictions_carry_probabilities_that_sum_to_one(mnist_test):
    p = Predictor("fast").predict(drawing(mnist_test[0][0]))
    assert p.probs.shape == (10,) and abs(p.probs.sum() - 1) < 1e-5 and p.digit == p.probs.argmax()


@pytest.fixture
def counted(monkeypatch):
    """The ONNX reader the HTTP API uses, and a list that gets the number of inputs of each of its reads."""
    reader, sizes = OnnxPredictor("best"), []
    probs = reader.probs
    monkeypatch.setattr(reader, "probs", lambda x: sizes.append(len(x)) or probs(x))
    return reader, sizes


def side_by_side(images):
    """MNIST digits drawn small, each on a canvas of its own, the canvases side by side: a number written apart."""
    return Image.fromarray(np.hstack([np.asarray(drawing(image, size=56)) for image in images]))


def test_a_scribble_too_wide_for_max_digits_is_refused_before_any_is_read(counted, monkeypatch):
    reader, sizes = counted
    monkeypatch.setattr(sequence, "read_strip", lambda *a: pytest.fail("the sequence reader was run"))
    with pytest.raises(DigitlibError, match=f"holds over {MAX_DIGITS} digits; a number is read up to {MAX_DIGITS}"):
        read(reader, wavy_line(), "wavy.png", number=True)
    assert sizes == []


def test_a_number_of_max_digits_is_read_and_one_more_is_refused_unread(mnist_test, counted):
    images, labels = mnist_test
    reader, sizes = counted
    number = read(reader, side_by_side(images[:MAX_DIGITS]), "long.png", number=True)["number"]
    assert number == "".join(map(str, labels[:MAX_DIGITS]))
    sizes.clear()
    with pytest.raises(DigitlibError, match=f"holds {MAX_DIGITS + 1} digits"):
        read(reader, side_by_side(images[: MAX_DIGITS + 1]), "longer.png", number=True)
    assert sizes == []


def test_reading_a_number_stops_with_an_error_at_its_deadline(counted):
    reader, sizes = counted
    with pytest.raises(DigitlibError, match="reading it as a number took over 0 s and was stopped"):
        number_parts(wavy_line(size=(120, 40)), seconds=0)
    assert sizes == []
