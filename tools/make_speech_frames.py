"""Make ``ptb_utils/assets/speech_frames.npz``, the speech that chapter 2's recurrent model reads.

The chapter's short recording (one sentence) is too short to train and test a model on, and a
longer recording would be megabytes. So this script synthesises about a hundred seconds of
English with the open-source speech synthesiser espeak-ng (voice ``en-us``, its default
speed), resamples it to 16 kHz with SoX (without dither, so that the file comes out the same
every time), and keeps only what the model reads: the power spectrogram in frames of 25 ms
every 10 ms (Hann window, as in the chapter), summed into 32 bands of 250 Hz, in decibels,
floored 80 dB under the loudest band and rounded to 0.5 dB (8 bits per number, about 230 kB
compressed). The text below was written for the book.

Run it from the repository root (Debian: ``apt-get install espeak-ng sox``)::

    .venv/bin/python tools/make_speech_frames.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.io import wavfile

OUT = Path(__file__).resolve().parents[1] / "ptb_utils" / "assets" / "speech_frames.npz"
SAMPLE_RATE = 16_000
WINDOW_MS, HOP_MS = 25, 10
BAND_HZ, N_BANDS = 250, 32
RANGE_DB, STEP_DB = 80.0, 0.5

TEXT = """\
A river carries the rain of a whole valley to the sea. In spring the water rises quickly, and
in late summer it falls back to a thin stream between the stones.
The old clock in the hall strikes every hour, and the children count the bells before they run
outside to play.
Numbers that arrive one after another form a time series. A forecast reads what came before
and guesses what comes next.
The baker opens his shop before dawn. Warm bread, sweet rolls and a pot of strong coffee wait
for the first customers of the day.
Please close the window when you leave, because the wind from the north will be cold tonight.
Seven green boats sailed across the quiet lake while a small grey bird watched from the top of
the mast.
If you listen closely, every voice has its own rhythm: some speakers hurry through their
words, and others pause to think.
The library keeps maps of cities that no longer exist, drawn by hand on paper that has turned
yellow with age.
She asked whether the train to the mountains would leave on time, and the man at the desk
smiled and said it always does.
A pendulum swings back and forth, slower as it loses energy, until a gentle push sets it
moving again.
Thunder rolled over the hills, the lights flickered twice, and then the whole house was dark
and still.
We planted tomatoes, beans and a row of bright yellow sunflowers that grew taller than the
fence by August.
Learning to play the violin takes patience. At first every note squeaks, but after months of
practice the music begins to sing.
The market was crowded with people buying fish, oranges, onions and fresh herbs for the
evening meal.
On clear nights you can see thousands of stars, the pale band of the galaxy, and sometimes a
satellite drifting slowly overhead.
"""


def synthesise(text: str, folder: Path) -> np.ndarray:
    """The text spoken by espeak-ng, as float samples in [-1, 1] at :data:`SAMPLE_RATE`."""
    raw, resampled = folder / "raw.wav", folder / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(raw), text.replace("\n", " ")], check=True
    )
    subprocess.run(["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), str(resampled)], check=True)
    rate, audio = wavfile.read(resampled)
    assert rate == SAMPLE_RATE and audio.dtype == np.int16
    return audio.astype(np.float64) / np.iinfo(np.int16).max


def band_frames(audio: np.ndarray) -> np.ndarray:
    """Power in :data:`N_BANDS` bands per frame, in dB: an array ``[frames, N_BANDS]``."""
    nperseg = SAMPLE_RATE * WINDOW_MS // 1000
    hop = SAMPLE_RATE * HOP_MS // 1000
    freqs, _, power = signal.spectrogram(
        audio, fs=SAMPLE_RATE, window="hann", nperseg=nperseg, noverlap=nperseg - hop
    )
    band = np.minimum(freqs // BAND_HZ, N_BANDS - 1).astype(int)  # 8 kHz joins the top band
    summed = np.stack([power[band == b].sum(axis=0) for b in range(N_BANDS)], axis=1)
    return 10 * np.log10(summed + 1e-20)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        audio = synthesise(TEXT, Path(folder))
    db = band_frames(audio)
    floor = float(np.ceil(db.max())) - RANGE_DB
    levels = np.round((np.maximum(db, floor) - floor) / STEP_DB).astype(np.uint8)
    version = subprocess.run(
        ["espeak-ng", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        levels=levels,
        floor_db=floor,
        step_db=STEP_DB,
        frame_rate=1000 / HOP_MS,
        band_hz=BAND_HZ,
        synthesiser=version,
    )
    print(
        f"{OUT}: {levels.shape[0]} frames ({levels.shape[0] * HOP_MS / 1000:.1f} s) x "
        f"{N_BANDS} bands, {OUT.stat().st_size:,} bytes"
    )


if __name__ == "__main__":
    main()
