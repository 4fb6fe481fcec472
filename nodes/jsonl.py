"""The ``jsonl`` sink: one JSON object per frame, one frame per line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcav.runtime.frames import Frame
from mcav.runtime.node import SyncNode
from mcav.runtime.params import param

__all__ = ["JsonlSink"]


class JsonlSink(SyncNode):
    """Writes each frame as one JSON line (``frame.to_json()``; features give t, bands, beat, bpm…)."""

    kind = "jsonl"

    @dataclass
    class Params:
        path: str = param(doc="output file ('-' = standard output); relative to the working directory")
        flush_every: int = param(64, doc="flush the file after this many lines (1 = every line)", min=1)

    inputs = {"in": Frame}

    def __init__(self, params: Params, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(params, ctx)
        self._file: IO[str] | None = None
        self.lines = 0

    def start(self) -> None:
        if self.params.path == "-":
            import sys

            self._file = sys.stdout
        else:
            path = Path(self.params.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def process(self, frame: Frame, port: str) -> None:
        assert self._file is not None
        self._file.write(json.dumps(frame.to_json(), separators=(",", ":")))
        self._file.write("\n")
        self.lines += 1
        if self.lines % self.params.flush_every == 0:
            self._file.flush()

    def finish(self) -> None:
        if self._file is not None:
            self._file.flush()
            if self._file.name != "<stdout>":
                self._file.close()

    def status(self) -> dict[str, int]:
        return {"lines": self.lines}
