"""Training-time distortions, drawn per image and applied to a whole batch [N, 1, 28, 28] at once.

The random numbers come from a CPU generator, so a seed gives the same distortions on any device; the images may be
on any device.

Each imitates something real input does that MNIST lacks: slanted and stretched writing (affine), a hand's wobble
(elastic), pens of other widths (stroke), blur from a camera or a scan, and uneven pressure on the pen (pressure).
"""

import math

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF


def uniform(n, low, high, generator):
    """n numbers drawn uniformly from [low, high)."""
    return low + (high - low) * torch.rand(n, generator=generator)


def per_image(x, generator):
    """One number in [0, 1) for each image of a batch x [N, ...], shaped [N, 1, 1, 1] on x's device."""
    return torch.rand(len(x), generator=generator).to(x.device)[:, None, None, None]


def smooth_noise(n, channels, size, generator, knots=4):
    """Random fields [n, channels, *size] in [0, 1] that vary smoothly: noise on a knots x knots grid, upsampled."""
    noise = torch.rand(n, channels, knots, knots, generator=generator)
    return F.interpolate(noise, size=tuple(size), mode="bicubic", align_corners=True).clamp(0, 1)


def affine_grid(shape, angle, scale, shift):
    """Sampling grids [N, H, W, 2] for images of shape [N, 1, H, W]: output pixel p reads the input at
    rotation(angle) p / scale + shift, in grid_sample's units (-1 to 1 across the image); angle [N] in radians."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[0]], 1), torch.stack([sin, cos, shift[1]], 1)], 1)
    return F.affine_grid(theta, list(shape), align_corners=False)


def resample(x, grid):
    """Images [N, 1, H, W] read at a sampling grid, bilinear, with paper (0) outside."""
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def affine(x, degrees=0.0, pixels=0.0):
    """Images [N, 1, H, W] rotated `degrees` anticlockwise about their centre, then moved `pixels` right and down."""
    n, (h, w) = len(x), x.shape[2:]
    turn = -math.radians(degrees)  # the grid maps output to input: the inverse turn, then the inverse move
    cos, sin = math.cos(turn), math.sin(turn)
    px, py = 2 * pixels / w, 2 * pixels / h  # in grid units
    shift = [torch.full((n,), -(cos * px - sin * py)), torch.full((n,), -(sin * px + cos * py))]
    return resample(x, affine_grid(x.shape, torch.full((n,), turn), torch.ones(n), shift))


def random_affine(x, augment, generator):
    """Distort each image of a batch [N, 1, H, W] by its own random rotation, scale and shift (and elastic wobble)."""
    n = x.shape[0]
    angle = uniform(n, -augment.degrees, augment.degrees, generator) * math.pi / 180
    scale = uniform(n, *augment.scale, generator)
    shift = [uniform(n, -2 * augment.translate, 2 * augment.translate, generator) for _ in range(2)]
    grid = affine_grid(x.shape, angle, scale, shift)
    if augment.elastic:  # a smooth random displacement of up to `elastic` pixels (grid units are half the side)
        field = smooth_noise(n, 2, x.shape[2:], generator) * 2 - 1
        grid = grid + field.permute(0, 2, 3, 1) * (2 * augment.elastic / x.shape[-1])
    return resample(x, grid.to(x.device))


def dilate(x):
    """Strokes a pixel thicker on every side: grey dilation with a 3x3 square."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def restroke(x, chance, generator):
    """Strokes a pixel thicker (grey dilation) or thinner (half an erosion: a whole one erases a thin 1) in a `chance`
    fraction of the images each."""
    pick = per_image(x, generator)
    thicker = dilate(x)
    thinner = (x - F.max_pool2d(-x, 3, stride=1, padding=1)) / 2
    return torch.where(pick < chance, thicker, torch.where(pick > 1 - chance, thinner, x))


def blur(x, sigma, generator):
    """Each image blurred by its own amount, up to a Gaussian of `sigma` pixels."""
    amount = per_image(x, generator)
    return torch.lerp(x, TF.gaussian_blur(x, kernel_size=[5, 5], sigma=[sigma, sigma]), amount)


def pressure(x, low, generator):
    """Ink fading smoothly across each image to as little as `low` of its strength: a pencil pressed unevenly."""
    field = smooth_noise(len(x), 1, x.shape[2:], generator).to(x.device)
    lo, hi = field.amin((2, 3), keepdim=True), field.amax((2, 3), keepdim=True)
    return x * (low + (1 - low) * (field - lo) / (hi - lo + 1e-6))


def distort(x, augment, generator):
    """Every distortion the recipe's Augment asks for, in the order a picture meets them."""
    x = random_affine(x, augment, generator)
    if augment.stroke:
        x = restroke(x, augment.stroke, generator)
    if augment.blur:
        x = blur(x, augment.blur, generator)
    if augment.pressure:
        x = pressure(x, augment.pressure, generator)
    return x
