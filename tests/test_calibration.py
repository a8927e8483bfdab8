import numpy as np
import torch

from digitlib.data.mnist import load_mnist
from digitlib.models import weights
from digitlib.models.infer import predict_logits
from digitlib.models.predictor import Predictor
from digitlib.reading.answers import probs
from digitlib.studies import metrics
from digitlib.training.calibration import fit_temperature


def test_fit_temperature_recovers_the_temperature_that_made_the_data():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (20000, 10))
    y = np.array([rng.choice(10, p=p) for p in probs(logits, 0.5)])  # labels drawn as if the truth were logits / 0.5
    assert abs(fit_temperature(logits, y) - 0.5) < 0.03


def test_stored_temperature_is_the_one_fitted_on_the_validation_split():
    x_val, y_val = load_mnist("val")
    for name in ["fast", "compact"]:
        assert weights.read_meta(name)["temperature"] == fit_temperature(
            predict_logits(weights.load(name), x_val), y_val
        )


def test_temperature_scaling_calibrates_the_label_smoothed_model():
    logits, y = metrics.test_logits(weights.load("fast"))
    t = weights.read_meta("fast")["temperature"]
    before, after = metrics.reliability(probs(logits), y)["ece"], metrics.reliability(probs(logits, t), y)["ece"]
    assert t < 1 and after < before / 5


def test_predictor_reports_temperature_scaled_probabilities():
    predictor = Predictor("fast")
    x, _ = load_mnist("test", limit=8)
    with torch.no_grad():
        expected = probs(predictor.model(x).numpy(), predictor.temperature)
    assert np.allclose(predictor.probs(x), expected, atol=1e-5)
