"""mcav's built-in node kinds.

:data:`BUILTIN_KINDS` maps each kind name to ``module:Class``; modules are
imported only when a graph uses the kind (see :mod:`mcav.runtime.registry`).
Adding a kind means adding its module and one line here.
"""

from __future__ import annotations

__all__ = ["BUILTIN_KINDS"]

BUILTIN_KINDS: dict[str, str] = {
    # general purpose and testing
    "counter": "mcav.nodes.builtin:Counter",
    "ticker": "mcav.nodes.builtin:Ticker",
    "scale": "mcav.nodes.builtin:Scale",
    "collect": "mcav.nodes.builtin:Collect",
    "async_collect": "mcav.nodes.builtin:AsyncCollect",
    "discard": "mcav.nodes.builtin:Discard",
    "jsonl": "mcav.nodes.jsonl:JsonlSink",
    "delay": "mcav.nodes.delay:Delay",
    "pattern": "mcav.nodes.patterns.node:PatternNode",
    # the DJ link on :9000
    "dj_server": "mcav.nodes.dj.server:DJServer",
    "dj_relay": "mcav.nodes.dj.relay_node:DJRelayNode",
    # audio sources and analysis
    "synth": "mcav.nodes.audio.synth:Synth",
    "file": "mcav.nodes.audio.file_source:FileSource",
    "sounddevice": "mcav.nodes.audio.capture:Capture",
    "fft": "mcav.nodes.audio.fft:Fft",
    "beat": "mcav.nodes.audio.beat:Beat",
    # the VJ server: Minecraft plugin :8765, browsers :8766, pages :8080
    "minecraft": "mcav.nodes.minecraft.sink:MinecraftSink",
    "admin_http": "mcav.nodes.web.http:AdminHttp",
    "browser": "mcav.nodes.browser.server:BrowserServer",
}
