"""A real MIDI system for the midi node's tests: a JACK server on its dummy driver (no sound card, no ALSA
sequencer needed), reached by python-rtmidi's JACK backend exactly as a show reaches ALSA."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any, Iterator

import pytest

from conftest import wait_until

mido = pytest.importorskip("mido", reason="the midi extra (mido, python-rtmidi) is not installed")


def _jack_answers() -> bool:
    try:
        mido.Backend("mido.backends.rtmidi/UNIX_JACK").get_output_names()
    except (OSError, SystemError, RuntimeError):
        return False
    return True


@pytest.fixture(scope="module")
def jack() -> Iterator[Any]:
    """A JACK server of this test module's own (``jackd -d dummy``); yields mido's JACK backend.

    Skips when jackd is not installed: the ALSA sequencer (/dev/snd/seq) is absent in containers, so JACK
    is the only MIDI system that gives rtmidi real ports here (``apt-get install jackd2``).
    """
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (apt-get install jackd2): no MIDI system to open real ports on")
    name = f"mcav-test-{os.getpid()}"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER", "JACK_NO_AUDIO_RESERVATION")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    # -t: a client late by up to 10 s (a loaded shared machine) is not thrown out ("zombified")
    log = tempfile.TemporaryFile()  # (a pipe nobody reads could fill and stall jackd)
    proc = subprocess.Popen([jackd, "--no-realtime", "-t", "10000", "-n", name, "-d", "dummy", "-r", "48000",
                             "-p", "1024"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_until(lambda: proc.poll() is not None or _jack_answers(), timeout=20, what="jackd to answer")
        if proc.poll() is not None:
            log.seek(0)
            pytest.skip(f"jackd could not start here: {log.read().decode(errors='replace')[-300:]}")
        yield mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
