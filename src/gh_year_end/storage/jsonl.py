"""JSONL writers: one envelope line per record, durable page flushes, truncate-to-commit on reopen.

A page commit is: :meth:`JSONLWriter.write` each record (buffered) → :meth:`JSONLWriter.flush`
(write, fsync; returns the durable ``(offset, lines)``) → record that offset in the checkpoint.
Reopening with the checkpoint's ``committed_offset`` cuts off whatever a crash left after the
last commit, so the file is again exactly the committed records.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import DataFileMismatch
from gh_year_end.storage.atomic import (
    datasync,
    ensure_dir,
    ensure_durable_dir,
    fsync_dir,
    iso_z,
    storage_error,
    utc_now,
    write_all,
)

#: The envelope's ``source`` of records read from GitHub's REST API.
SOURCE_REST = "github_rest"
#: The envelope's ``source`` of records read from GitHub's GraphQL API (in REST's shape).
SOURCE_GRAPHQL = "github_graphql"


def envelope_line(
    *,
    timestamp: str,
    source: str,
    endpoint: str,
    repo: str | None,
    page: int | None,
    request_id: str | None,
    data: dict[str, Any],
) -> bytes:
    """One record as a JSONL line in ghye's envelope (the only place its keys are written)."""
    return (
        orjson.dumps(
            {
                "timestamp": timestamp,
                "source": source,
                "endpoint": endpoint,
                "repo": repo,
                "page": page,
                "request_id": request_id,
                "data": data,
            }
        )
        + b"\n"
    )


def _unit_of(path: Path, repo: str | None, endpoint: str | None) -> tuple[str, str]:
    """Best names for the reset hint: explicit ones, else read off the data layout."""
    if endpoint is None:
        endpoint = path.parent.name if path.parent.name in ENDPOINT_NAMES else "<endpoint>"
    if repo is None:
        owner, sep, name = path.stem.partition("__")
        repo = f"{owner}/{name}" if sep else "<owner/repo>"
    return repo, endpoint


def mismatch(
    path: Path, what: str, *, repo: str | None = None, endpoint: str | None = None
) -> DataFileMismatch:
    """The one error for a data file that no longer holds what its checkpoint committed."""
    repo, endpoint = _unit_of(path, repo, endpoint)
    return DataFileMismatch(
        f"{path} {what} — it was changed outside ghye; run "
        f"`ghye reset --repo {repo} --endpoint {endpoint}` to collect that unit again"
    )


