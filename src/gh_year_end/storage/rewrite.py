"""A refreshed unit's file: its committed records with the refresh's versions in their place and
the new records after them, written beside the unit's file and switched in by one rename.

A refresh changes a file rather than growing it, so the invariant (the checkpoint describes the
unit's file exactly) is kept in three steps:

1. :func:`write_refreshed` writes ``<file>.refresh`` beside the unit's file and fsyncs it. A
   crash here leaves a stray file nothing vouches for: :func:`sweep_strays` removes it, and the
   unit's refresh is done again.
2. The checkpoint commits the unit's new size and line count, naming the refreshed file
   (``EndpointProgress.switch``): from that commit on, the refreshed file is the unit's data.
3. :func:`finish_switch` renames it over the unit's file and fsyncs the folder; then the
   checkpoint clears ``switch``. A crash between 2 and 3 is finished by the next collect or
   resume of the target before anything else touches the unit: the rename is done
   if the refreshed file is still there, else it was done already. Readers that take no lock
   (status, verify) read the refreshed file while it is there.

Each record id is in the result once: a line whose record id the refresh brought is replaced
by the refresh's line (in place, so the file keeps its order), the others are copied byte for
byte, and the ids never seen before are appended in the order the refresh met them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from gh_year_end.storage.atomic import fsync_dir, storage_error, write_all
from gh_year_end.storage.jsonl import committed_size, mismatch

REFRESH_SUFFIX: Final = ".refresh"
_CHUNK: Final = 1 << 20


def refreshed_path(path: Path) -> Path:
    """Where a unit's refreshed file is written, beside the unit's file."""
    return path.with_name(path.name + REFRESH_SUFFIX)


@dataclass(frozen=True)
class Rewritten:
    """A refreshed file written and fsynced, not yet switched in."""

    name: str
    """Its file name (in the unit's folder)."""
    offset: int
    lines: int
    replaced: int
    """Committed records the refresh brought a newer version of."""
    added: int
    """Records the unit's file did not hold."""
    changed: tuple[Any, ...] = ()
    """The ids of the records replaced or added, in file order."""


def write_refreshed(
    path: Path,
    committed_offset: int,
    key: str,
    updates: Mapping[Any, tuple[dict[str, Any], bytes]],
) -> Rewritten | None:
    """Merge ``updates`` (record id → (the record, its envelope line), in the order met) into
    the unit's committed records as ``<file>.refresh``, fsynced; None (and no file) when every
    update equals the record the file holds. A record equal to the committed one keeps its
    committed line (and the moment it was first fetched). DataFileMismatch when the unit's
    file does not hold its committed prefix, or a committed line is not a record with its id."""
    target = refreshed_path(path)
    pending = dict(updates)
    replaced = lines = written = 0
    changed: list[Any] = []
    buffer = bytearray()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        raise storage_error(exc, target) from exc
    try:
        try:
            for line in _committed_lines(path, committed_offset):
                data = _record(line, key)
                if data is None:
                    raise mismatch(path, f"line {lines + 1} is not a record in ghye's envelope")
                newer = pending.pop(data[key], None)
                if newer is not None and newer[0] != data:
                    replaced += 1
                    changed.append(data[key])
                    line = newer[1]  # noqa: PLW2901 - the newer version takes its place
                buffer += line
                lines += 1
                if len(buffer) >= _CHUNK:
                    write_all(fd, bytes(buffer))
                    written += len(buffer)
                    buffer.clear()
            added = len(pending)
            changed.extend(pending)
            for _, line in pending.values():
                buffer += line
                lines += 1
            write_all(fd, bytes(buffer))
            written += len(buffer)
            os.fsync(fd)
        finally:
            os.close(fd)
        # Its name too is durable before a commit vouches for it (a power cut must not leave a
        # commit naming a file the folder lost).
        fsync_dir(target.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        raise storage_error(exc, target) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    if replaced == added == 0:
        with contextlib.suppress(OSError):
            target.unlink()
        return None
    return Rewritten(target.name, written, lines, replaced, added, tuple(changed))


def finish_switch(path: Path, switch: str, offset: int) -> None:
    """Rename the committed refreshed file ``switch`` over the unit's file ``path`` and fsync
    the folder — unless that was done already (the refreshed file is gone, and the unit's file
    has the committed size ``offset``; else DataFileMismatch)."""
    staged = path.with_name(switch)
    try:
        os.replace(staged, path)
    except FileNotFoundError:
        # Renamed before a crash: the unit's file is the refreshed one.
        if committed_size(path, offset) != offset:
            raise mismatch(
                path, f"is not the refreshed file its checkpoint names ({switch} is gone)"
            ) from None
        return
    except OSError as exc:
        raise storage_error(exc, path) from exc
    fsync_dir(path.parent)


def reading_path(path: Path, switch: str | None) -> Path:
    """The file that holds a unit's committed data for a reader that takes no lock: the
    refreshed file while its switch is pending and it is there, else the unit's file."""
    if switch is not None:
        staged = path.with_name(switch)
        if staged.exists():
            return staged
    return path


def sweep_strays(folders: Iterable[Path], keep: set[Path]) -> list[Path]:
    """Remove the refreshed files no checkpoint commit vouches for (a refresh killed before
    its commit), except ``keep``; returns what was removed."""
    removed: list[Path] = []
    for folder in folders:
        try:
            strays = [p for p in folder.glob(f"*{REFRESH_SUFFIX}") if p not in keep]
        except OSError:
            continue
        for stray in strays:
            with contextlib.suppress(FileNotFoundError):
                stray.unlink()
                removed.append(stray)
    return removed


def _record(line: bytes, key: str) -> dict[str, Any] | None:
    """A committed line's record, or None when it is not a record with its id."""
    try:
        data = orjson.loads(line)["data"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(data, dict) or data.get(key) is None:
        return None
    return data


def _committed_lines(path: Path, committed_offset: int) -> Iterable[bytes]:
    if committed_offset <= 0:
        return
    committed_size(path, committed_offset)
    remaining = committed_offset
    try:
        with path.open("rb") as handle:
            for line in handle:
                if remaining <= 0:
                    return
                remaining -= len(line)
                yield line
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc


__all__ = [
    "REFRESH_SUFFIX",
    "Rewritten",
    "finish_switch",
    "reading_path",
    "refreshed_path",
    "sweep_strays",
    "write_refreshed",
]
