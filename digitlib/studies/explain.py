"""What a network looks at: filters, conv feature maps, penultimate features, and which pixels decided (via captum)."""

import torch
import torch.nn.functional as F
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Occlusion, Saliency
from torch import nn

from digitlib.constants import IMAGE_SIZE
from digitlib.models.infer import predict_logits
from digitlib.models.zoo import conv_outputs
from digitlib.reading.explain_np import most_active  # noqa: F401 -- numpy only, shared with the dashboard


def first_filters(model):
    """The first conv layer's kernels [C, 1, k, k], or None for a model without conv layers."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else conv.weight.detach()


def feature_maps(model, x):
    """Activations after each conv layer of model for one input x [1, 28, 28]: a list of [C, H, W] tensors.

    Empty for a model without conv layers.
    """
    maps = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: maps.append(out[0].detach())) for m in conv_outputs(model)]
    try:
        with torch.inference_mode():
            model.eval()(x[None])
    finally:
        for h in hooks:
            h.remove()
    return maps


def activation_heatmaps(maps):
    """For each layer's maps [C, H, W], the mean activation scaled to [0, 1] and resized to 28x28: where it fires."""
    heats = [F.interpolate(m.mean(0)[None, None], size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear")[0, 0] for m in maps]
    return [h / h.max().clamp_min(1e-12) for h in heats]


def penultimate(model, x, batch_size=1000):
    """The features [N, D] that the last linear layer turns into logits, for inputs x [N, 1, 28, 28]."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    features = []
    hook = last.register_forward_hook(lambda mod, inp, out: features.append(inp[0].cpu()))
    try:
        predict_logits(model, x, batch_size=batch_size)
    finally:
        hook.remove()
    return torch.cat(features)


def _scaled(attribution):
    """An attribution map [28, 28] kept where positive and scaled to [0, 1]."""
    a = attribution.detach().clamp_min(0)
    return a / a.max().clamp_min(1e-12)


def _target(model, x, target):
    if target is not None:
        return target
    with torch.no_grad():
        return int(model(x[None])[0].argmax())


def saliency(model, x, target=None, samples=16, noise=0.15):
    """SmoothGrad saliency (Smilkov et al. 2017) [28, 28] in [0, 1] for one input x [1, 28, 28]: which pixels decided.

    |d logit[target] / d pixel| averaged over noisy copies of x, far less speckled than one gradient.
    target: the class to explain, by default the predicted one.
    """
    model.eval()
    target = _target(model, x, target)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same input always gives the same map
        s = NoiseTunnel(Saliency(model)).attribute(
            x[None],
            nt_type="smoothgrad",
            nt_samples=samples,
            nt_samples_batch_size=samples,
            stdevs=noise,
            target=target,
        )
    return _scaled(s[0, 0])


def grad_cam(model, x, target=None):
    """Grad-CAM (Selvaraju et al. 2017) [28, 28] in [0, 1] for one input x [1, 28, 28], or None without conv layers.

    The last conv layer's activations, each channel weighted by its mean gradient of the target logit, summed and
    kept where positive: the regions that argued for the target. As coarse as that layer (7x7 for `best`).
    """
    layers = conv_outputs(model)
    if not layers:
        return None
    model.eval()
    cam = LayerGradCam(model, layers[-1]).attribute(x[None], target=_target(model, x, target), relu_attributions=True)
    return _scaled(LayerAttribution.interpolate(cam, (IMAGE_SIZE, IMAGE_SIZE), "bilinear")[0, 0])


def occlusion(model, x, target=None, window=7, stride=3):
    """Occlusion sensitivity (Zeiler and Fergus 2014) [28, 28] in [0, 1] for one input x [1, 28, 28].

    A window x window patch of background slides over the image; each pixel scores the mean drop in the target's
    probability when it is covered. Works for any model, needs no gradients; 64 forward passes with the defaults.
    """
    model.eval()
    target = _target(model, x, target)
    with torch.no_grad():
        drop = Occlusion(lambda z: model(z).softmax(1)).attribute(
            x[None],
            sliding_window_shapes=(1, window, window),
            strides=(1, stride, stride),
            baselines=0,
            target=target,
            perturbations_per_eval=64,
        )
    return _scaled(drop[0, 0])
