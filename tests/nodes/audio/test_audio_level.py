"""The capture gain changes nothing: the onset rows see every input as if its recent peaks were at full scale."""

from __future__ import annotations

import numpy as np
import pytest
from test_audio_beatless import CLIPS as BEATLESS
from test_audio_beatless import analyse, beats

from mcav.nodes.audio.level import MAX_GAIN, NOMINAL, RELEASE_S, InputLevel
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.audio.testsignals import SR

HOP_S = 512 / SR


def test_each_hop_is_brought_to_full_scale() -> None:
    assert np.allclose(InputLevel(HOP_S).gains(np.full(8, 1.0)), NOMINAL)
    assert np.allclose(InputLevel(HOP_S).gains(np.full(8, 0.01)), NOMINAL / 0.01)
    assert np.all(InputLevel(HOP_S).gains(np.zeros(4)) == MAX_GAIN)  # silence: raised as far as allowed, still 0


def test_the_follower_falls_by_half_in_its_release_and_a_block_equals_its_hops() -> None:
    hops = int(round(RELEASE_S / HOP_S))
    peaks = np.concatenate(([0.8], np.zeros(hops - 1), np.random.default_rng(1).uniform(0, 0.3, 300)))
    whole = InputLevel(HOP_S).gains(peaks)
    one = InputLevel(HOP_S)
    single = np.concatenate([one.gains(peaks[i : i + 1]) for i in range(peaks.size)])
    assert np.allclose(whole, single, rtol=1e-5)  # the cumulative maximum = hop by hop
    assert whole[hops] == pytest.approx(NOMINAL / 0.4, rel=2e-3)  # 0.8 fell to 0.4 one release later


@pytest.mark.parametrize("block", [512, 2048], ids=["live", "file"])
@pytest.mark.parametrize("db", [-20, -40, -50])  # down to 10 dB above MAX_GAIN's limit
def test_music_at_any_capture_level_gives_the_same_beats(db: int, block: int) -> None:
    x = SynthSignal(SR, bpm=128.0, noise=0.02).render(0, SR * 20)
    loud = beats(analyse(x, block))
    quiet = beats(analyse((x * 10 ** (db / 20)).astype(np.float32), block))
    assert loud.size > 30 and quiet.size == loud.size  # it locked, at −40 dB before this never
    assert np.max(np.abs(quiet - loud)) < 0.002


@pytest.mark.parametrize("rate", [SR, 16000])
@pytest.mark.parametrize("db", [-14, -30, -50])
@pytest.mark.parametrize("name", ["speech", "white-noise", "pink-noise", "pad-swells", "vibrato-chord"])
def test_sound_without_a_beat_stays_without_one_at_any_level(name: str, db: int, rate: int) -> None:
    # speech 14 dB under its test level (about −20 dBFS peak) locked with confidence 0.65 before
    rows = analyse((BEATLESS[name].audio * 10 ** (db / 20)).astype(np.float32), 2048, rate)
    assert not any(r["locked"] for r in rows) and max(r["tempo_confidence"] for r in rows) < 0.3
