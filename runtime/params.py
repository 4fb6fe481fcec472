"""Typed node parameters: declaration with units and ranges, and checking.

A node kind declares its parameters as a dataclass whose fields are made with
:func:`param`::

    @dataclass
    class Params:
        port: int = param(9000, doc="TCP port to listen on", min=0, max=65535)
        fps: float = param(60.0, doc="frame rate", unit="Hz", min=1, max=120)

:func:`build_params` turns a YAML mapping into that dataclass, collecting one
:class:`ParamProblem` per bad key (unknown key with the closest valid name,
wrong type, out of range, missing required value).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal, get_args, get_origin

import yaml

__all__ = [
    "ParamInfo",
    "ParamProblem",
    "build_params",
    "closest",
    "describe_params",
    "param",
    "type_name",
]


def param(
    default: Any = MISSING,
    *,
    doc: str,
    unit: str | None = None,
    min: float | None = None,  # noqa: A002 - reads well at the call site
    max: float | None = None,  # noqa: A002
    choices: typing.Sequence[str] | None = None,
) -> Any:
    """Declare one parameter of a node kind.

    Args:
        default: The default value; omit for a required parameter. Lists and
            dicts are copied per node.
        doc: One line saying what it does.
        unit: Unit of the value (``"s"``, ``"ms"``, ``"Hz"``…), shown by ``mcav nodes``.
        min: Inclusive lower bound for numbers (and for each item of a list of numbers).
        max: Inclusive upper bound.
        choices: Allowed values for a string (a ``Literal`` annotation also works).
    """
    meta = {"doc": doc, "unit": unit, "min": min, "max": max, "choices": tuple(choices) if choices else None}
    if isinstance(default, (list, dict, set)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)  # type: ignore[call-arg]
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        proto = default
        return field(default_factory=lambda: dataclasses.replace(proto), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """One bad parameter: ``key`` is a dotted path inside the node's mapping."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """What ``mcav nodes KIND`` shows about one parameter."""

    name: str
    type: str
    default: Any
    required: bool
    doc: str
    unit: str | None
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None


