"""What a network looks at: filters, conv feature maps, penultimate features and saliency."""

import torch
import torch.nn.functional as F
from torch import nn

from digitlib.constants import IMAGE_SIZE


def first_filters(model):
    """The first conv layer's kernels [C, 1, k, k], or None for a model without conv layers."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else conv.weight.detach()


def feature_maps(model, x):
    """Activations after each conv layer of model for one input x [1, 28, 28]: a list of [C, H, W] tensors.

    Empty for a model without conv layers.
    """
    maps, hooks = [], []
    modules = list(model.modules())
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            # the activation right after the conv (past any batch norm) is what the next layer sees
            after = next((n for n in modules[i + 1 :] if isinstance(n, (nn.ReLU, nn.LeakyReLU))), m)
            hooks.append(after.register_forward_hook(lambda mod, inp, out: maps.append(out[0].detach())))
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


@torch.inference_mode()
def penultimate(model, x, batch_size=1000):
    """The features [N, D] that the last linear layer turns into logits, for inputs x [N, 1, 28, 28]."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    features = []
    hook = last.register_forward_hook(lambda mod, inp, out: features.append(inp[0]))
    try:
        model.eval()
        for i in range(0, len(x), batch_size):
            model(x[i : i + batch_size])
    finally:
        hook.remove()
    return torch.cat(features)


def saliency(model, x, target=None, samples=16, noise=0.15):
    """Saliency [28, 28] in [0, 1] for one input x [1, 28, 28]: which pixels decided.

    SmoothGrad (Smilkov et al. 2017): |d logit[target] / d pixel| averaged over noisy copies of x, which is far
    less speckled than one gradient. target: the class to explain, by default the predicted one.
    """
    model.eval()
    if target is None:
        with torch.no_grad():
            target = int(model(x[None])[0].argmax())
    generator = torch.Generator().manual_seed(0)  # the same input always gives the same map
    xs = (x[None] + noise * torch.randn((samples, *x.shape), generator=generator)).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xs)[:, target].sum(), xs)
    s = grad.abs().mean(0)[0]
    return s / s.max().clamp_min(1e-12)
