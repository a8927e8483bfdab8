"""Open whatever a person hands over (file, bytes, array, PIL image) as one upright 8-bit picture.

Files are decoded only by the formats in FORMATS, first frame only. Every mode comes out as L, LA, RGB or RGBA
with its EXIF orientation applied: 16-bit and float pixels scaled by their range, CMYK and LAB through RGB,
palettes and 1-bit to grey or colour, transparency kept as alpha.
"""

import base64
import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitlib.errors import DigitlibError

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")  # the only decoders a file is ever handed to
MAX_BYTES = 256_000_000  # larger files are refused before reading
MAX_UPLOAD = 10_000_000  # larger uploads (to the dashboard, to the HTTP API) are refused
MAX_PIXELS = 50_000_000  # larger images are refused before decoding (decompression bombs)
MIN_SIDE = 8  # pictures narrower than this are refused
# Formats people hand over that are refused, known by their first bytes so the message can name them.
REFUSED = {b"%PDF": "PDF", b"%!PS": "PostScript (EPS)", b"\xc5\xd0\xd3\xc6": "EPS"}
# Modes converted as they are; those with transparency become RGBA, those not listed (I, F) are rescaled.
TARGET = {
    "L": "L",
    "LA": "LA",
    "RGB": "RGB",
    "RGBA": "RGBA",
    "1": "L",
    "P": "RGB",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "LAB": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
}
# Ranges tried in order for 16-bit, 32-bit and float pixels; values fitting none are scaled by their min..max.
RANGES = {"I;16": (65535,), "I;16L": (65535,), "I;16B": (65535,), "I;16N": (65535,), "I": (255, 65535), "F": (1, 255)}