def committed_size(
    path: Path, committed_offset: int, *, repo: str | None = None, endpoint: str | None = None
) -> int | None:
    """The size of a unit's file after checking it still holds its committed prefix.

    None when the file is missing and nothing was committed; DataFileMismatch when it is
    missing or shorter than ``committed_offset``.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if committed_offset > 0:
            raise mismatch(
                path,
                f"is missing but the checkpoint says it holds {committed_offset} bytes",
                repo=repo,
                endpoint=endpoint,
            ) from None
        return None
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc
    if size < committed_offset:
        raise mismatch(
            path,
            f"is shorter than the checkpoint says ({size} < {committed_offset} bytes)",
            repo=repo,
            endpoint=endpoint,
        )
    return size


class JSONLWriter:
    """Appends envelope lines to one JSONL file; :meth:`flush` makes them durable."""

    def __init__(
        self,
        path: Path,
        *,
        repo: str | None = None,
        committed_offset: int | None = None,
        committed_lines: int = 0,
        endpoint: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Open ``path`` for appending, creating its folders.

        ``committed_offset`` None: plain append. Given: a missing file is created when the
        offset is 0; a longer file is truncated to it (the uncommitted tail of a crashed page);
        a shorter or missing file raises :class:`DataFileMismatch`. Given 0 (nothing committed
        yet), the file's and its folder's names are made durable before the first commit, even
        when a killed run created them and never fsynced their folders.
        """
        self.path = path
        self.repo = repo
        self.endpoint = endpoint
        self._clock = clock
        self._buffer: list[bytes] = []
        self._fd: int | None = None
        fresh = committed_offset == 0
        if fresh:
            ensure_durable_dir(path.parent)
        else:
            ensure_dir(path.parent)
        existed = path.exists()
        if committed_offset is not None and not existed and committed_offset > 0:
            raise self._mismatch(
                f"is missing but the checkpoint says it holds {committed_offset} bytes"
            )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise storage_error(exc, path, action="opening") from exc
        try:
            size = os.fstat(fd).st_size
            if committed_offset is not None:
                self._check_and_cut(fd, size, committed_offset)
                size = committed_offset
            if not existed or fresh:
                fsync_dir(path.parent)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.offset: int = size
        """Bytes of the file that are durable (as of the last flush)."""
        self.lines: int = committed_lines
        """Lines in that durable prefix (``committed_lines`` + lines flushed since)."""

    def _mismatch(self, what: str) -> DataFileMismatch:
        return mismatch(self.path, what, repo=self.repo, endpoint=self.endpoint)

    def _check_and_cut(self, fd: int, size: int, committed: int) -> None:
        if committed < 0:
            raise ValueError(f"committed_offset must be >= 0, got {committed}")
        if size < committed:
            raise self._mismatch(
                f"is shorter than the checkpoint says ({size} < {committed} bytes)"
            )
        if committed > 0:
            # A committed prefix always ends a line; anything else means the file was rewritten.
            try:
                with open(self.path, "rb") as reader:
                    reader.seek(committed - 1)
                    last = reader.read(1)
            except OSError as exc:
                raise storage_error(exc, self.path, action="reading") from exc
            if last != b"\n":
                raise self._mismatch(f"does not end a line at the committed offset {committed}")
        if size > committed:
            try:
                os.ftruncate(fd, committed)
                datasync(fd)
            except OSError as exc:
                raise storage_error(exc, self.path, action="truncating") from exc

    @property
    def pending(self) -> int:
        """Lines written but not yet flushed."""
        return len(self._buffer)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._fd is None

    def write(
        self,
        *,
        source: str,
        endpoint: str,
        data: dict[str, Any],
        repo: str | None = None,
        page: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Buffer one record's envelope line (nothing touches the disk until :meth:`flush`)."""
        if self._fd is None:
            raise ValueError(f"write to closed JSONLWriter({self.path})")
        self._buffer.append(
            envelope_line(
                timestamp=iso_z(self._clock()),
                source=source,
                endpoint=endpoint,
                repo=repo if repo is not None else self.repo,
                page=page,
                request_id=request_id,
                data=data,
            )
        )

    def flush(self) -> tuple[int, int]:
        """Write the buffered lines and fsync; return the durable ``(offset, lines)``.

        On an OSError the file is cut back to the last durable offset, the buffered lines are
        dropped (they were never committed) and :class:`StorageError` is raised.
        """
        if self._fd is None:
            raise ValueError(f"flush of closed JSONLWriter({self.path})")
        if not self._buffer:
            return self.offset, self.lines
        data = b"".join(self._buffer)
        count = len(self._buffer)
        self._buffer.clear()
        try:
            write_all(self._fd, data)
            datasync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.offset)
            raise storage_error(exc, self.path) from exc
        self.offset += len(data)
        self.lines += count
        return self.offset, self.lines

    def discard(self) -> None:
        """Drop the buffered lines (a page abandoned half-way)."""
        self._buffer.clear()

    def close(self) -> None:
        """Flush what is buffered, then close. Idempotent."""
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Leaving on an exception: the page being written is incomplete, so it is not flushed.
        if exc is not None:
            self.discard()
        self.close()

    def __repr__(self) -> str:
        return f"JSONLWriter({str(self.path)!r}, offset={self.offset}, lines={self.lines})"


class AsyncJSONLWriter:
    """:class:`JSONLWriter` for asyncio: ``await write(...)``, ``await flush()``, ``async with``.

    The fsync runs in a worker thread so the event loop keeps serving other units meanwhile.
    """

    def __init__(
        self,
        path: Path,
        *,
        repo: str | None = None,
        committed_offset: int | None = None,
        committed_lines: int = 0,
        endpoint: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Open ``path`` exactly as :class:`JSONLWriter` does."""
        self._writer = JSONLWriter(
            path,
            repo=repo,
            committed_offset=committed_offset,
            committed_lines=committed_lines,
            endpoint=endpoint,
            clock=clock,
        )

    @property
    def path(self) -> Path:
        """The file written."""
        return self._writer.path

    @property
    def offset(self) -> int:
        """Durable bytes (as of the last flush)."""
        return self._writer.offset

    @property
    def lines(self) -> int:
        """Durable lines (as of the last flush)."""
        return self._writer.lines

    @property
    def pending(self) -> int:
        """Lines written but not yet flushed."""
        return self._writer.pending

    async def write(
        self,
        *,
        source: str,
        endpoint: str,
        data: dict[str, Any],
        repo: str | None = None,
        page: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Buffer one record's envelope line."""
        self._writer.write(
            source=source, endpoint=endpoint, data=data, repo=repo, page=page, request_id=request_id
        )

    async def flush(self) -> tuple[int, int]:
        """Write and fsync the buffered lines; return the durable ``(offset, lines)``."""
        return await asyncio.to_thread(self._writer.flush)

    def discard(self) -> None:
        """Drop the buffered lines."""
        self._writer.discard()

    async def close(self) -> None:
        """Flush what is buffered, then close."""
        await asyncio.to_thread(self._writer.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._writer.discard()
        await self.close()


__all__ = ["AsyncJSONLWriter", "JSONLWriter"]
