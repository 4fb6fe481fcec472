"""logfmt text: ``key=value`` pairs, as the status log lines and the dashboard print them."""

from __future__ import annotations

from typing import Any

__all__ = ["logfmt", "logfmt_value"]


def logfmt(**fields: Any) -> str:
    """``key=value`` pairs; None values are left out, strings with spaces are quoted."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, float):
            text = f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
        elif isinstance(value, (list, tuple)):
            text = ",".join(logfmt_value(v) for v in value)
        else:
            text = logfmt_value(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def logfmt_value(value: Any) -> str:
    """One value as logfmt text (quoted when it has spaces or quotes)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    return f'"{text}"' if (" " in text or '"' in text or not text) else text
