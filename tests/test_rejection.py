"""A reader says "not a digit" for letters, symbols, doodles, scribbles and paper without ink
(digitlib.reading.rejection), the same way with every model and in every face (the rows of the CLI and the API), and
still reads real digits and shapes that are digits to a reader (O, l, S, a slashed 0...).

The pictures are drawn by digitlib.data.negatives with seeds that neither the rejector's training nor its validation
used.
"""

import io
import json

import numpy as np
import pytest
from odd_files import encode
from PIL import Image

from digitlib.apps.cli import main, plain
from digitlib.data import negatives, synth
from digitlib.data.mnist import load_mnist
from digitlib.models.predictor import Predictor
from digitlib.reading.onnx_model import OnnxPredictor
from digitlib.reading.rejection import NO_DIGIT, NOT_A_DIGIT, rejector
from digitlib.reading.rows import read

SEED = 4000
CONDITIONS = ("clean pen", "marker", "pressure", "chalk", "tiny", "grey ruled")


@pytest.fixture(scope="module")
def reader():
    return OnnxPredictor("best")


def letter_a(condition="clean pen", seed=SEED):
    """A capital A from the stroke templates, drawn in a condition of digitlib.data.synth."""
    rng = np.random.default_rng(seed)
    return synth.CONDITIONS[condition](negatives.strokes_shape(negatives.LETTERS["A"], rng), rng)


@pytest.mark.parametrize("kind", negatives.KINDS)
def test_each_kind_of_non_digit_is_mostly_rejected(kind, reader):
    if kind == "font letters" and not synth.fonts():
        pytest.skip("no handwriting font installed (make fonts)")
    pictures = negatives.pictures(kind, 40, seed=SEED, conditions=CONDITIONS)
    readings = [reader.predict(image) for image, _, _ in pictures]
    kept = [(what, condition, p.digit) for (_, what, condition), p in zip(pictures, readings) if p.digit is not None]
    assert len(kept) <= 6, f"{kind}: read as digits: {kept}"  # 85%: the benchmark measures 94% or more on 200
    assert all(p.reason in (NOT_A_DIGIT, NO_DIGIT) for p in readings if p.digit is None)


def test_letters_in_fonts_never_trained_on_are_mostly_rejected(reader):
    if not negatives.installed(negatives.HELD_OUT_FONT_FILES):
        pytest.skip(f"no held-out font installed (apt-get install {' '.join(negatives.HELD_OUT_FONT_PACKAGES)})")
    pictures = negatives.pictures("held-out font letters", 30, seed=SEED, conditions=CONDITIONS)
    kept = [what for (image, what, _) in pictures if reader.predict(image).digit is not None]
    assert len(kept) <= 6, f"read as digits: {kept}"


def test_shapes_that_are_digits_to_a_reader_are_read_as_those_digits(reader):
    wrong = [(name, digit, reader.predict(image)) for image, digit, name in negatives.digit_like(30, seed=SEED)]
    wrong = [(name, digit, p.digit, p.reason) for name, digit, p in wrong if p.digit != digit]
    assert len(wrong) <= 1, wrong


def test_at_most_0_3_percent_of_mnist_test_digits_are_rejected():
    x = load_mnist("test")[0].numpy()
    assert rejector().rejects(x).mean() <= 0.003


def test_a_letter_reads_as_not_a_digit_with_its_probabilities_in_every_reader():
    image = letter_a()
    for reader in (OnnxPredictor("best"), Predictor("best"), OnnxPredictor("fc"), Predictor("small")):
        p = reader.predict(image)
        assert (p.digit, p.reason) == (None, NOT_A_DIGIT) and p.probs.shape == (10,), reader.name


def test_a_rejected_row_has_no_digit_the_probabilities_and_the_reason(reader):
    row = read(reader, letter_a(), "a.png")
    assert row["digit"] is None and row["reason"] == NOT_A_DIGIT and row["error"] is None
    assert len(row["probabilities"]) == 10 and sum(row["probabilities"]) == pytest.approx(1, abs=1e-4)
    top = int(np.argmax(row["probabilities"]))
    assert plain(row).startswith(f"a.png: not a digit (closest: {top}, ")


def test_rows_say_no_digit_for_a_blank_picture_and_no_reason_for_a_digit(reader, mnist_test):
    blank = read(reader, Image.new("L", (280, 280), 255), "blank.png")
    assert (blank["digit"], blank["probabilities"], blank["reason"]) == (None, None, NO_DIGIT)
    assert plain(blank) == "blank.png: no digit"
    seven = read(reader, Image.fromarray(255 - mnist_test[0][0]).resize((280, 280)), "7.png")
    assert (seven["digit"], seven["reason"]) == (7, None)


def test_a_number_with_a_piece_that_is_not_a_digit_has_no_number(reader):
    rng = np.random.default_rng(SEED)
    shapes = [
        synth.template_shape(7, rng),
        negatives.strokes_shape(negatives.LETTERS["A"], rng),
        synth.template_shape(2, rng),
    ]
    row = read(reader, synth.written_number(shapes, rng), "7a2.png", number=True)
    assert row["number"] is None and row["reason"] == NOT_A_DIGIT
    assert [d["digit"] for d in row["digits"]] == [7, None, 2]
    assert [d["reason"] for d in row["digits"]] == [None, NOT_A_DIGIT, None]
    assert plain(row).startswith("7a2.png: not a digit (7 ")


