"""The spectrogram frames of chapter 2's longer recording."""

import numpy as np
import pytest

from ptb_utils.speech import load_speech_frames


def test_speech_frames_load_in_decibels() -> None:
    speech = load_speech_frames()
    assert speech.db.dtype == np.float32 and speech.db.shape[1] == 32
    assert speech.db.shape[0] / speech.frame_rate > 90  # seconds of speech
    assert speech.frame_rate == 100.0 and speech.band_hz == 250.0
    assert speech.db.min() == speech.floor_db  # silences sit on the floor
    assert speech.db.max() - speech.floor_db == pytest.approx(80.0, abs=1.0)
    # 0.5 dB steps above the floor
    np.testing.assert_allclose(((speech.db - speech.floor_db) * 2) % 1, 0.0, atol=1e-3)
