"""The artifact store conformance suite: every driver (local folder, S3) must pass every test."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pressroom.artifacts import (
    ArtifactStore,
    artifact_key,
    job_prefix,
    open_artifacts,
    open_document,
    sanitize_filename,
)
from pressroom.core.errors import InvalidInput
from tests.conftest import S3_TEST_ENV


@pytest.fixture(params=["local", "local-no-fsync", "s3"])
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """An empty artifact store of each kind."""
    if request.param.startswith("local"):
        fsync = request.param == "local"
        return open_artifacts(f"file://{tmp_path}/artifacts", fsync=fsync)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    env = {**S3_TEST_ENV, "PRESSROOM_S3_ENDPOINT_URL": endpoint}
    return open_artifacts(f"s3://{bucket}/some/prefix", env)


def test_put_read_open_exists(artifacts: ArtifactStore) -> None:
    """A stored document reads back whole, by bytes and as a stream."""
    key = artifact_key("default", "job1", 1, "invoice.pdf")
    assert not artifacts.exists(key)
    artifacts.put(key, b"%PDF-1.7 body", content_type="application/pdf")
    assert artifacts.exists(key)
    assert artifacts.read(key) == b"%PDF-1.7 body"
    with artifacts.open(key) as stream:
        assert stream.read() == b"%PDF-1.7 body"


def test_put_replaces_and_missing_raises(artifacts: ArtifactStore) -> None:
    """A second put replaces the first; reading a missing key is FileNotFoundError."""
    key = artifact_key("default", "job2", 1, "a.txt")
    artifacts.put(key, b"one")
    artifacts.put(key, b"two")
    assert artifacts.read(key) == b"two"
    with pytest.raises(FileNotFoundError):
        artifacts.read(artifact_key("default", "job2", 1, "missing.txt"))


def test_copy_is_independent(artifacts: ArtifactStore) -> None:
    """A copy survives the deletion of its source; copying a missing key fails."""
    src = artifact_key("default", "a", 1, "doc.pdf")
    dst = artifact_key("default", "b", 0, "copy.pdf")
    artifacts.put(src, b"content")
    artifacts.copy(src, dst)
    artifacts.delete(src)
    assert not artifacts.exists(src) and artifacts.read(dst) == b"content"
    with pytest.raises(FileNotFoundError):
        artifacts.copy(src, artifact_key("default", "c", 0, "x.pdf"))


def test_delete_and_delete_prefix(artifacts: ArtifactStore) -> None:
    """Deleting is idempotent; a job's prefix takes all its attempts and nothing else."""
    keys = [artifact_key("t", "job", n, "d.pdf") for n in (1, 2)]
    other = artifact_key("t", "job-2", 1, "d.pdf")
    for key in [*keys, other]:
        artifacts.put(key, b"x")
    artifacts.delete(keys[0])
    artifacts.delete(keys[0])
    assert artifacts.delete_prefix(job_prefix("t", "job")) == 1
    assert not any(artifacts.exists(k) for k in keys)
    assert artifacts.exists(other)
    assert artifacts.delete_prefix(job_prefix("t", "nothing")) == 0


def test_readers_never_see_a_partial_document(artifacts: ArtifactStore) -> None:
    """While a big document is being replaced, readers see the old or the new one, whole."""
    key = artifact_key("default", "big", 1, "big.bin")
    old, new = b"a" * 2_000_000, b"b" * 2_000_000
    artifacts.put(key, old)
    seen: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(artifacts.read(key))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            artifacts.put(key, new)
            artifacts.put(key, old)
    finally:
        done.set()
        reader.join()
    assert seen and all(s in (old, new) for s in seen)


def test_open_document_checks_the_size_of_a_file(artifacts: ArtifactStore) -> None:
    """A job's document opens when intact; a document on disk whose size is not the one its
    result records (cut short by a power loss) counts as gone."""
    key = artifact_key("default", "doc", 1, "doc.pdf")
    artifacts.put(key, b"%PDF-1.7 whole")
    with open_document(artifacts, {"key": key, "size": 14}) as stream:
        assert stream.read() == b"%PDF-1.7 whole"
    root = getattr(artifacts, "root", None)
    if root is not None:
        Path(root, *key.split("/")).write_bytes(b"")
        with pytest.raises(FileNotFoundError, match="incomplete"):
            open_document(artifacts, {"key": key, "size": 14})


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/abs/key", "a//b", "a/./b", ".hidden/x", "a/b/", "a\\b", "", "a/b c"],
)
def test_keys_cannot_escape(artifacts: ArtifactStore, key: str) -> None:
    """Keys that could leave the store's root or hide files are refused before any I/O."""
    with pytest.raises(InvalidInput):
        artifacts.put(key, b"x")
    with pytest.raises(InvalidInput):
        artifacts.read(key)


@pytest.mark.parametrize("prefix", ["../", "a/../", "/a/", "a", "", "/", "a//"])
def test_prefixes_cannot_escape(artifacts: ArtifactStore, prefix: str) -> None:
    """Only folder-like prefixes of valid parts can be deleted."""
    with pytest.raises(InvalidInput):
        artifacts.delete_prefix(prefix)


def test_local_temporary_files_never_remain(tmp_path: Path) -> None:
    """A local put leaves only the final file (the temporary one is renamed away)."""
    store = open_artifacts(str(tmp_path / "a"))
    store.put(artifact_key("t", "j", 1, "f.pdf"), b"data")
    assert sorted(p.name for p in (tmp_path / "a").rglob("*") if p.is_file()) == ["f.pdf"]


@pytest.mark.parametrize(
    ("name", "ext", "expected"),
    [
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("Résumé 2026.pdf", "pdf", "Resume_2026.pdf"),
        ("report.PDF", "pdf", "report.pdf"),
        ("..", "pdf", "document.pdf"),
        (None, "docx", "document.docx"),
        ("a\\b\\c.txt", "pdf", "c.txt.pdf"),
        ("x" * 300, "pdf", "x" * 116 + ".pdf"),
    ],
)
def test_sanitize_filename(name: str | None, ext: str, expected: str) -> None:
    """User file names become safe, bounded names with the document's extension."""
    assert sanitize_filename(name, ext) == expected


def test_unsafe_tenant_and_job_parts_are_hashed() -> None:
    """A tenant or id that is not a safe key part is replaced by a stable hash."""
    key = artifact_key("../other tenant", "job", 1, "a.pdf")
    assert key.startswith("x-") and key.endswith("/job/1/a.pdf") and ".." not in key
    assert key.split("/")[0] == artifact_key("../other tenant", "j2", 1, "b.pdf").split("/")[0]


def test_a_run_token_keeps_two_runs_of_one_attempt_apart() -> None:
    """With a run token the attempt's part of the key names the run; the token is checked."""
    assert artifact_key("t", "job", 2, "a.pdf", run="0a1b2c3d") == "t/job/2-0a1b2c3d/a.pdf"
    assert artifact_key("t", "job", 2, "a.pdf", run="0a1b2c3d") != artifact_key(
        "t", "job", 2, "a.pdf", run="ffff0000"
    )
    with pytest.raises(InvalidInput):
        artifact_key("t", "job", 2, "a.pdf", run="../x")
