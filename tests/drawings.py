"""MNIST test digits re-drawn the way people hand them over: canvas size, pen, colours, placement."""

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage


def drawing(digit, style="plain", size=280):
    """A 28x28 MNIST digit re-drawn as a person would hand it over, as a PIL image.

    styles: plain (black pen on white canvas), inverted (white on black), transparent (black strokes on a
    transparent PNG), thin (fine pen), thick (marker), small (small and off in a corner),
    photo (blue ballpoint on yellowish paper, lit unevenly, blurred and noisy, as a phone would take it),
    shadow (that photo with the phone's hard-edged shadow over one corner), lined (that photo on ruled paper).
    """
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    ink = big > 0.5
    if style == "thin":
        ink = ndimage.binary_erosion(ink, iterations=size // 56)
    elif style == "thick":
        ink = ndimage.binary_dilation(ink, iterations=size // 28)
    elif style == "small":
        small = (
            np.asarray(
                Image.fromarray(ink.astype(np.uint8) * 255).resize((size // 4, size // 4), Image.Resampling.BILINEAR)
            )
            > 127
        )
        ink = np.zeros_like(ink)
        ink[size // 20 : size // 20 + size // 4, -size // 4 - size // 20 : -size // 20] = small
    pixels = np.where(ink, 0, 255).astype(np.uint8)  # black pen on white paper
    if style == "inverted":
        return Image.fromarray(255 - pixels)
    if style in ("photo", "shadow", "lined"):
        rng = np.random.default_rng(int(digit.sum()))
        light = np.linspace(1.0, 0.6, size)[None, :, None] * np.linspace(0.95, 1.0, size)[:, None, None]
        if style == "shadow":
            rows, cols = np.mgrid[:size, :size]
            light = light * np.where(rows + cols < 1.2 * size, 1.0, 0.55)[..., None]
        paper = np.array([215, 205, 180]) * light
        if style == "lined":  # pale blue rules every tenth of the page
            paper[np.arange(size) % (size // 10) < 2] *= np.array([0.7, 0.8, 1.0])
        rgb = np.where(ink[..., None], np.array([40, 50, 130]) * light, paper) + rng.normal(0, 6, (size, size, 3))
        return Image.fromarray(ndimage.gaussian_filter(rgb, (1.5, 1.5, 0)).clip(0, 255).astype(np.uint8))
    if style == "transparent":
        return Image.fromarray(
            np.dstack([np.zeros_like(pixels)] * 3 + [np.where(ink, 255, 0).astype(np.uint8)]), "RGBA"
        )
    return Image.fromarray(pixels)


def wavy_line(seed=0, size=(560, 18)):
    """A thin line waving up and down across a strip, with a seeded random step between waves, as a PIL image: a
    scribble over thirty times as wide as it is high, too wide for twenty digits."""
    rng = np.random.default_rng(seed)
    w, h = size
    xs = np.arange(0, w + 1, 2)
    ys = (h - 1) / 2 * (1 + np.sin(np.cumsum(rng.uniform(0.5, 1.5, len(xs)))))
    picture = Image.new("L", size, 255)
    ImageDraw.Draw(picture).line(list(zip(xs.tolist(), ys.tolist())), fill=0, width=1)
    return picture
