"""``mcav nodes``: the catalogue of node kinds, and one kind in detail (like gst-inspect)."""

from __future__ import annotations

import sys

from .frames import Passthrough
from .node import flavor
from .params import describe_params
from .control import interface_calls
from .registry import UnknownKind, all_kinds, get_kind

__all__ = ["describe_kind", "list_kinds"]


def list_kinds() -> str:
    """One line per kind: name, how it runs, summary."""
    rows = []
    for name in all_kinds():
        try:
            cls = get_kind(name)
            rows.append((name, flavor(cls), cls.summary()))
        except Exception as exc:  # a broken third-party kind must not hide the others
            rows.append((name, "?", f"(cannot load: {exc})"))
    width = max(len(r[0]) for r in rows)
    return "".join(f"{n:<{width}}  {f:<6}  {s}\n" for n, f, s in rows)


def _fmt_default(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def describe_kind(name: str) -> str | None:
    """Ports, parameters and policies of one kind; None (and a message on stderr) if unknown."""
    try:
        cls = get_kind(name)
    except UnknownKind:
        from .params import closest

        hint = closest(name, all_kinds())
        print(f"error: unknown node kind '{name}'" + (f"; did you mean '{hint}'?" if hint else ""), file=sys.stderr)
        return None
    out = [f"{name} — {cls.summary()}", "", f"Runs as: {flavor(cls)}", ""]
    doc = (cls.__doc__ or "").strip().splitlines()[1:]
    if any(line.strip() for line in doc):
        out += [line.rstrip() for line in _dedent(doc)] + [""]
    out.append("Ports:")
    if not cls.inputs and not cls.outputs:
        out.append("  (none)")
    for port, tp in cls.inputs.items():
        opt = " (optional)" if port in cls.optional_inputs else ""
        out.append(f"  in   {port:<12} {tp.__name__}{opt}")
    for port, tp in cls.outputs.items():
        out.append(f"  out  {port:<12} {'same type as its input' if tp is Passthrough else tp.__name__}")
    out += ["", "Parameters:"]
    params = describe_params(cls.Params)
    if not params:
        out.append("  (none)")
    for p in params:
        default = "required" if p.required else f"default {_fmt_default(p.default)}"
        unit = f" {p.unit}" if p.unit else ""
        bounds = []
        if p.min is not None:
            bounds.append(f">= {p.min}")
        if p.max is not None:
            bounds.append(f"<= {p.max}")
        if p.choices:
            bounds.append("one of " + ", ".join(p.choices))
        rng = f"; {', '.join(bounds)}" if bounds else ""
        out.append(f"  {p.name} ({p.type}{unit}): {p.doc}")
        out.append(f"      {default}{unit if not p.required and p.default is not None else ''}{rng}")
    if cls.policies:
        out += ["", "Policies (a preset name — default, lan, wan — or a mapping of fields):"]
        for policy, link in cls.policies.items():
            presets = link.presets(policy)
            fields = ", ".join(f"{k}={_fmt_default(v)}" for k, v in presets.get("default", {}).items())
            out.append(f"  {policy} (link '{link.name}'): {fields or 'the policy defaults'}")
            for preset, more in presets.items():
                if preset != "default" and more:
                    text = ", ".join(f"{k}={_fmt_default(v)}" for k, v in more.items())
                    out.append(f"      {preset}: {text}")
    out += _control_lines(cls)
    return "\n".join(out) + "\n"


def _control_lines(cls: type) -> list[str]:
    """``Provides:`` and ``Requires:`` (control links: interfaces, calls and events)."""
    out: list[str] = []
    if cls.provides:  # type: ignore[attr-defined]
        out += ["", "Provides (control):"]
        for port, iface in cls.provides.items():  # type: ignore[attr-defined]
            out.append(f"  {port:<12} {iface.name}: {(iface.__doc__ or '').strip().splitlines()[0]}")
            out.append(f"      calls: {', '.join(interface_calls(iface))}")
            if iface.events:
                out.append(f"      events: {', '.join(iface.events)}")
    if cls.requires:  # type: ignore[attr-defined]
        out += ["", "Requires (control; bind with control: {PORT: NODE}, implicit when one node provides it):"]
        for port, req in cls.requires.items():  # type: ignore[attr-defined]
            how = ("every provider" if req.many else "one provider") + (", optional" if req.optional else "")
            doc = f" — {req.doc}" if req.doc else ""
            out.append(f"  {port:<12} {req.interface.name} ({how}){doc}")
    return out


def _dedent(lines: list[str]) -> list[str]:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return [line[cut:] for line in lines]