def closest(name: str, options: typing.Iterable[str]) -> str | None:
    """The option most like ``name`` (difflib ratio ≥ 0.6), or None."""
    found = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def type_name(tp: Any) -> str:
    """A short human name for an annotation (``int``, ``list[float]``, ``'a' | 'b'``)."""
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin is not None:
        args = ", ".join(type_name(a) for a in get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def describe_params(cls: type) -> list[ParamInfo]:
    """Every parameter of a Params dataclass, in declaration order."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is MISSING and f.default_factory is MISSING
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = None
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            default = dataclasses.asdict(default)
        m = f.metadata
        choices = m.get("choices")
        if choices is None and get_origin(hints[f.name]) is Literal:
            choices = tuple(str(a) for a in get_args(hints[f.name]))
        out.append(
            ParamInfo(
                name=f.name,
                type=type_name(hints[f.name]),
                default=default,
                required=required,
                doc=m.get("doc", ""),
                unit=m.get("unit"),
                min=m.get("min"),
                max=m.get("max"),
                choices=choices,
            )
        )
    return out


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    return type(value).__name__


def _from_text(value: Any) -> Any:
    """Strings from ``${ENV}`` or quotes may spell numbers and booleans."""
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def _coerce(value: Any, tp: Any, meta: typing.Mapping[str, Any], path: str, problems: list[ParamProblem]) -> Any:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        errors = []
        for option in inner:
            try:
                return _coerce(value, option, meta, path, problems)
            except _Bad as exc:
                errors.append(exc.message)
        raise _Bad(errors[0] if len(errors) == 1 else f"expected {type_name(tp)}, got {_show(value)}")
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed:
            return value
        hint = closest(str(value), [str(a) for a in allowed])
        extra = f" (did you mean '{hint}'?)" if hint else ""
        raise _Bad(f"must be one of {', '.join(repr(a) for a in allowed)}, got {_show(value)}{extra}")
    if origin is list:
        (item_tp,) = get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise _Bad(f"expected a list of {type_name(item_tp)}, got {_show(value)} ({_kind(value)})")
        return [_coerce(v, item_tp, meta, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Bad(f"expected a mapping, got {_show(value)} ({_kind(value)})")
        return dict(value)
    if tp is Any:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):  # a nested Params class (an annotation is a class)
        if not isinstance(value, dict):
            raise _Bad(f"expected a mapping with keys {', '.join(f.name for f in dataclasses.fields(tp))}")
        obj, sub = build_params(tp, value, prefix=f"{path}.")
        problems.extend(sub)
        if obj is None:
            raise _Bad("")  # already reported per key
        return obj
    if tp is bool:
        value = _from_text(value)
        if isinstance(value, bool):
            return value
        raise _Bad(f"expected true or false, got {_show(value)} ({_kind(value)})")
    if tp is int:
        value = _from_text(value)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise _Bad(f"expected an integer, got {_show(value)} ({_kind(value)})")
        return _check_range(value, meta)
    if tp is float:
        value = _from_text(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(f"expected a number, got {_show(value)} ({_kind(value)})")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise _Bad(f"expected a finite number, got {value}")
        return _check_range(value, meta)
    if tp is str:
        if not isinstance(value, str):
            raise _Bad(f"expected a string, got {_show(value)} ({_kind(value)}); quote it")
        choices = meta.get("choices")
        if choices and value not in choices:
            hint = closest(value, choices)
            extra = f" (did you mean '{hint}'?)" if hint else ""
            raise _Bad(f"must be one of {', '.join(choices)}, got {_show(value)}{extra}")
        return value
    raise _Bad(f"unsupported parameter type {type_name(tp)}")


def _check_range(value: float, meta: typing.Mapping[str, Any]) -> Any:
    lo, hi = meta.get("min"), meta.get("max")
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    if lo is not None and value < lo:
        raise _Bad(f"{value}{unit} is below the minimum {lo}{unit}")
    if hi is not None and value > hi:
        raise _Bad(f"{value}{unit} is above the maximum {hi}{unit}")
    return value


def build_params(cls: type, raw: typing.Mapping[str, Any], prefix: str = "") -> tuple[Any, list[ParamProblem]]:
    """Check ``raw`` against the Params dataclass ``cls`` and build it.

    Returns:
        ``(instance, [])`` on success, ``(None, problems)`` otherwise; every
        problem found is reported, not just the first.
    """
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems: list[ParamProblem] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        f = fields.get(key) if isinstance(key, str) else None
        if f is None:
            hint = closest(str(key), fields)
            extra = f"; did you mean '{hint}'?" if hint else f"; valid keys: {', '.join(fields) or 'none'}"
            problems.append(ParamProblem(path, f"unknown parameter '{key}'{extra}"))
            continue
        try:
            values[key] = _coerce(value, hints[key], f.metadata, path, problems)
        except _Bad as exc:
            if exc.message:
                problems.append(ParamProblem(path, exc.message))
    for name, f in fields.items():
        if name not in raw and f.default is MISSING and f.default_factory is MISSING:
            doc = f.metadata.get("doc")
            problems.append(ParamProblem(f"{prefix}{name}", f"missing required parameter '{name}'" + (f" ({doc})" if doc else "")))
    if problems:
        return None, problems
    try:
        return cls(**values), []
    except (TypeError, ValueError) as exc:  # __post_init__ cross-field checks
        return None, [ParamProblem(prefix + _first_named(str(exc), fields, raw), str(exc))]


def _first_named(message: str, fields: typing.Iterable[str], raw: typing.Mapping[str, Any]) -> str:
    """The parameter a cross-field error is about: the first one its message names (else the first given)."""
    found = [(message.find(name), name) for name in fields if name in message]
    if found:
        return min(found)[1]
    return next(iter(raw), "(node)")
