"""The ``midi`` node: show control from MIDI controllers (pads, faders) through a YAML map."""
