"""Logging of the DJ link's websockets connections."""

from __future__ import annotations

import logging

__all__ = ["frame_logger"]


def frame_logger(name: str) -> logging.Logger:
    """The websockets logger ``name`` of a DJ-link server or client, kept at INFO or above.

    At DEBUG websockets prints every frame, and with it the DJ key of ``dj_auth``.
    """
    logger = logging.getLogger(name)
    logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))
    return logger
