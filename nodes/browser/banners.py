"""DJ banner logos: a PNG/JPEG from the admin panel → the plugin's ARGB pixel grid (WIRE.md 3.3).

Pillow is an optional dependency (not installed with mcav); without it logo
uploads get a clear error and everything else works. :func:`process_logo` is
CPU work: call it off the I/O loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np

__all__ = ["BANNER_FIELDS", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "process_logo"]

#: Profile fields the plugin's ``banner_config`` reads (besides the pixels).
BANNER_FIELDS = ("banner_mode", "text_style", "text_color_mode", "text_fixed_color", "text_format",
                 "grid_width", "grid_height")
MAX_IMAGE_BYTES = 4 * 1024 * 1024
#: Largest image decoded (width × height): a small PNG can claim a huge size (a decompression bomb).
MAX_IMAGE_PIXELS = 4096 * 4096


def process_logo(image_base64: str, grid_width: int, grid_height: int) -> list[int]:
    """Decode, resize (Lanczos) to ``grid_width``×``grid_height`` and return row-major ARGB ints.

    The ints are signed 32-bit, as the plugin (Java ``int``) reads them.

    Raises:
        ValueError: grid out of range (width 4-48, height 2-24), bad base64, too many bytes or pixels,
            not a PNG/JPEG, or Pillow missing.
    """
    if not 4 <= grid_width <= 48 or not 2 <= grid_height <= 24:
        raise ValueError(f"grid must be 4-48 × 2-24, got {grid_width}×{grid_height}")
    try:
        data = base64.b64decode(image_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("image_base64 is not valid base64 (send it without a data: prefix)") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ValueError("logo upload needs Pillow, an optional dependency mcav does not install: "
                         "pip install pillow (into mcav's environment), then restart") from None
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            if img.format not in ("PNG", "JPEG"):
                raise ValueError(f"expected a PNG or JPEG image, got {img.format}")
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValueError(f"image is {width}×{height} = {width * height} pixels; the limit is {MAX_IMAGE_PIXELS}")
            rgba = img.convert("RGBA").resize((grid_width, grid_height), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError):
        raise ValueError("image_base64 is not a readable PNG or JPEG image") from None
    px = np.asarray(rgba, dtype=np.uint32).reshape(-1, 4)
    argb = (px[:, 3] << 24) | (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    return argb.view(np.int32).tolist()
