from dataclasses import replace

import pytest
import torch

from digitlib.data.mnist import load_mnist
from digitlib.errors import DigitlibError
from digitlib.models.zoo import VARIANTS, build, count_params, variant
from digitlib.training.train import fit


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_maps_a_batch_of_digits_to_ten_logits(name):
    v = VARIANTS[name]
    model = build(v.arch, v.args).eval()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert model.kind in ("fc", "cnn")


def test_fully_connected_net_has_the_784_256_128_64_10_parameter_count():
    v = VARIANTS["fc"]
    sizes = [784, 256, 128, 64, 10]
    assert count_params(build(v.arch, v.args)) == sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def test_small_cnn_parameter_count_follows_its_layers():
    v = VARIANTS["small"]
    conv = (1 * 9 + 1) * 8 + (8 * 9 + 1) * 16
    fc = (16 * 7 * 7 + 1) * 64 + (64 + 1) * 10
    assert count_params(build(v.arch, v.args)) == conv + fc


def test_conv_variants_have_the_advertised_number_of_conv_layers():
    def convs(name):
        v = VARIANTS[name]
        return sum(isinstance(m, torch.nn.Conv2d) for m in build(v.arch, v.args).modules())

    assert [convs(n) for n in ("cnn1", "cnn2", "cnn3", "compact", "small")] == [1, 2, 3, 3, 2]


def test_unknown_model_names_list_the_known_ones():
    with pytest.raises(DigitlibError, match="unknown model 'resnet'.*best"):
        variant("resnet")


def test_a_strided_net_downsamples_with_its_convs_and_never_pools():
    v = VARIANTS["fast"]
    model = build(v.arch, v.args)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2)] * 4 and [c.kernel_size[0] for c in convs] == [5, 3, 3, 3]
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    assert model.features(torch.zeros(2, 1, 28, 28)).shape == (2, 128, 2, 2)  # 28 -> 14 -> 7 -> 4 -> 2


def test_a_whitened_stem_decorrelates_the_patches_it_was_set_from_and_is_not_trained():
    x, y = load_mnist("train", limit=1000)
    args = dict(stages=((8,), (16,)), hidden=(), batchnorm=True, stem_stride=2, strided=True, whitened_stem=True)
    model = build("ConvNet", args, images=x)
    stem = model.features[1]
    out = stem(model.features[0](x)).detach().transpose(0, 1).flatten(1).double()  # [channels, images * positions]
    covariance = out @ out.T / out.shape[1]
    assert torch.allclose(covariance, torch.eye(8, dtype=torch.double), atol=0.02)
    assert stem.weight.abs().sum() > 0 and not stem.weight.requires_grad

    before = stem.weight.clone()
    fit(
        model,
        replace(VARIANTS["fast"].recipe, precision="fp32"),
        (x, y),
        (x[:100], y[:100]),
        device="cpu",
        progress=False,
    )
    assert torch.equal(stem.weight, before)
    assert not torch.equal(build("ConvNet", args).features[1].weight, before)  # without images: left for loaded weights
