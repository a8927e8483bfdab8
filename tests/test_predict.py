import numpy as np
from drawings import drawing
from PIL import Image

from digitlib.predict import Predictor


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


def test_a_blank_picture_is_no_number():
    assert Predictor("best").predict_number(Image.new("L", (400, 200), 255)) == []


def test_predictions_carry_probabilities_that_sum_to_one(mnist_test):
    p = Predictor("fast").predict(drawing(mnist_test[0][0]))
    assert p.probs.shape == (10,) and abs(p.probs.sum() - 1) < 1e-5 and p.digit == p.probs.argmax()
