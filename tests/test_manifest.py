"""manifest.json: files with records, bytes and sha256 of the committed data; ended units."""

from __future__ import annotations

import hashlib
import json
import os
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gh_year_end.config import Config
from gh_year_end.errors import DataFileMismatch
from gh_year_end.storage import CheckpointManager
from gh_year_end.storage.manifest import (
    CHUNK,
    FileDigest,
    build_manifest,
    digest_file,
    hash_prefix,
    write_manifest,
)
from gh_year_end.storage.paths import PathManager
from harness import commit_page

STARTED = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FINISHED = datetime(2026, 11, 26, 10, 30, 5, tzinfo=UTC)


@pytest.fixture
def collected(config: Config) -> tuple[CheckpointManager, PathManager]:
    paths = PathManager(config)
    cp = CheckpointManager(paths.checkpoint_path)
    cp.create_new(config)
    cp.update_repos(
        [{"full_name": "acme/one"}, {"full_name": "acme/two"}], endpoints=["pulls", "issues"]
    )
    commit_page(cp, paths, "acme/one", "pulls", 3)
    commit_page(cp, paths, "acme/one", "issues", 2)
    commit_page(cp, paths, "acme/two", "pulls", 1, complete=False)
    cp.mark_repo_endpoint_failed("acme/two", "pulls", "502 Bad Gateway", True)
    cp.mark_repo_endpoint_failed(
        "acme/two", "issues", "410 Gone: issues are disabled", False, unavailable=True
    )
    return cp, paths


def test_manifest_lists_every_file_with_exact_counts_and_checksums(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    cp, paths = collected
    manifest = build_manifest(
        cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="0.1.0"
    )
    pulls_one = paths.raw_path("pulls", "acme/one").read_bytes()
    assert manifest["files"][0] == {
        "path": "pulls/acme__one.jsonl",
        "endpoint": "pulls",
        "repo": "acme/one",
        "records": 3,
        "bytes": len(pulls_one),
        "sha256": hashlib.sha256(pulls_one).hexdigest(),
    }
    assert [(f["path"], f["records"]) for f in manifest["files"]] == [
        ("pulls/acme__one.jsonl", 3),
        ("issues/acme__one.jsonl", 2),
        ("pulls/acme__two.jsonl", 1),
    ]
    assert manifest["totals"] == {
        "files": 3,
        "records": 6,
        "bytes": sum(f["bytes"] for f in manifest["files"]),
    }
    assert manifest["unavailable"] == [
        {
            "repo": "acme/two",
            "endpoint": "issues",
            "reason": "410 Gone: issues are disabled",
            "retryable": False,
        }
    ]
    assert manifest["failed"] == [
        {"repo": "acme/two", "endpoint": "pulls", "reason": "502 Bad Gateway", "retryable": True}
    ]
    assert manifest["tool_version"] == "0.1.0"
    assert manifest["config_digest"] == config.digest
    assert manifest["target"] == {"mode": "org", "name": "acme"}
    assert manifest["window"] == {
        "year": 2025,
        "since": "2025-01-01T00:00:00Z",
        "until": "2026-01-01T00:00:00Z",
    }
    assert (manifest["started_at"], manifest["finished_at"]) == (
        "2026-11-26T10:00:00Z",
        "2026-11-26T10:30:05Z",
    )


def test_bytes_past_the_commit_are_not_part_of_the_manifest(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    cp, paths = collected
    path = paths.raw_path("pulls", "acme/one")
    committed = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"uncommitted": true}\n')
    manifest = build_manifest(
        cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="x"
    )
    entry = manifest["files"][0]
    assert (entry["bytes"], entry["records"]) == (len(committed), 3)
    assert entry["sha256"] == hashlib.sha256(committed).hexdigest()


def test_missing_or_short_committed_file_is_a_mismatch(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    cp, paths = collected
    path = paths.raw_path("issues", "acme/one")
    path.write_bytes(b"{}\n")
    with pytest.raises(DataFileMismatch, match=r"is shorter than the checkpoint says \(3 < "):
        build_manifest(
            cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="x"
        )
    path.unlink()
    with pytest.raises(
        DataFileMismatch, match="run `ghye reset --repo acme/one --endpoint issues`"
    ):
        build_manifest(
            cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="x"
        )


def test_write_manifest_is_atomic_json(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    cp, paths = collected
    manifest = build_manifest(
        cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="x"
    )
    write_manifest(paths.manifest_path, manifest)
    assert json.loads(paths.manifest_path.read_text()) == manifest
    assert not list(paths.target_dir.glob(".manifest_*.tmp"))


def test_hashing_streams_in_chunks_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = b'{"id": 1, "body": "' + b"x" * 1000 + b'"}\n'
    with path.open("wb") as handle:
        for _ in range(8 * CHUNK // len(line)):
            handle.write(line)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        digest, lines = hash_prefix(path, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert lines == size // len(line)
    assert peak < 3 * CHUNK < size  # one chunk in memory at a time, not the 8 MiB file


def _first_sha256(
    collected: tuple[CheckpointManager, PathManager],
    config: Config,
    known: dict[Path, FileDigest],
) -> str:
    """The sha256 the manifest lists for its first file (acme/one's pulls), given ``known``."""
    cp, paths = collected
    manifest = build_manifest(
        cp, paths, config, started_at=STARTED, finished_at=FINISHED, tool_version="x", known=known
    )
    sha256: str = manifest["files"][0]["sha256"]
    return sha256


def test_a_file_hashed_when_its_unit_ended_is_not_read_again(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    paths = collected[1]
    path = paths.raw_path("pulls", "acme/one")
    digest = digest_file(path, path.stat().st_size)
    assert digest is not None
    assert (digest.sha256, digest.lines) == hash_prefix(path, path.stat().st_size)
    # A digest whose length and stat still match is taken as it is (so a marked one shows).
    assert _first_sha256(collected, config, {path: replace(digest, sha256="0" * 64)}) == "0" * 64


def test_a_file_changed_after_it_was_hashed_is_hashed_again(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    paths = collected[1]
    path = paths.raw_path("pulls", "acme/one")
    committed = path.read_bytes()
    digest = digest_file(path, len(committed))
    assert digest is not None
    with path.open("ab") as handle:  # bytes past the commit: size and mtime move
        handle.write(b'{"uncommitted": true}\n')
    known = {path: replace(digest, sha256="0" * 64)}
    assert _first_sha256(collected, config, known) == hashlib.sha256(committed).hexdigest()
    stale = {path: replace(digest, sha256="0" * 64, length=digest.length - 1)}
    assert _first_sha256(collected, config, stale) == hashlib.sha256(committed).hexdigest()


def test_a_same_size_rewrite_with_its_mtime_put_back_is_hashed_again(
    collected: tuple[CheckpointManager, PathManager], config: Config
) -> None:
    paths = collected[1]
    path = paths.raw_path("pulls", "acme/one")
    original = path.read_bytes()
    digest = digest_file(path, len(original))
    assert digest is not None
    time.sleep(0.05)  # past the kernel file clock's tick, so the ctime can move
    changed = original.replace(b"1", b"7")
    assert len(changed) == len(original)
    assert changed != original
    path.write_bytes(changed)  # in place: same inode, same size
    os.utime(path, ns=(digest.mtime_ns, digest.mtime_ns))  # as `cp -p` or `rsync -t` would
    assert _first_sha256(collected, config, {path: digest}) == hashlib.sha256(changed).hexdigest()


def test_digest_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert digest_file(tmp_path / "gone.jsonl", 10) is None
