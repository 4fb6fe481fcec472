"""Audio node kinds: sources (``synth``, ``file``, ``sounddevice``) and analysis (``fft``, ``beat``).

Sources emit :class:`~mcav.runtime.frames.AudioBlock` frames; ``fft`` turns
them into :class:`~mcav.runtime.frames.Spectrum` frames (the 5 MCAV bands,
AGC, smoothing, bass lane, per-band spectral flux); ``beat`` turns spectra into
:class:`~mcav.runtime.frames.Features` (beat flag, tempo, phase).

Nothing here imports :mod:`sounddevice` at module level: it raises ``OSError``
when the PortAudio library is missing, and only the capture node needs it.
"""
