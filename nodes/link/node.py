"""The ``link`` node: the beat from an Ableton Link session when there is one, else from the audio.

A Features filter for the place between the beat tracker (or the DJ server)
and the pattern node: ``in: beat``. While the Link session on this network has
at least one peer (a DJ's Ableton Live, Traktor, Rekordbox, a phone app), the
beat fields come from Link's shared timeline — tempo and phase exactly as the
DJ's software has them, no detection lag — and ``beat`` is flagged in the frame
during which a beat boundary is crossed (:mod:`.timeline`); otherwise frames
pass through unchanged. The rest of the frame (bands, peak, kicks) is always
the audio's. It runs fused in its input's worker thread (no extra hop); the
Link session lives on a small loop thread of its own (:mod:`.session`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcav.runtime.frames import Features
from mcav.runtime.health import HealthStat
from mcav.runtime.node import SyncNode
from mcav.runtime.params import param

from .session import LinkSession, LinkUnavailable
from .timeline import BeatMapper, LinkSample

__all__ = ["LinkBeat"]


class LinkBeat(SyncNode):
    """Ableton Link: beat, tempo and phase from a Link session with peers, else the audio tracker's."""

    kind = "link"
    #: On the health line, ``/health`` and the dashboard: ``Link: on (peers=2)``.
    health_schema = (
        HealthStat("link_beat", "any", doc="the beat comes from an Ableton Link session", group="Link"),
        HealthStat("link_peers", doc="Ableton Link peers", group="Link", label="peers"),
    )

    @dataclass
    class Params:
        quantum: float = param(4.0, doc="beats per bar shared with the Link peers", min=1, max=16)
        tempo: float = param(120.0, doc="tempo of the session mcav starts when it is the first peer (it "
                             "never drives the beat: alone, the audio's beat passes through)", unit="BPM",
                             min=20, max=999)
        intensity: float = param(0.8, doc="beat_intensity of a Link beat the tracker did not flag", min=0, max=1)

    inputs = {"in": Features}
    outputs = {"out": Features}

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.session = LinkSession(params.tempo, params.quantum)
        self.mapper = BeatMapper(params.intensity)
        self._last: LinkSample | None = None

    def start(self) -> None:
        try:
            self.session.open()
        except LinkUnavailable as exc:
            self.ctx.fail(f"link '{self.ctx.name}': {exc}")
            return
        self.ctx.log.info("Ableton Link on (quantum %g); the audio's beat until a peer joins", self.params.quantum)

    def process(self, frame: Any, port: str) -> Features:
        sample = self.session.sample()
        was = self.mapper.source
        out = self.mapper.apply(frame, sample)
        if self.mapper.source != was:
            self.ctx.log.info("beat from %s (%s)", self.mapper.source,
                              f"{sample.peers} Link peer(s), {sample.tempo:.1f} BPM" if sample and sample.peers
                              else "no Link peers")
        self._last = sample
        return out

    def finish(self) -> None:
        self.session.close()

    def status(self) -> dict[str, Any]:
        s = self._last
        return {"link_beat": self.mapper.source == "link", "link_peers": s.peers if s else 0,
                "source": self.mapper.source,
                "link_bpm": round(s.tempo, 2) if s else None,
                "bar_beat": int(s.beat % self.params.quantum) + 1 if s and s.peers else None,
                "link_beats": self.mapper.beats}
