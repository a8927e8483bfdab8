"""What a network looks at: conv feature maps and a saliency map for one input."""

import torch
from torch import nn


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
