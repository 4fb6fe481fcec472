"""Compiling control links: which provider serves each required control port.

For every port a node kind *requires* (:class:`~mcav.runtime.control.Require`):

* written in ``control:`` — each named node must exist and provide the port's
  interface (``NODE.PORT`` picks one of several ports of that interface);
* not written — bound to the only provider of the interface in the graph
  (every provider for a ``many`` port), marked *implicit*;
* no provider — an error unless the port is optional; several providers for a
  single port — an error naming them (write ``control: {PORT: NODE}``).

Ports written in ``control:`` that the kind does not require are errors with
the closest name suggested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .control import Interface, missing_calls
from .errors import GraphError
from .model import GraphSpec
from .params import closest

if TYPE_CHECKING:
    from .compile import CompiledNode

__all__ = ["CompiledControl", "resolve_controls"]


@dataclass(frozen=True, slots=True)
class CompiledControl:
    """A checked control link: ``consumer.port`` is served by ``provider.provider_port``."""

    consumer: str
    port: str
    provider: str
    provider_port: str
    interface: str
    implicit: bool

    @property
    def name(self) -> str:
        """E.g. ``"viz.control=>web.pattern"``."""
        return f"{self.provider}.{self.provider_port}=>{self.consumer}.{self.port}"

    def describe(self) -> str:
        """E.g. ``"control pattern_control (implicit)"``."""
        return f"control {self.interface}" + (" (implicit)" if self.implicit else "")


def _providers_of(iface: type[Interface], nodes: dict[str, CompiledNode]) -> list[tuple[str, str]]:
    return [(name, port) for name, cn in nodes.items() for port, i in cn.cls.provides.items() if i is iface]


def resolve_controls(spec: GraphSpec, nodes: dict[str, CompiledNode], errors: list[GraphError]) -> list[CompiledControl]:
    """Bind every required control port of ``nodes``; problems are appended to ``errors``."""
    file = spec.file
    for name, cn in nodes.items():  # a kind that claims an interface must implement all of it
        for port, iface in cn.cls.provides.items():
            missing = missing_calls(cn.cls, iface)
            if missing:
                errors.append(GraphError(f"node kind '{cn.kind}' provides {iface.name} on '{port}' but lacks "
                                         f"{', '.join(missing)}", file, spec.nodes[name].line, name, "kind"))
    links: list[CompiledControl] = []
    for name, cn in nodes.items():
        ns = spec.nodes[name]
        written = {c.port: c for c in ns.controls}
        requires = cn.cls.requires
        for port, given in written.items():
            if port not in requires:
                hint = closest(port, requires)
                extra = f"; did you mean '{hint}'?" if hint else (
                    f"; its control ports: {', '.join(requires)}" if requires else "; it requires no control links")
                errors.append(GraphError(f"node kind '{cn.kind}' has no control port '{port}'{extra}", file, given.line, name, f"control.{port}"))
        for port, req in requires.items():
            iface = req.interface
            c = written.get(port)
            if c is None:
                found = [p for p in _providers_of(iface, nodes) if p[0] != name]
                if len(found) > 1 and not req.many:
                    names = ", ".join(n for n, _ in found)
                    errors.append(GraphError(f"control port '{port}' needs one {iface.name} but {len(found)} nodes provide it "
                                             f"({names}); write control: {{{port}: NODE}}", file, ns.line, name, f"control.{port}"))
                    continue
                if not found and not req.optional:
                    errors.append(GraphError(f"control port '{port}' needs a node that provides {iface.name}; none in this graph",
                                             file, ns.line, name, f"control.{port}"))
                links += [CompiledControl(name, port, n, p, iface.name, True) for n, p in found]
                continue
            if len(c.providers) > 1 and not req.many:
                errors.append(GraphError(f"control port '{port}' takes one provider, got {len(c.providers)}", file, c.line, name, f"control.{port}"))
                continue
            if not c.providers and not req.optional:
                errors.append(GraphError(f"control port '{port}' is required ({iface.name}); it cannot be null", file, c.line, name, f"control.{port}"))
            for src, src_port in c.providers:
                link = _check_provider(src, src_port, iface, name, port, c.line, nodes, spec, errors)
                if link is not None:
                    links.append(link)
    return links


def _check_provider(
    src: str,
    src_port: str | None,
    iface: type[Interface],
    consumer: str,
    port: str,
    line: int | None,
    nodes: dict[str, CompiledNode],
    spec: GraphSpec,
    errors: list[GraphError],
) -> CompiledControl | None:
    file, key = spec.file, f"control.{port}"
    if src not in spec.nodes:
        hint = closest(src, spec.nodes)
        extra = f"; did you mean '{hint}'?" if hint else f"; nodes: {', '.join(spec.nodes)}"
        errors.append(GraphError(f"control port '{port}': unknown node '{src}'{extra}", file, line, consumer, key))
        return None
    cn = nodes.get(src)
    if cn is None:
        return None  # its own error is reported
    ports = [p for p, i in cn.cls.provides.items() if i is iface and (src_port is None or p == src_port)]
    if not ports:
        offers = ", ".join(f"{p} ({i.name})" for p, i in cn.cls.provides.items()) or "nothing"
        errors.append(GraphError(f"control port '{port}' needs {iface.name} but '{src}' ({cn.kind}) provides {offers}",
                                 file, line, consumer, key))
        return None
    if len(ports) > 1:
        errors.append(GraphError(f"'{src}' provides {iface.name} on {', '.join(ports)}; write {src}.PORT", file, line, consumer, key))
        return None
    return CompiledControl(consumer, port, src, ports[0], iface.name, False)
