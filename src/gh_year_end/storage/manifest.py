"""manifest.json: what a finished collection holds, file by file, with checksums.

Written once every unit has ended. Each data file is listed with its record count, size and
sha256 — hashed in fixed-size chunks, so memory stays flat however large the file — and every
unit that ended unavailable or failed is listed with its reason.

A run hashes each unit's file as the unit completes (:func:`digest_file`, a job on the commit
threads while other requests are in flight), so that building the manifest at the end mostly
checks a stat per file instead of reading every file again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import DataFileMismatch, StorageError
from gh_year_end.storage.atomic import atomic_write_bytes, iso_z, storage_error
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.jsonl import committed_size
from gh_year_end.storage.paths import PathManager

MANIFEST_VERSION: Final = 1
CHUNK: Final = 1 << 20
HASH_THREADS: Final = min(4, os.cpu_count() or 1)


def hash_prefix(path: Path, size: int) -> tuple[str, int]:
    """sha256 and newline count of the first ``size`` bytes of ``path``, read in chunks."""
    digest = hashlib.sha256()
    lines = 0
    remaining = size
    try:
        with path.open("rb") as handle:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                digest.update(chunk)
                lines += chunk.count(b"\n")
                remaining -= len(chunk)
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc
    if remaining > 0:
        raise DataFileMismatch(
            f"{path} shrank while the manifest was being built — run `ghye resume` again"
        )
    return digest.hexdigest(), lines


@dataclass(frozen=True)
class FileDigest:
    """sha256 and newline count of a file's first ``length`` bytes, and the file's stat then."""

    length: int
    sha256: str
    lines: int
    size: int
    mtime_ns: int
    ctime_ns: int  # unlike mtime, no tool can set it back
    inode: int


def digest_file(path: Path, length: int) -> FileDigest | None:
    """Hash a finished unit's file now, for the manifest later; None if it cannot be read.

    The stat is taken before the hash: if anything writes the file afterwards, its inode, size,
    mtime or ctime no longer match and the manifest hashes the file again.
    """
    try:
        before = path.stat()
        sha256, lines = hash_prefix(path, length)
    except (DataFileMismatch, StorageError, OSError):
        return None  # the manifest's own hashing reports it, if it is still so
    return FileDigest(
        length,
        sha256,
        lines,
        before.st_size,
        before.st_mtime_ns,
        before.st_ctime_ns,
        before.st_ino,
    )


def _unchanged(path: Path, length: int, known: FileDigest | None) -> tuple[str, int] | None:
    """``known``'s (sha256, lines) if it is of this length and the file is unchanged since.

    Unchanged: the same inode, size, mtime and ctime. A write within one tick of the kernel's
    file clock could hide from this; nothing in ghye writes a completed unit's file again, so
    this only guards against changes from outside.
    """
    if known is None or known.length != length:
        return None
    try:
        now = path.stat()
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc
    if (now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino) != (
        known.size,
        known.mtime_ns,
        known.ctime_ns,
        known.inode,
    ):
        return None
    return known.sha256, known.lines


def build_manifest(
    checkpoint: CheckpointManager,
    paths: PathManager,
    config: Config,
    *,
    started_at: datetime,
    finished_at: datetime,
    tool_version: str,
    known: Mapping[Path, FileDigest] | None = None,
) -> dict[str, Any]:
    """The manifest of the collection ``checkpoint`` describes (files hashed up to their commit).

    ``known``: files already hashed when their unit ended (:func:`digest_file`); each is used
    as is when its length and stat still match (:func:`_unchanged`), and hashed again otherwise.
    """
    known = known or {}
    listed: list[tuple[str, str, Path, int]] = []
    unavailable: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for repo, endpoint, state in checkpoint.units():
        if state.status is CheckpointStatus.FAILED:
            entry = {
                "repo": repo,
                "endpoint": endpoint,
                "reason": state.error or "",
                "retryable": bool(state.retryable),
            }
            (unavailable if state.unavailable else failed).append(entry)
        if endpoint not in ENDPOINT_NAMES:
            continue
        path = paths.raw_path(endpoint, repo)
        size = committed_size(path, state.offset, repo=repo, endpoint=endpoint)
        if size is None:
            continue
        # Bytes past the commit are a page that never committed: not part of the dataset.
        listed.append((repo, endpoint, path, state.offset if state.offset > 0 else size))
    hashed: dict[int, tuple[str, int]] = {}
    stale: list[int] = []
    for at, (*_, path, length) in enumerate(listed):
        reused = _unchanged(path, length, known.get(path))
        if reused is None:
            stale.append(at)
        else:
            hashed[at] = reused
    if stale:
        # hashlib and file reads let go of the GIL: the files are hashed side by side.
        with ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="manifest") as pool:
            fresh = pool.map(lambda at: hash_prefix(listed[at][2], listed[at][3]), stale)
            hashed.update(zip(stale, fresh, strict=True))
    files: list[dict[str, Any]] = []
    total_records = total_bytes = 0
    for at, (repo, endpoint, path, length) in enumerate(listed):
        sha256, records = hashed[at]
        files.append(
            {
                "path": paths.relative(path),
                "endpoint": endpoint,
                "repo": repo,
                "records": records,
                "bytes": length,
                "sha256": sha256,
            }
        )
        total_records += records
        total_bytes += length
    windows = config.github.windows
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": "ghye",
        "tool_version": tool_version,
        "config_digest": config.digest,
        "target": {"mode": config.github.target.mode, "name": config.github.target.name},
        "window": {
            "year": windows.year,
            "since": iso_z(windows.since),
            "until": iso_z(windows.until),
        },
        "started_at": iso_z(started_at),
        "finished_at": iso_z(finished_at),
        "totals": {"files": len(files), "records": total_records, "bytes": total_bytes},
        "files": files,
        "unavailable": unavailable,
        "failed": failed,
    }


class ManifestFile(msgspec.Struct):
    """One data file as the manifest lists it."""

    path: str
    endpoint: str
    repo: str
    records: int
    bytes: int
    sha256: str


class Manifest(msgspec.Struct):
    """The parts of manifest.json that are checked against the data (other keys are ignored)."""

    config_digest: str
    files: list[ManifestFile]


_MANIFEST_DECODER: Final = msgspec.json.Decoder(Manifest)


def read_manifest(path: Path) -> Manifest | None:
    """manifest.json, typed; None when it is missing, unreadable or not a manifest (a field of
    the wrong type included): it is then written again, never trusted."""
    try:
        return _MANIFEST_DECODER.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return None


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` to ``path`` atomically (indented JSON)."""
    atomic_write_bytes(path, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