def display_name(path):
    """A path as one line of text that prints anywhere: bytes that are not UTF-8 and control characters escaped."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def open_image(source, name=None, gray=False):
    """An upright L, LA, RGB or RGBA PIL image from a path, bytes, array or PIL image; DigitlibError if unreadable.

    name: what to call the image in messages (default: its path, or "image data").
    A float array is taken as pixels in [0, 1] (as in MNIST tensors), a bool array as black and white,
    a uint16 array as 0-65535 and any other integer array as 0-255; HxW, HxWx1, HxWx2 (grey and alpha),
    HxWx3 (RGB) or HxWx4 (RGBA). gray=True: a JPEG file is decoded to grey directly (faster, for reading digits).
    """
    name = name or (display_name(source) if isinstance(source, (str, Path)) else "image data")
    if isinstance(source, Image.Image):
        image = normalise(source, name)
    elif isinstance(source, np.ndarray):
        image = from_array(source, name)
    else:
        image = normalise(decode(source, name, gray), name)
    if min(image.size) < MIN_SIDE:
        raise DigitlibError(f"{name}: {image.width}x{image.height} pixels is too small to hold a digit")
    return image


def read_file(path, name):
    """The bytes of a regular file of at most MAX_BYTES."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise DigitlibError(f"{name}: is a directory, not an image")
        if not stat.S_ISREG(info.st_mode):
            raise DigitlibError(f"{name}: not a regular file")
        if info.st_size > MAX_BYTES:
            raise DigitlibError(f"{name}: {too_large(info.st_size, MAX_BYTES)}")
        with open(path, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DigitlibError(f"{name}: no such file") from None
    except OSError as e:
        raise DigitlibError(f"{name}: cannot read ({e.strerror or e})") from None
    except ValueError:  # a NUL byte in the path
        raise DigitlibError(f"{name}: not a valid file name") from None


def too_large(size, limit):
    """Why a file of `size` bytes (None: not known, but more than `limit`) is refused."""
    return f"over the limit of {limit:,} bytes" if size is None else f"{size:,} bytes is over the limit of {limit:,}"


def sniff(data):
    """The name of a refused format recognised from a file's first bytes, or None."""
    head = data[:1024].lstrip()
    kind = next((kind for magic, kind in REFUSED.items() if head.startswith(magic)), None)
    if kind is None and b"<svg" in head.lower():
        kind = "SVG"
    return kind


def file_bytes(source, name):
    """The bytes of an image file given as a path or as bytes; DigitlibError if there are none."""
    if isinstance(source, (str, Path)):
        data = read_file(source, name)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise TypeError(f"cannot read an image from {type(source).__name__}")
    if not data:
        raise DigitlibError(f"{name}: empty file")
    return data


def decode(source, name, gray=False):
    """Decode the first frame of an image file (path or bytes) in one of FORMATS, refusing decompression bombs."""
    data = file_bytes(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoders' complaints about damaged files: the outcome says enough
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise DigitlibError(f"{name}: {image.width}x{image.height} is over the limit of {MAX_PIXELS:,} pixels")
            if gray and image.format == "JPEG":
                image.draft("L", image.size)  # the decoder skips colour: a third faster for a phone photo
            image.load()
    except DigitlibError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DigitlibError(f"{name}: over the limit of {MAX_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        kind = sniff(data)
        problem = f"{kind} files are not read" if kind else "not a readable image"
        raise DigitlibError(f"{name}: {problem} (accepted formats: {', '.join(FORMATS)})") from None
    except MemoryError:
        raise DigitlibError(f"{name}: not enough memory to decode it") from None
    except Exception:  # noqa: BLE001 -- a decoder's error on a damaged file can be of any type (OSError, struct.error)
        raise DigitlibError(f"{name}: truncated or corrupt image") from None
    return image


ORIENTATION = 0x0112  # the EXIF tag


def upright(image):
    """The image turned as its EXIF orientation says; unchanged when there is none or it cannot be read."""
    try:
        turned = image.getexif().get(ORIENTATION, 1) != 1
        return ImageOps.exif_transpose(image) if turned else image  # (it copies even an upright picture)
    except Exception:  # a damaged EXIF block should not cost the picture
        return image


def normalise(image, name):
    """An upright image in mode L, LA, RGB or RGBA, whatever the mode of `image`."""
    image = upright(image)
    if image.mode in RANGES:
        return from_unit(unit_range(np.asarray(image), RANGES[image.mode], name))
    if image.mode not in TARGET:
        raise DigitlibError(f"{name}: {image.mode} pixels are not supported")
    mode = "RGBA" if "transparency" in image.info and image.mode in ("1", "L", "P", "RGB") else TARGET[image.mode]
    try:
        return image if image.mode == mode else image.convert(mode)
    except Exception:  # a palette or colour profile that does not convert
        raise DigitlibError(f"{name}: cannot convert its {image.mode} pixels") from None


def unit_range(values, ranges, name):
    """Pixels scaled to [0, 1] by the first range 0..top in `ranges` that holds them, else by their own min..max."""
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise DigitlibError(f"{name}: some pixel values are not finite numbers")
    low, high = values.min(), values.max()
    top = next((t for t in ranges if low >= 0 and high <= t), None)
    if top is not None:
        return values / top
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def from_unit(pixels):
    """An 8-bit L, LA, RGB or RGBA image from an HxW or HxWxC float array in [0, 1]."""
    return Image.fromarray(np.ascontiguousarray(np.rint(pixels * 255).astype(np.uint8)))


def from_array(array, name):
    """An 8-bit image from an image array, read by its dtype as open_image says."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (2, 3, 4))) or array.size == 0:
        raise DigitlibError(
            f"{name}: an image array must be HxW or HxWxC with 1 to 4 channels, got shape {array.shape}"
        )
    if array.dtype == bool:
        return from_unit(array.astype(np.float32))
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise DigitlibError(f"{name}: some pixel values are not finite numbers")
        return from_unit(np.clip(array, 0, 1))
    if np.issubdtype(array.dtype, np.integer):
        return from_unit(np.clip(array / (65535 if array.dtype == np.uint16 else 255), 0, 1))
    raise DigitlibError(f"{name}: an image array must hold numbers, got dtype {array.dtype}")


def png(pixels, scale=1):
    """PNG bytes of an [H, W] float array in [0, 1] (grey) or an [H, W, 3] uint8 array, enlarged without blur."""
    if pixels.ndim == 2:
        pixels = (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png_bytes):
    """PNG bytes as a data URL, for an <img> or a JSON field."""
    return f"data:image/png;base64,{base64.b64encode(png_bytes).decode()}"
