"""The speech of chapter 2, shipped with the package: a recording and spectrogram frames.

Chapter 2 draws the spectrogram of one synthesised sentence (:func:`speech_wav`) and trains a
recurrent network on the frames of a longer recording (:func:`load_speech_frames`). Both files
travel inside ``ptb_utils`` (package data), so a chapter opened on its own, in Colab or from
any folder, reads them without the repository beside it: ``wavfile.read(speech_wav())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPEECH_WAV = Path(__file__).resolve().parent / "assets" / "speech.wav"
SPEECH_FRAMES = SPEECH_WAV.with_name("speech_frames.npz")


def speech_wav() -> Path:
    """Path of the recording: one English sentence synthesised by espeak-ng, 16-bit mono WAV."""
    if not SPEECH_WAV.is_file():
        raise FileNotFoundError(
            f"{SPEECH_WAV} is missing: reinstall ptb_utils (the WAV file is package data)"
        )
    return SPEECH_WAV


@dataclass(frozen=True)
class SpeechFrames:
    """Spectrogram frames of speech: ``db[t, b]`` is the power in band ``b`` of frame ``t``.

    ``db`` has shape ``[frames, bands]`` (float32, decibels, floored ``floor_db``); frames
    come ``frame_rate`` times per second, and band ``b`` covers ``b * band_hz`` to
    ``(b + 1) * band_hz`` Hz.
    """

    db: np.ndarray
    frame_rate: float
    band_hz: float
    floor_db: float


def load_speech_frames() -> SpeechFrames:
    """About a hundred seconds of synthesised English as spectrogram frames (10 ms apart).

    Stored at 0.5 dB resolution to keep the file small; see ``tools/make_speech_frames.py``
    for how they were made (espeak-ng, 25 ms Hann windows, 32 bands of 250 Hz).
    """
    if not SPEECH_FRAMES.is_file():
        raise FileNotFoundError(
            f"{SPEECH_FRAMES} is missing: reinstall ptb_utils (the frames are package data)"
        )
    with np.load(SPEECH_FRAMES) as stored:
        floor, step = float(stored["floor_db"]), float(stored["step_db"])
        db = (floor + step * stored["levels"].astype(np.float32)).astype(np.float32)
        return SpeechFrames(db, float(stored["frame_rate"]), float(stored["band_hz"]), floor)