def test_a_letter_that_touches_the_digits_of_a_number_makes_it_no_number(reader):
    """The sequence reader reads a letter among touching digits as a symbol that is no digit (before it learnt that
    class, 5 of these 20 read as no number; benchmarks/written_numbers.py counts 100 each way)."""
    rng = np.random.default_rng(SEED)
    no_number = 0
    for _ in range(20):
        image = negatives.number_with_letter(rng, touching=True, sources=("templates", "fonts"))
        row = read(reader, image, "4a2.png", number=True)
        no_number += row["number"] is None
    assert no_number >= 15, f"only {no_number} of 20 numbers with a letter read as no number"


def test_predict_prints_not_a_digit_and_its_json_row(tmp_path, capsys):
    path = tmp_path / "a.png"
    path.write_bytes(encode(letter_a(), "PNG"))
    assert main(["predict", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: not a digit (closest: ")
    main(["predict", "--json", str(path)])
    row = json.loads(capsys.readouterr().out)
    assert set(row) == {"file", "digit", "probabilities", "reason", "error"}
    assert row["digit"] is None and row["reason"] == NOT_A_DIGIT and len(row["probabilities"]) == 10


def test_the_api_answers_the_same_row(tmp_path):
    from test_api import call

    from digitlib.apps import api

    app = api.create_app(api.Settings(threads=1))
    data = io.BytesIO()
    letter_a().save(data, "PNG")
    reply = call(app, "POST", "/predict", content=data.getvalue())
    assert reply.status_code == 200
    assert reply.json() == {**read(OnnxPredictor("best"), data.getvalue(), "image"), "model": "best"}
    assert reply.json()["reason"] == NOT_A_DIGIT


def letter_strokes(name="A", size=200, centre=(280, 140)):
    """Canvas-pixel strokes of a letter from digitlib.data.negatives' templates, as a mouse draws it."""
    return [
        [(centre[0] + (x - 0.5) * size, centre[1] + (y - 0.5) * size) for x, y in s] for s in negatives.LETTERS[name]
    ]


def test_the_dashboard_says_a_letter_does_not_look_like_a_digit_and_saves_it_as_not_a_digit(tmp_path):
    from test_dashboard_app import draw, hidden

    from digitlib.apps.dashboard import DigitDashboard
    from digitlib.data import corrections

    app = DigitDashboard("fast", corrections_dir=tmp_path / "corrections", saving=True)
    draw(app, letter_strokes("A"))
    assert app.digit.value == "?" and "look like a digit" in app.status.value and "closest: " in app.status.value
    assert 'class="digit-bars greyed"' in app.bars.value and not hidden(app.correct_box)
    app.correct(corrections.NOT_A_DIGIT_LABEL)
    (sample,), _ = corrections.read(app.corrections_dir)
    assert sample.label == corrections.NOT_A_DIGIT_LABEL and "Saved as not a digit" in app.status.value
    assert corrections.counts([sample]) == [0] * 10 and corrections.not_digits([sample]) == 1


def test_a_not_a_digit_correction_is_exported_and_imported_and_label_11_is_refused(tmp_path):
    from digitlib.data import corrections

    x = np.zeros((1, 28, 28), np.float32)
    corrections.save(corrections.NOT_A_DIGIT_LABEL, x, letter_a(), folder=tmp_path / "a")
    corrections.export(tmp_path / "a.zip", tmp_path / "a")
    corrections.import_archive(tmp_path / "a.zip", tmp_path / "b")
    (sample,), broken = corrections.read(tmp_path / "b")
    assert sample.label == corrections.NOT_A_DIGIT_LABEL and broken == []
    with pytest.raises(Exception, match="digit 0-9 or 10"):
        corrections.save(11, x, letter_a(), folder=tmp_path / "a")


def test_evaluate_json_says_how_many_test_digits_the_reader_would_reject(capsys):
    main(["evaluate", "--model", "fast", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["rejected"] == int(rejector().rejects(load_mnist("test")[0].numpy()).sum()) <= 30


def test_a_personal_model_learns_not_a_digit_from_its_corrections_with_a_rejector_of_its_own(tmp_path):
    from test_cli import run
    from test_personal import save_some

    from digitlib.data import corrections
    from digitlib.reading.rejection import folder_for

    save_some(tmp_path, 3)
    for seed in range(2):
        image = letter_a(seed=seed)
        x = OnnxPredictor("best").predict(image).x
        corrections.save(corrections.NOT_A_DIGIT_LABEL, x, image, folder=tmp_path)
    result = run("finetune", "--folder", str(tmp_path), "--out", str(tmp_path), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["not_a_digit"] == 2
    assert folder_for(tmp_path) == tmp_path / "rejector" and (tmp_path / "rejector" / "rejector.onnx").is_file()
    assert OnnxPredictor("personal", tmp_path).predict(letter_a(seed=9)).reason == NOT_A_DIGIT
