"""The speech recording that chapter 2 turns into a spectrogram, shipped with the package.

The file travels inside ``ptb_utils`` (package data), so a chapter opened on its own, in
Colab or from any folder, reads it without the repository beside it:
``wavfile.read(speech_wav())``.
"""

from __future__ import annotations

from pathlib import Path

SPEECH_WAV = Path(__file__).resolve().parent / "assets" / "speech.wav"


def speech_wav() -> Path:
    """Path of the recording: one English sentence synthesised by espeak-ng, 16-bit mono WAV."""
    if not SPEECH_WAV.is_file():
        raise FileNotFoundError(
            f"{SPEECH_WAV} is missing: reinstall ptb_utils (the WAV file is package data)"
        )
    return SPEECH_WAV
