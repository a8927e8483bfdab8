from dataclasses import replace

import pytest
import torch

from digitlib.data.augment import random_affine
from digitlib.data.mnist import load_mnist
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.zoo import VARIANTS, Augment, build
from digitlib.training import train
from digitlib.training.device import PRECISIONS, cpu_flags, cpu_name, pick_precision
from digitlib.training.train import fit


def mnist(limit):
    """The first `limit` training and validation images, as fit takes them."""
    return load_mnist("train", limit=limit), load_mnist("val", limit=limit)


SMALL = dict(progress=False)
DATA = mnist(3000)


def small_model():
    v = VARIANTS["small"]
    return build(v.arch, v.args)


def recipe(**kw):
    return replace(VARIANTS["small"].recipe, **{"epochs": 1, "batch_size": 64, "lr": 5e-3, **kw})


def test_a_short_run_learns():
    history = fit(small_model(), recipe(epochs=2), *DATA, **SMALL)
    assert history[-1]["val_accuracy"] > 0.85
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert set(history[0]) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_a_short_run_learns_on_a_gpu_in_each_precision(precision):
    model = small_model()
    history = fit(model, recipe(epochs=2, augment=Augment(), precision=precision), *DATA, device="cuda", **SMALL)
    assert history[-1]["val_accuracy"] > 0.85
    assert all(p.device.type == "cuda" for p in model.parameters())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_same_seed_gives_the_same_weights_on_cpu(precision):
    def weights(seed):
        torch.manual_seed(seed)
        model = small_model()
        fit(
            model,
            recipe(augment=Augment(), precision=precision),
            *DATA,
            seed=seed,
            device="cpu",
            max_batches=10,
            **SMALL,
        )
        return model.state_dict()

    a, b, c = weights(1), weights(1), weights(2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = small_model()
    reference = fit(model, recipe(epochs=2), *DATA, seed=0, max_batches=8, **SMALL)
    expected = model.state_dict()

    evaluate, calls = train.evaluate, []

    def interrupt_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate(*args)

    checkpoint = tmp_path / "small.ckpt.pt"
    monkeypatch.setattr(train, "evaluate", interrupt_second_epoch)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit(small_model(), recipe(epochs=2), *DATA, seed=0, checkpoint=checkpoint, max_batches=8, **SMALL)
    monkeypatch.setattr(train, "evaluate", evaluate)

    resumed = small_model()
    history = fit(resumed, recipe(epochs=2), *DATA, seed=0, checkpoint=checkpoint, max_batches=8, **SMALL)
    assert [h["val_accuracy"] for h in history] == [h["val_accuracy"] for h in reference]
    assert all(torch.equal(resumed.state_dict()[k], expected[k]) for k in expected)


def test_augmentation_moves_each_image_differently_and_keeps_the_shape():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1
    out = random_affine(x, Augment(degrees=15, translate=0.1, scale=(0.9, 1.1)), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8


def test_no_augmentation_means_identity_transform():
    x = torch.rand(4, 1, 28, 28)
    out = random_affine(x, Augment(degrees=0, translate=0, scale=(1, 1)), torch.Generator())
    assert torch.allclose(out, x, atol=1e-5)


def test_the_last_clean_epochs_train_on_undistorted_digits(monkeypatch):
    distorted = []  # one entry per distorted batch

    def distort(x, augment, generator):
        distorted.append(len(x))
        return x

    monkeypatch.setattr(train, "distort", distort)
    history = fit(small_model(), recipe(epochs=3, augment=Augment(), clean_epochs=1), *DATA, max_batches=4, **SMALL)
    assert len(history) == 3
    assert len(distorted) == 8  # 4 batches in each of the first two epochs, none in the last


def test_fit_trains_on_any_tensors_it_is_given():
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(16, 1, 28, 28, generator=generator), torch.arange(16) % 10
    torch.manual_seed(0)
    history = fit(
        small_model(), recipe(epochs=2, batch_size=8), (x[:8], y[:8]), (x[8:], y[8:]), device="cpu", progress=False
    )
    assert [h["epoch"] for h in history] == [1, 2] and all(0 <= h["val_accuracy"] <= 1 for h in history)


TINY = dict(max_batches=2, progress=False)
TINY_DATA = {500: mnist(500), 600: mnist(600)}


def fit_small(epochs=1, seed=0, limit=500, **kw):
    """A tiny run of the small CNN on the first `limit` images: (its history, its final weights)."""
    torch.manual_seed(0)
    model = small_model()
    history = fit(model, recipe(epochs=epochs), *TINY_DATA[limit], seed=seed, device="cpu", **{**TINY, **kw})
    return history, model.state_dict()


def without_seconds(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.parametrize("change", [dict(seed=1), dict(epochs=2), dict(max_batches=3), dict(limit=600)])
def test_a_checkpoint_from_other_settings_is_set_aside_not_resumed(tmp_path, capsys, change):
    checkpoint = tmp_path / "small.ckpt.pt"
    fit_small(checkpoint=checkpoint)  # a finished run's checkpoint, left over
    history, state = fit_small(checkpoint=checkpoint, **change)
    fresh_history, fresh_state = fit_small(**change)
    assert without_seconds(history) == without_seconds(fresh_history)
    assert all(torch.equal(state[k], fresh_state[k]) for k in state)
    assert (tmp_path / "small.ckpt.pt.stale").exists()  # kept, not deleted
    assert "set aside" in capsys.readouterr().err


def test_a_dry_run_keeps_a_real_runs_checkpoint(tmp_path):
    v = VARIANTS["compact"]
    checkpoint = tmp_path / "compact.ckpt.pt"
    torch.manual_seed(0)
    fit(
        build(v.arch, v.args),
        replace(v.recipe, epochs=2),
        *TINY_DATA[600],
        checkpoint=checkpoint,
        device="cpu",
        max_batches=3,
        progress=False,
    )
    real = checkpoint.read_bytes()
    meta = train.train_variant("compact", out=tmp_path, epochs=1, device="cpu", limit=500, **TINY)
    assert len(meta["history"]) == 1 and meta["smoke"]
    assert (tmp_path / "compact.ckpt.pt.stale").read_bytes() == real
    weights.load("compact", tmp_path)


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_the_recipes_precision_is_the_arithmetic_of_the_forward_pass(precision, dtype):
    model, seen = small_model(), set()

    def record(conv, args, out):
        if conv.training:
            seen.add(out.dtype)

    model.features[1].register_forward_hook(record)  # the first conv
    fit(model, recipe(precision=precision), *TINY_DATA[500], device="cpu", **TINY)
    assert seen == {dtype}  # in training; evaluation is float32, as every later use of the weights
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights stay float32


def test_auto_precision_is_one_the_device_has_and_a_forced_one_is_kept():
    assert pick_precision("cpu") in {"bf16", "fp32"}
    assert pick_precision("cpu") == ("bf16" if cpu_flags() & {"avx512_bf16", "amx_bf16"} else "fp32")
    assert [pick_precision("cpu", p) for p in PRECISIONS[1:]] == ["bf16", "fp16", "fp32"]
    with pytest.raises(DigitlibError, match="unknown precision"):
        pick_precision("cpu", "fp8")


def test_cpu_flags_and_name_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile\n\nprocessor\t: 1\n")
    assert cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "avx512_bf16", "amx_tile"}
    assert cpu_flags(str(tmp_path / "absent")) == frozenset()
    xeon = tmp_path / "xeon"  # another file: what was read is remembered
    xeon.write_text("model name\t: Intel(R) Xeon(R)\nflags\t\t: fpu amx_bf16 avx512_bf16\n")
    assert cpu_name(str(xeon)) == "Intel(R) Xeon(R) (amx_bf16, avx512_bf16)"
    assert cpu_name(str(tmp_path / "absent")) == "unknown CPU (no native bf16)"


def test_training_records_the_precision_it_used(tmp_path):
    auto = train.train_variant("compact", out=tmp_path, epochs=1, device="cpu", limit=500, **TINY)
    forced = train.train_variant("compact", out=tmp_path, epochs=1, device="cpu", precision="fp32", limit=500, **TINY)
    assert (auto["precision"], forced["precision"]) == (pick_precision("cpu"), "fp32")
    assert forced["recipe"]["precision"] == "fp32"
