"""DJ banner logos: a PNG/JPEG from the admin panel → the plugin's ARGB pixel grid (WIRE.md 3.3).

Pillow is an optional dependency (not installed with mcav); without it logo
uploads get a clear error and everything else works. :func:`process_logo` is
CPU work: call it off the I/O loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import numpy as np

__all__ = ["BANNER_FIELDS", "MAX_BANNER_PROFILES", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "check_fields",
           "check_profile", "process_logo"]

#: Profile fields the plugin's ``banner_config`` reads (besides the pixels).
BANNER_FIELDS = ("banner_mode", "text_style", "text_color_mode", "text_fixed_color", "text_format",
                 "grid_width", "grid_height")
#: Banner profiles kept for DJs that are not connected (connected and pending DJs always get one).
MAX_BANNER_PROFILES = 64
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


def check_fields(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile fields the plugin's ``banner_config`` reads (others are dropped), with scalar values.

    Raises:
        ValueError: a field that is not a string of at most 256 characters, a finite number or a boolean.
    """
    out = {}
    for k in BANNER_FIELDS:
        if k in profile:
            v = profile[k]
            if (not isinstance(v, (str, int, float, bool)) or isinstance(v, str) and len(v) > 256
                    or isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"profile.{k} must be a string (at most 256 characters), a finite number or a boolean")
            out[k] = v
    return out


def check_profile(profile: Any) -> dict[str, Any]:
    """A whole kept profile (fields and, if any, ``image_pixels`` matching its grid), e.g. from a show file.

    Raises:
        ValueError: what is wrong with it.
    """
    if not isinstance(profile, dict):
        raise ValueError(f"a banner profile is a mapping, got {type(profile).__name__}")
    out = check_fields(profile)
    pixels = profile.get("image_pixels")
    if pixels is not None:
        w, h = out.get("grid_width"), out.get("grid_height")
        if (not isinstance(w, int) or not isinstance(h, int) or not isinstance(pixels, list) or len(pixels) != w * h
                or not all(isinstance(p, int) and -2**31 <= p < 2**31 for p in pixels)):
            raise ValueError("image_pixels must be grid_width × grid_height 32-bit ints")
        out["image_pixels"] = list(pixels)
    return out
