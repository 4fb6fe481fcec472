"""The ``link`` node: beat, tempo and phase from an Ableton Link session (aalink), else from the audio."""
