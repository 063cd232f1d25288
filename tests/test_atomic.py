"""atomic_write_bytes: replace atomically, leave no temp file, turn OSError into StorageError."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gh_year_end.errors import StorageError
from gh_year_end.storage.atomic import (
    atomic_write_bytes,
    ensure_dir,
    iso_z,
    storage_error,
    temp_prefix,
)


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.json"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]


def test_atomic_write_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "manifest.json"
    atomic_write_bytes(target, b"{}")
    assert target.read_bytes() == b"{}"


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_bytes(b"1")
    target.chmod(0o640)
    atomic_write_bytes(target, b"2")
    assert target.stat().st_mode & 0o777 == 0o640


def test_new_file_is_world_readable_not_private_like_mkstemp(tmp_path: Path) -> None:
    target = tmp_path / "fresh.json"
    atomic_write_bytes(target, b"1")
    assert target.stat().st_mode & 0o777 == 0o644


def test_failed_replace_keeps_old_content_removes_temp_and_says_so(tmp_path: Path) -> None:
    # A folder where the file should be: os.replace fails after the temp file was written.
    target = tmp_path / "checkpoint.json"
    target.mkdir()
    (target / "inside").write_text("x")
    with pytest.raises(StorageError) as info:
        atomic_write_bytes(target, b"data")
    message = str(info.value)
    assert message.startswith(f"cannot finish writing {target}: ")
    assert message.endswith("then run `ghye resume`; nothing committed was lost")
    assert "\n" not in message
    assert (target / "inside").read_text() == "x"
    assert not list(tmp_path.glob(f"{temp_prefix(target)}*"))


def test_disk_full_message_is_exact() -> None:
    error = storage_error(OSError(errno.ENOSPC, "No space left on device"), Path("/d/x.jsonl"))
    assert str(error) == (
        "disk full while writing /d/x.jsonl — free space, then run `ghye resume`; "
        "nothing committed was lost"
    )


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_read_only_or_permission_message_is_exact(code: int) -> None:
    error = storage_error(OSError(code, os.strerror(code)), Path("/d/checkpoint.json"))
    assert str(error) == (
        "cannot write /d/checkpoint.json: read-only or permission denied — make the folder "
        "writable (or point storage.root elsewhere), then run `ghye resume`"
    )


def test_other_errors_name_the_path_and_reason() -> None:
    error = storage_error(OSError(errno.EIO, "Input/output error"), Path("/d/j"), action="syncing")
    assert str(error) == (
        "cannot finish syncing /d/j: Input/output error — fix that, then run `ghye resume`; "
        "nothing committed was lost"
    )


def test_ensure_dir_creates_nested_folders_and_is_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "year=2025" / "target=acme"
    ensure_dir(folder)
    ensure_dir(folder)
    assert folder.is_dir()


def test_ensure_dir_under_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot finish creating"):
        ensure_dir(tmp_path / "file" / "sub")


def test_iso_z_is_utc_with_z() -> None:
    moment = datetime(2026, 11, 26, 11, 2, 3, 5, tzinfo=timezone(timedelta(hours=1)))
    assert iso_z(moment) == "2026-11-26T10:02:03.000005Z"
    assert iso_z(datetime(2026, 1, 1)) == "2026-01-01T00:00:00Z"
    assert iso_z(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
