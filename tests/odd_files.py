"""A drawing saved every unusual way a person's file can hold it, and files that hold no readable image."""

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image, fmt, **options):
    """The bytes of `image` saved as `fmt`."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_header(width, height):
    """A PNG that declares width x height 1-bit pixels and holds none: a decompression bomb's header."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


def rotated_jpeg(gray):
    """A JPEG stored turned 90 degrees anticlockwise with EXIF orientation 6, which turns it back upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    return encode(gray.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif)


BINARY = ("palette_transparent.png", "la.png", "one_bit.bmp")  # these hold binary_version(gray)
# Ink is about 55 on paper lit from about 120 (the photo's dim edge) to 200: a threshold under the dimmest paper keeps
# only the strokes. At 128 the dim edge became a solid black band, paper in a grey picture (a shadow along the edge) but
# ink in a transparent one (opaque pixels are what was drawn), so the versions would rightly disagree.
INK_BELOW = 90


def binary_version(gray):
    """The drawing thresholded to black ink on white paper."""
    return Image.fromarray(np.where(np.asarray(gray) < INK_BELOW, 0, 255).astype(np.uint8))


def variants(gray, other):
    """The greyscale drawing `gray` (mode L, black on white) in every unusual mode and format: {file name: bytes}.

    other: a second drawing, used for the later frames of animated and multi-page files.
    """
    pixels = np.asarray(gray)
    ink = pixels < INK_BELOW  # the 1-bit, palette and transparent versions hold this, as binary_version() shows
    palette = Image.fromarray(ink.astype(np.uint8), "L").convert("P")
    palette.putpalette([255, 255, 255, 0, 0, 0])
    lab = gray.convert("RGB").convert("LAB")
    cmyk = gray.convert("RGB").convert("CMYK")
    frames = [gray.convert("P"), other.convert("P"), Image.new("P", gray.size, 255)]
    return {
        "sixteen_bit.png": encode(Image.fromarray(pixels.astype(np.uint16) * 257), "PNG"),
        "float.tif": encode(Image.fromarray(pixels.astype(np.float32) / 255), "TIFF"),
        "int32.tif": encode(Image.fromarray(pixels.astype(np.int32) * 257), "TIFF"),
        "lab.tif": encode(lab, "TIFF"),
        "cmyk.tif": encode(cmyk, "TIFF"),
        "cmyk.jpg": encode(cmyk, "JPEG", quality=95),
        "rotated.jpg": rotated_jpeg(gray),
        "animated.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        "multipage.tif": encode(gray, "TIFF", save_all=True, append_images=[other, Image.new("L", gray.size, 255)]),
        "palette_transparent.png": encode(palette, "PNG", transparency=0),
        "la.png": encode(
            Image.merge("LA", [Image.new("L", gray.size, 0), Image.fromarray(np.where(ink, 255, 0).astype(np.uint8))]),
            "PNG",
        ),
        "one_bit.bmp": encode(Image.fromarray(~ink), "BMP"),
        "lossless.webp": encode(gray, "WEBP", lossless=True),
    }


def unreadable(gray, seed=0):
    """Files that hold no readable image, with a fragment of the message each must get: {name: (bytes, fragment)}."""
    rng = np.random.default_rng(seed)
    png, jpeg, tiff = encode(gray, "PNG"), encode(gray, "JPEG"), encode(gray, "TIFF")
    damaged = bytearray(png)
    damaged[16:24] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()  # the header's size, so its checksum fails
    return {
        "empty.png": (b"", "empty file"),
        "truncated.png": (png[:300], "truncated or corrupt"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated or corrupt"),
        "truncated.tif": (tiff[:200], "truncated or corrupt"),
        "damaged.png": (bytes(damaged), "not a readable image"),
        "digit.ppm": (encode(gray, "PPM"), "not a readable image"),  # Pillow reads it, but it is not on the list
        "digit.ico": (encode(gray, "ICO"), "not a readable image"),
        "notes.txt": (b"this is not an image\n", "not a readable image"),
        "noise.bin": (rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not a readable image"),
        "photo.heic": (b"\x00\x00\x00\x18ftypheic" + bytes(64), "not a readable image"),
        "bomb.png": (png_header(60_000, 60_000), "over the limit"),
        "big.png": (png_header(8_000, 8_000), "8000x8000 is over the limit of 50,000,000 pixels"),
        "figure.eps": (
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nnewpath 4 4 moveto 24 24 lineto stroke\n",
            "PostScript (EPS) files are not read",
        ),
        "scan.pdf": (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
            "PDF files are not read",
        ),
        "drawing.svg": (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
            b'<text x="8" y="20">7</text></svg>\n',
            "SVG files are not read",
        ),
        "dot.png": (encode(Image.new("L", (1, 1), 0), "PNG"), "1x1 pixels is too small"),
    }


def odd_names():
    """File names that do not print as they are: bytes that are not UTF-8, control characters."""
    return [os.fsdecode(b"\xff\xfe digit.png"), "line\nbreak\x1b[31m.png"]
