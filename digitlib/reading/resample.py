"""Cropping to the ink, and antialiased bilinear resizing in numpy: torch's F.interpolate(mode="bilinear",
antialias=True) without torch.

The dashboard's kernel runs without torch, and must see the very inputs the notebooks and the CLI see, so this
reproduces torch's CPU kernel (aten/src/ATen/native/cpu/UpSampleKernel.cpp) step for step in float32: Pillow's
triangle filter widened by the scale, weights normalised per output pixel, a horizontal pass, then a vertical pass.
tests/test_preprocess.py compares it with torch.
"""

import functools

import numpy as np

f32, f64 = np.float32, np.float64
UNROLL = 4  # torch's x86 builds sum a pixel's taps 4 at a time, fusing the multiply-adds left over (see taps_sum)


@functools.lru_cache(maxsize=4096)  # a few kB each; a server meets every picture size
def weights(in_size, out_size):
    """(first input index [out], number of taps [out], weights [out, taps] float32) for one axis, as torch's
    _compute_weights_aa computes them: the triangle filter's arithmetic in float32 with torch's casts, for every
    output pixel at once (the drawing's size changes with every stroke, so this runs once per reading)."""
    scale = f32(in_size) / f32(out_size)
    support = scale if scale >= 1.0 else f32(1.0)  # the filter widens when shrinking
    invscale = f32(1.0 / f64(scale)) if scale >= 1.0 else f32(1.0)
    taps = int(np.ceil(support)) * 2 + 1
    centre = (f64(scale) * (np.arange(out_size) + 0.5)).astype(f32)
    starts = np.maximum(((centre - support).astype(f64) + 0.5).astype(np.int64), 0)  # int(): toward zero
    sizes = np.minimum(((centre + support).astype(f64) + 0.5).astype(np.int64), in_size) - starts
    j = np.arange(taps)
    x = np.abs((((j + starts[:, None]).astype(f32) - centre[:, None]).astype(f64) + 0.5) * f64(invscale)).astype(f32)
    w = np.where((x < 1.0) & (j < sizes[:, None]), (1.0 - x.astype(f64)).astype(f32), f32(0.0))
    total = np.zeros(out_size, np.float32)
    for k in range(taps):  # summed in order, in float32
        total += w[:, k]
    nonzero = total != 0
    w[nonzero] /= total[nonzero, None]
    return starts, sizes, w


def taps_sum(a, out_size):
    """Resize a float32 array [H, W] along its first axis to out_size rows.

    Each output is t0*w0 + t1*w1 + ... summed in order in float32, as torch does; its compiled loop adds the taps
    after the first in blocks of UNROLL with separate roundings and the (taps - 1) % UNROLL left over as fused
    multiply-adds (one rounding), which is reproduced here so that the results are the same to the bit.
    """
    starts, sizes, w = weights(a.shape[0], out_size)
    taps = w.shape[1]
    padded = np.concatenate([a, np.zeros((taps, a.shape[1]), np.float32)])  # zero weights reach past the end
    out = padded[starts] * w[:, :1]
    fused_from = UNROLL * ((sizes - 1) // UNROLL)  # steps after this one are fused
    for j in range(1, taps):
        t, wj = padded[starts + j], w[:, j : j + 1]
        fused = (out.astype(f64) + t.astype(f64) * wj.astype(f64)).astype(f32)  # the float64 product is exact
        out = np.where((j > fused_from)[:, None], fused, out + t * wj)
    return out


def resize(pixels, height, width):
    """A 2-D float array resized to [height, width] float32 with antialiasing (shrinking averages, so thin
    strokes fade rather than vanish)."""
    a = np.ascontiguousarray(pixels, dtype=np.float32)
    if a.shape[1] != width:
        a = taps_sum(a.T, width).T
    if a.shape[0] != height:
        a = taps_sum(a, height)
    return np.ascontiguousarray(a)


def ink_box(ink):
    """The bounding box of ink's non-zero pixels [H, W] as (top, bottom, left, right), bottom and right exclusive."""
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def crop_to_ink(ink):
    """ink [H, W] cropped to the bounding box of its non-zero pixels."""
    top, bottom, left, right = ink_box(ink)
    return ink[top:bottom, left:right]
