"""The checkpoint: what has been collected, durable at every page.

Two files beside each other:

- ``checkpoint.json`` — a snapshot of everything (format_version 2), replaced atomically;
- ``checkpoint.journal`` — one JSON line per mutation since that snapshot, appended and fsynced
  before the mutating call returns. Each line holds the unit's ABSOLUTE new state and a sequence
  number, so replaying it is idempotent and a page commit costs the same for 10 repos or 10,000.

``load()`` = snapshot + replay of the journal lines whose ``seq`` is above the snapshot's. The
journal is folded into a new snapshot every ``compact_every`` commits and on ``save()``/exit:
snapshot written (temp → fsync → rename → fsync folder) *then* journal truncated, so a crash
between the two leaves lines the snapshot already holds — skipped by their seq.

A torn LAST journal line is a write that never returned: ignored (a writer's ``load()`` cuts it
off). Damage anywhere else, or an unparsable snapshot, is :class:`CheckpointCorrupt` naming the
file; nothing is ever deleted or overwritten to "repair" it.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Self

import orjson

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES, SWITCHES, for_switches
from gh_year_end.errors import (
    CheckpointCorrupt,
    CheckpointLocked,
    CheckpointVersionUnsupported,
    GhyeError,
    NoCheckpoint,
    UnknownEndpoint,
    UnknownRepo,
)
from gh_year_end.storage.atomic import (
    TEMP_SUFFIX,
    atomic_write_bytes,
    datasync,
    fsync_dir,
    storage_error,
    temp_prefix,
    utc_now,
    write_all,
)
from gh_year_end.storage.lock import RunLock, holder_state, read_owner

log = logging.getLogger(__name__)

FORMAT_VERSION: Final = 2
JOURNAL_SUFFIX: Final = ".journal"
DEFAULT_COMPACT_EVERY: Final = 2000


class CheckpointStatus(StrEnum):
    """Where a repo, endpoint or phase stands."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"


_STATUSES: Final[dict[str, CheckpointStatus]] = {s.value: s for s in CheckpointStatus}

# --- value parsing (a bad value raises ValueError; load turns it into CheckpointCorrupt) -----


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if type(value) is not int or value < 0:  # type(): a bool is not a count
        raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string, got {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and type(value) is not int:
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return value


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{key} must be true/false, got {value!r}")
    return value


def _status(data: Mapping[str, Any], key: str = "status") -> CheckpointStatus:
    value = data.get(key, "pending")
    # A dict lookup: CheckpointStatus(value) costs ~10x more, and loads do it 60,000 times.
    status = _STATUSES.get(value) if isinstance(value, str) else None
    if status is None:
        raise ValueError(f"{key} {value!r} is not one of pending/in_progress/complete/failed")
    return status


def _moment(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be an ISO date-time string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} {value!r} is not an ISO date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object, got {type(value).__name__}")
    return value


# --- the data model ------------------------------------------------------------------------


@dataclass
class EndpointProgress:
    """Progress of one repo × endpoint unit. ``offset``/``lines`` describe the committed prefix
    of the unit's JSONL file; ``next_url`` is where collection continues."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    pages_collected: int = 0
    records_collected: int = 0
    last_page_written: int = 0
    next_url: str | None = None
    offset: int = 0
    lines: int = 0
    cursor: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool | None = None
    unavailable: bool = False
    updated_at: datetime | None = None
    http_status: int | None = None
    """GitHub's status code behind a failure (404, 451, 403, …), when one was."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the snapshot and the journal."""
        return {
            "status": self.status.value,
            "pages_collected": self.pages_collected,
            "records_collected": self.records_collected,
            "last_page_written": self.last_page_written,
            "next_url": self.next_url,
            "offset": self.offset,
            "lines": self.lines,
            "cursor": self.cursor,
            "error": self.error,
            "retryable": self.retryable,
            "unavailable": self.unavailable,
            "updated_at": _iso(self.updated_at),
            "http_status": self.http_status,
        }

    def to_compact_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields at their defaults (the snapshot's form: a plan
        of 60,000 mostly pending units stays small and quick to load)."""
        return {
            key: value
            for key, value in self.to_dict().items()
            if key == "status" or value != _ENDPOINT_DEFAULTS[key]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointProgress:
        """Parse :meth:`to_dict` output (fields missing in older files take their defaults)."""
        if len(data) == 1 and "status" in data:
            return cls(status=_status(data))  # a pending unit in the snapshot: most of a plan
        fast = _fast_endpoint(data)
        if fast is not None:
            return fast
        # The careful path: one check per field, so a bad value is named in the error.
        return cls(
            status=_status(data),
            pages_collected=_int(data, "pages_collected"),
            records_collected=_int(data, "records_collected"),
            last_page_written=_int(data, "last_page_written"),
            next_url=_opt_str(data, "next_url"),
            offset=_int(data, "offset"),
            lines=_int(data, "lines"),
            cursor=_mapping(data, "cursor"),
            error=_opt_str(data, "error"),
            retryable=_opt_bool(data, "retryable"),
            unavailable=bool(_opt_bool(data, "unavailable")),
            updated_at=_moment(data, "updated_at"),
            http_status=_opt_int(data, "http_status"),
        )

    def copy(self) -> EndpointProgress:
        """An independent copy (the cursor is copied too)."""
        # Not dataclasses.replace: units() copies 60,000 of these for `ghye status`.
        twin = object.__new__(EndpointProgress)
        twin.__dict__.update(self.__dict__)
        twin.cursor = copy.deepcopy(self.cursor) if self.cursor else {}
        return twin


_ENDPOINT_DEFAULTS: Final[dict[str, Any]] = EndpointProgress().to_dict()
_COUNTS: Final = ("pages_collected", "records_collected", "last_page_written", "offset", "lines")


def _fast_endpoint(data: Mapping[str, Any]) -> EndpointProgress | None:
    """A well-formed unit parsed in one go (loads parse 60,000 of these); None → careful path."""
    get = data.get
    status = _STATUSES.get(get("status", "pending"))
    counts = [get(key, 0) for key in _COUNTS]
    next_url, error, cursor = get("next_url"), get("error"), get("cursor")
    retryable, unavailable, updated = get("retryable"), get("unavailable", False), get("updated_at")
    http_status = get("http_status")
    if (
        status is None
        or any(type(v) is not int or v < 0 for v in counts)
        or not (next_url is None or type(next_url) is str)
        or not (error is None or type(error) is str)
        or not (cursor is None or type(cursor) is dict)
        or not (retryable is None or type(retryable) is bool)
        or type(unavailable) is not bool
        or not (updated is None or type(updated) is str)
        or not (http_status is None or type(http_status) is int)
    ):
        return None
    try:
        moment = None if updated is None else datetime.fromisoformat(updated)
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    state = object.__new__(EndpointProgress)
    state.__dict__.update(
        status=status,
        pages_collected=counts[0],
        records_collected=counts[1],
        last_page_written=counts[2],
        next_url=next_url,
        offset=counts[3],
        lines=counts[4],
        cursor=cursor if cursor is not None else {},
        error=error,
        retryable=retryable,
        unavailable=unavailable,
        updated_at=moment,
        http_status=http_status,
    )
    return state


def derive_status(endpoints: Mapping[str, EndpointProgress]) -> CheckpointStatus:
    """A repo's status from its endpoints' (all complete → complete; any in progress → in
    progress; else any failed → failed; all pending → pending; some done → in progress)."""
    statuses = {e.status for e in endpoints.values()}
    if not statuses or statuses == {CheckpointStatus.PENDING}:
        return CheckpointStatus.PENDING
    if statuses == {CheckpointStatus.COMPLETE}:
        return CheckpointStatus.COMPLETE
    if CheckpointStatus.IN_PROGRESS in statuses:
        return CheckpointStatus.IN_PROGRESS
    if CheckpointStatus.FAILED in statuses:
        return CheckpointStatus.FAILED
    return CheckpointStatus.IN_PROGRESS


@dataclass
class RepoProgress:
    """Progress of one repo: its endpoints, and the status derived from them."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None
    endpoints: dict[str, EndpointProgress] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    repo: dict[str, Any] = field(default_factory=dict)
    """The plan entry given to ``update_repos`` (at least ``full_name``)."""

    def header(self) -> dict[str, Any]:
        """The repo-level fields, as a journal line carries them."""
        return {
            "status": self.status.value,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "error": self.error,
        }

    def apply_header(self, data: Mapping[str, Any]) -> None:
        """Set the repo-level fields from :meth:`header` output."""
        self.status = _status(data)
        self.started_at = _moment(data, "started_at")
        self.completed_at = _moment(data, "completed_at")
        error = data.get("error")
        if error is not None and not isinstance(error, dict):
            raise ValueError(f"repo error must be an object, got {error!r}")
        self.error = error

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """JSON-ready form; ``compact`` leaves out endpoint fields at their defaults."""
        data = self.header()
        data["endpoints"] = {
            name: e.to_compact_dict() if compact else e.to_dict()
            for name, e in self.endpoints.items()
        }
        data["repo"] = self.repo
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepoProgress:
        """Parse :meth:`to_dict` output."""
        progress = cls(
            endpoints={
                str(name): EndpointProgress.from_dict(_as_mapping(raw, f"endpoint {name}"))
                for name, raw in _mapping(data, "endpoints").items()
            },
            repo=_mapping(data, "repo"),
        )
        progress.apply_header(data)
        return progress

    def derived(
        self, now: datetime, endpoint: str | None = None, state: EndpointProgress | None = None
    ) -> RepoProgress:
        """The repo-level fields recomputed from the endpoints (with ``endpoint`` set to
        ``state`` if given), as a header-only RepoProgress."""
        endpoints = dict(self.endpoints)
        if endpoint is not None and state is not None:
            endpoints[endpoint] = state
        status = derive_status(endpoints)
        started = self.started_at
        if started is None and status is not CheckpointStatus.PENDING:
            started = now
        completed = (self.completed_at or now) if status is CheckpointStatus.COMPLETE else None
        failed = [(n, e) for n, e in endpoints.items() if e.status is CheckpointStatus.FAILED]
        error: dict[str, Any] | None = None
        if failed:
            # The failure just recorded, else the last one in endpoint order.
            name, worst = next(((n, e) for n, e in failed if n == endpoint), failed[-1])
            error = {
                "endpoint": name,
                "message": worst.error,
                "retryable": worst.retryable,
                "unavailable": worst.unavailable,
            }
        return RepoProgress(
            status=status, started_at=started, completed_at=completed, error=error, repo=self.repo
        )

    def set_header(self, header: RepoProgress) -> None:
        """Take the repo-level fields of ``header``."""
        self.status, self.started_at = header.status, header.started_at
        self.completed_at, self.error = header.completed_at, header.error


def _as_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


# --- the manager ---------------------------------------------------------------------------


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building tens of thousands of small acyclic objects: each
    generation-2 pass would walk the whole checkpoint again (load and units() ~3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class CheckpointManager:
    """Reads, updates and durably records the progress of one target's collection.

    Thread-safe: one lock guards the state and the journal, so workers may commit concurrently.
    Use as a context manager to hold the run lock (``lock_path``) while working.
    """

    def __init__(
        self,
        checkpoint_path: Path,
        lock_path: Path | None = None,
        *,
        journal_path: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
        compact_every: int = DEFAULT_COMPACT_EVERY,
        command: str = "",
    ) -> None:
        """Nothing is read or written until :meth:`load` / :meth:`create_new`."""
        if compact_every < 1:
            raise ValueError(f"compact_every must be >= 1, got {compact_every}")
        self.checkpoint_path = Path(checkpoint_path)
        self.lock_path = Path(lock_path) if lock_path is not None else None
        self.journal_path = (
            Path(journal_path)
            if journal_path is not None
            else self.checkpoint_path.with_suffix(JOURNAL_SUFFIX)
        )
        self._compact_every = compact_every
        self._clock = clock
        self._command = command
        self._read_only = False
        self._lock = threading.Lock()
        self._holder: int | None = None  # thread ident inside _critical (signal deferral)
        self._pending_signal: int | None = None
        self._run_lock: RunLock | None = None
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._broken: str | None = None
        self._previous_handlers: dict[int, Any] | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._loaded = False
        self._meta: dict[str, Any] = {}
        self._phases: dict[str, dict[str, Any]] = {}
        self._current_phase: str | None = None
        self._plan: list[str] = []
        self._repos: dict[str, RepoProgress] = {}
        # Snapshot fragments per repo, rebuilt only for repos changed since the last fold:
        # folding 60,000 units then costs one orjson.dumps, not 60,000 to_dict calls.
        self._repo_dicts: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._seq = 0
        self._snapshot_seq = 0
        self._since_compact = 0
        self._next_compact = self.compact_every

    @property
    def compact_every(self) -> int:
        """Page commits between two folds of the journal into checkpoint.json."""
        return self._compact_every

    @compact_every.setter
    def compact_every(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"compact_every must be >= 1, got {value}")
        self._compact_every = value
        self._next_compact = value

    @classmethod
    def read_only(
        cls, checkpoint_path: Path, journal_path: Path | None = None
    ) -> CheckpointManager:
        """A loaded view for ``ghye status``: no lock, no file touched, journal commits seen."""
        manager = cls(checkpoint_path, None, journal_path=journal_path)
        manager._read_only = True
        manager.load()
        return manager

    # --- locking, signals ----------------------------------------------------------------

    @contextlib.contextmanager
    def _critical(self) -> Iterator[None]:
        with self._lock:
            self._holder = threading.get_ident()
            try:
                yield
            finally:
                self._holder = None
        if (
            self._pending_signal is not None
            and threading.current_thread() is threading.main_thread()
        ):
            signum, self._pending_signal = self._pending_signal, None
            self._interrupt(signum)

    def __enter__(self) -> Self:
        if self.lock_path is not None and self._run_lock is None:
            run_lock = RunLock(self.lock_path, command=self._command)
            run_lock.acquire()
            self._run_lock = run_lock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.save()
            else:
                try:
                    self.save()
                except GhyeError as save_error:  # do not hide the error that got us here
                    # Debug, not warning: the user gets one line, about the error that got us
                    # here (often the same full disk); the journal keeps every commit anyway.
                    log.debug(
                        "checkpoint not folded on exit (%s); the journal holds every commit",
                        save_error,
                    )
        finally:
            self._release_resources()

    def close(self) -> None:
        """Fold the journal (if loaded), close files, restore signal handlers, drop the lock."""
        try:
            self.save()
        finally:
            self._release_resources()

    def _release_resources(self) -> None:
        with self._lock:
            self._close_journal()
        self.restore_signal_handlers()
        run_lock, self._run_lock = self._run_lock, None
        if run_lock is not None:
            run_lock.release()

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM → fold the checkpoint, log one line, raise KeyboardInterrupt.

        The seed's behaviour; the CLI uses its own signals module instead. Main thread only;
        :meth:`restore_signal_handlers` (or :meth:`close`) puts the previous handlers back.
        """
        if self._previous_handlers is not None:
            return
        if threading.current_thread() is not threading.main_thread():
            log.debug("signal handlers can only be installed from the main thread")
            return
        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, self._on_signal)
        self._previous_handlers = previous

    def restore_signal_handlers(self) -> None:
        """Put back the handlers :meth:`install_signal_handlers` replaced."""
        previous, self._previous_handlers = self._previous_handlers, None
        if previous is None:
            return
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    @property
    def signal_handlers_installed(self) -> bool:
        """Whether :meth:`install_signal_handlers` is in effect."""
        return self._previous_handlers is not None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._holder == threading.get_ident():
            # Interrupted inside a commit: finish it first; _critical raises on the way out.
            self._pending_signal = signum
            return
        self._interrupt(signum)

    def _interrupt(self, signum: int) -> None:
        saved = False
        if self._loaded and not self._read_only and self._lock.acquire(blocking=False):
            try:
                self._compact_locked()
                saved = True
            except GhyeError as exc:
                log.warning("could not fold the checkpoint: %s", exc)
            finally:
                self._lock.release()
        name = signal.Signals(signum).name
        where = "checkpoint saved" if saved else "every committed page is in the journal"
        log.warning(
            "%s received — %s (%s); run `ghye resume` to continue",
            name,
            where,
            self.checkpoint_path,
        )
        raise KeyboardInterrupt

    # --- files -------------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether checkpoint.json exists."""
        return self.checkpoint_path.is_file()

    def _corrupt(self, detail: str) -> CheckpointCorrupt:
        return CheckpointCorrupt(
            f"checkpoint {self.checkpoint_path} is damaged ({detail}) — move it aside and run "
            "`ghye collect --force` to start over, or restore it from a backup"
        )

    def _journal_corrupt(self, line_no: int, detail: str) -> CheckpointCorrupt:
        return CheckpointCorrupt(
            f"checkpoint journal {self.journal_path} is damaged at line {line_no} ({detail}) — "
            "move it aside to resume from the last snapshot (pages committed since are fetched "
            "again), or restore it from a backup"
        )

    def load(self) -> None:
        """Read checkpoint.json and replay the journal (a writer also cuts off a torn last line)."""
        self._refuse_if_another_process_writes()
        with self._critical():
            raw, journal = self._read_files()
            with _gc_paused():
                state, upgraded_from = self._parse_snapshot(raw)
                good_end, torn, folded_only = self._replay(journal, state)
            self._install(state)
            if self._read_only:
                return
            try:
                self._cleanup_temps()
                if upgraded_from is not None:
                    name = f"{self.checkpoint_path.name}.v{upgraded_from}.bak"
                    backup = self.checkpoint_path.with_name(name)
                    atomic_write_bytes(backup, raw)
                    log.info(
                        "checkpoint upgraded from format %s (kept as %s)", upgraded_from, backup
                    )
                    self._write_snapshot()
                elif torn or (folded_only and journal):
                    self._truncate_journal_file(0 if folded_only else good_end)
                self._journal_size = self._journal_file_size()
            except BaseException:
                # A torn line left in place must never get a commit appended after it.
                self._loaded = False
                raise

    def _refuse_if_another_process_writes(self) -> None:
        """A writer that does not hold the run lock must not load while another process
        collects: it would cut that process's in-flight journal line and interleave its own."""
        if self._read_only or self.lock_path is None or self._run_lock is not None:
            return
        if holder_state(self.lock_path) != "alive":
            return
        owner = read_owner(self.lock_path)
        if owner is not None and owner.pid != os.getpid():
            raise CheckpointLocked(
                f"checkpoint locked by {owner.describe()} — if that process is gone, run "
                "`ghye unlock`"
            )

    def _read_files(self) -> tuple[bytes, bytes]:
        attempts = 0
        while True:
            before = self._stat_snapshot()
            raw = self._read(self.checkpoint_path)
            if raw is None:
                raise NoCheckpoint(
                    f"no checkpoint at {self.checkpoint_path} — run `ghye collect` to start one"
                )
            journal = self._read(self.journal_path) or b""
            attempts += 1
            # A writer may fold the journal between our two reads; then read both again.
            if not self._read_only or attempts >= 5 or self._stat_snapshot() == before:
                return raw, journal

    def _stat_snapshot(self) -> tuple[int, int, int] | None:
        try:
            st = self.checkpoint_path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(exc, path, action="reading") from exc

    def _parse_snapshot(self, raw: bytes) -> tuple[dict[str, Any], int | None]:
        if not raw.strip():
            raise self._corrupt("the file is empty")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._corrupt(f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise self._corrupt(f"expected a JSON object, found {type(data).__name__}")
        version = data.get("format_version")
        upgraded_from: int | None = None
        if version is None:
            legacy = data.get("version")
            if legacy is None:
                raise self._corrupt("no format_version")
            if str(legacy).split(".")[0] != "1":
                raise self._corrupt(f"unknown version {legacy!r}")
            version = 1
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self._corrupt(f"format_version {version!r} is not a version number")
        if version > FORMAT_VERSION:
            raise CheckpointVersionUnsupported(
                f"checkpoint {self.checkpoint_path} was written by a newer ghye "
                f"(format {version}); upgrade ghye or run `ghye reset`"
            )
        try:
            if version == 1:
                data = _upgrade_v1(data, self._clock())
                upgraded_from = 1
            return _parse_v2(data), upgraded_from
        except (ValueError, TypeError, KeyError) as exc:
            raise self._corrupt(str(exc)) from None

    def _replay(self, raw: bytes, state: dict[str, Any]) -> tuple[int, bool, bool]:
        """Apply journal lines newer than the snapshot to ``state``.

        Returns (end of the last good line, whether a torn last line was found, whether every
        line was already folded into the snapshot).
        """
        base = state["seq"]
        last = base
        pos = good_end = 0
        line_no = 0
        torn = False
        applied = 0
        while pos < len(raw):
            newline = raw.find(b"\n", pos)
            line_no += 1
            if newline == -1:
                torn = True  # the write of this line never finished
                break
            is_last = newline + 1 == len(raw)
            try:
                entry = _parse_entry(raw[pos:newline])
            except ValueError as exc:
                if is_last:
                    torn = True
                    break
                raise self._journal_corrupt(line_no, str(exc)) from None
            seq = entry["seq"]
            if seq > base or applied:
                if seq != last + 1:
                    raise self._journal_corrupt(line_no, f"sequence jumps from {last} to {seq}")
                _apply_entry(state, entry)
                last = seq
                applied += 1
            pos = good_end = newline + 1
        state["seq"] = last
        state["since_compact"] = applied
        return good_end, torn, applied == 0

    def _install(self, state: dict[str, Any]) -> None:
        self._meta = state["meta"]
        self._phases = state["phases"]
        self._current_phase = state["current_phase"]
        self._plan = state["plan"]
        self._repos = state["repos"]
        self._repo_dicts = {}
        self._dirty = set(self._repos)
        self._seq = state["seq"]
        self._snapshot_seq = state["snapshot_seq"]
        self._since_compact = state["since_compact"]
        self._next_compact = self.compact_every
        self._broken = None
        self._loaded = True

    def _cleanup_temps(self) -> None:
        folder = self.checkpoint_path.parent
        for leftover in folder.glob(f"{temp_prefix(self.checkpoint_path)}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _journal_file_size(self) -> int:
        try:
            return self.journal_path.stat().st_size
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise storage_error(exc, self.journal_path, action="reading") from exc

    def _truncate_journal_file(self, size: int) -> None:
        try:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error(exc, self.journal_path) from exc
        try:
            os.ftruncate(fd, size)
            datasync(fd)
        except OSError as exc:
            raise storage_error(exc, self.journal_path) from exc
        finally:
            os.close(fd)

    def _open_journal(self) -> int:
        if self._journal_fd is None:
            created = not self.journal_path.exists()
            try:
                fd = os.open(
                    self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
                )
            except OSError as exc:
                raise storage_error(exc, self.journal_path, action="opening") from exc
            if created:
                try:
                    fsync_dir(self.journal_path.parent)
                except BaseException:
                    os.close(fd)
                    raise
            self._journal_fd = fd
            self._journal_size = os.fstat(fd).st_size
        return self._journal_fd

    def _close_journal(self) -> None:
        fd, self._journal_fd = self._journal_fd, None
        if fd is not None:
            os.close(fd)

    def _append(self, entry: dict[str, Any]) -> None:
        """Append one journal line and fsync it; on any failure the journal is cut back."""
        if self._broken is not None:
            raise storage_error(OSError(0, self._broken), self.journal_path)
        fd = self._open_journal()
        start, seq = self._journal_size, self._seq + 1
        line = orjson.dumps({"seq": seq, **entry}) + b"\n"
        try:
            self._seq, self._journal_size = seq, start + len(line)
            write_all(fd, line)
            datasync(fd)
        except BaseException as exc:
            # Whatever stopped us (ENOSPC, EIO, KeyboardInterrupt), the journal must not keep a
            # partial line in front of the next one: cut it back and give the seq back.
            self._seq, self._journal_size = seq - 1, start
            try:
                os.ftruncate(fd, start)
            except OSError as cut_error:
                self._broken = f"could not undo a failed journal write ({cut_error.strerror})"
            if isinstance(exc, OSError):
                raise storage_error(exc, self.journal_path) from exc
            raise

    def _maybe_compact(self) -> None:
        self._since_compact += 1
        if self._since_compact < self._next_compact:
            return
        try:
            self._compact_locked()
        except GhyeError as exc:
            # The commit itself is durable in the journal; folding is retried later, never
            # reported as a failed commit (the caller would write the page twice).
            self._next_compact = self._since_compact + self.compact_every
            log.warning("could not fold the checkpoint journal (%s); will retry", exc)

    def _snapshot_bytes(self) -> bytes:
        meta = dict(self._meta)
        meta["updated_at"] = self._clock()
        self._meta["updated_at"] = meta["updated_at"]
        document: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "seq": self._seq,
            "created_at": _iso(meta.get("created_at")),
            "updated_at": _iso(meta["updated_at"]),
            "config_digest": meta.get("config_digest"),
            "dataset": meta.get("dataset"),
            "target": meta.get("target"),
            "year": meta.get("year"),
            "current_phase": self._current_phase,
            "phases": self._phases,
            "plan": self._plan,
            "repos": self._repo_fragments(),
        }
        return orjson.dumps(document)

    def _repo_fragments(self) -> dict[str, dict[str, Any]]:
        for name in self._dirty:
            self._repo_dicts[name] = self._repos[name].to_dict(compact=True)
        self._dirty.clear()
        return self._repo_dicts

    def _write_snapshot(self) -> None:
        """Snapshot → checkpoint.json (atomic), then empty the journal (all of it is folded)."""
        atomic_write_bytes(self.checkpoint_path, self._snapshot_bytes())
        self._snapshot_seq = self._seq
        self._since_compact = 0
        self._next_compact = self.compact_every
        if self._journal_size or self._journal_fd is not None or self.journal_path.exists():
            fd = self._open_journal()
            try:
                os.ftruncate(fd, 0)
                datasync(fd)
            except OSError as exc:
                raise storage_error(exc, self.journal_path) from exc
            self._journal_size = 0

    def _compact_locked(self) -> None:
        if self._loaded and not self._read_only and self._seq != self._snapshot_seq:
            self._write_snapshot()

    def save(self) -> None:
        """Fold the journal into checkpoint.json now (a no-op when nothing changed)."""
        with self._critical():
            self._compact_locked()

    def compact(self) -> None:
        """Same as :meth:`save`."""
        self.save()

    def create_new(self, config: Config) -> None:
        """Start a fresh checkpoint for ``config`` (and an empty journal)."""
        self._require_writable()
        with self._critical():
            now = self._clock()
            # The old journal goes first: its lines must never be replayed onto the new snapshot.
            self._close_journal()
            self._truncate_journal_file(0)
            self._reset_state()
            self._meta = {
                "created_at": now,
                "updated_at": now,
                "config_digest": config.digest,
                "dataset": config.dataset_keys(),
                "target": {"mode": config.github.target.mode, "name": config.github.target.name},
                "year": config.github.windows.year,
            }
            self._loaded = True
            self._broken = None
            self._journal_size = self._journal_file_size()
            self._write_snapshot()

    def delete_if_exists(self) -> None:
        """Delete checkpoint.json, its journal and leftover temp files; forget the state."""
        self._require_writable()
        with self._critical():
            self._close_journal()
            removed = False
            # Journal first: a crash in between leaves the snapshot alone, an older valid state.
            for path in (self.journal_path, self.checkpoint_path):
                try:
                    path.unlink()
                    removed = True
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise storage_error(exc, path, action="deleting") from exc
            self._cleanup_temps()
            if removed:
                fsync_dir(self.checkpoint_path.parent)
            self._reset_state()
            self._journal_size = 0
            self._broken = None

    # --- config --------------------------------------------------------------------------

    def validate_config(self, config: Config) -> bool:
        """Whether ``config`` defines the same dataset as the checkpoint's."""
        self._require_loaded()
        return bool(self._meta.get("config_digest") == config.digest)

    def changed_keys(self, config: Config) -> list[str]:
        """Dataset key paths whose values differ between the checkpoint and ``config``."""
        self._require_loaded()
        current = config.dataset_keys()
        stored = self._meta.get("dataset")
        if not isinstance(stored, dict):
            # A checkpoint that predates the dataset keys: only the digest can be compared.
            return [] if self.validate_config(config) else list(current)
        missing = object()
        names = list(current) + [k for k in stored if k not in current]
        return [k for k in names if stored.get(k, missing) != current.get(k, missing)]

    @property
    def config_digest(self) -> str | None:
        """The digest of the config the checkpoint was made with."""
        digest = self._meta.get("config_digest")
        return digest if isinstance(digest, str) else None

    @property
    def target(self) -> dict[str, Any] | None:
        """``{"mode": ..., "name": ...}`` of the checkpoint's target."""
        target = self._meta.get("target")
        return dict(target) if isinstance(target, dict) else None

    @property
    def created_at(self) -> datetime | None:
        """When the checkpoint was created."""
        created = self._meta.get("created_at")
        return created if isinstance(created, datetime) else None

    @property
    def loaded(self) -> bool:
        """Whether the state is in memory (after load or create_new)."""
        return self._loaded

    # --- plan ----------------------------------------------------------------------------

    def planned_endpoints(self) -> list[str]:
        """The endpoints the checkpoint's dataset keys switch on, in plan order."""
        dataset = self._meta.get("dataset")
        if not isinstance(dataset, dict):
            return []
        switches = [n for n in SWITCHES if dataset.get(f"collection.enable.{n}")]
        return [e.name for e in for_switches(switches)]

    def update_repos(
        self, repos: Sequence[Mapping[str, Any]], *, endpoints: Sequence[str] | None = None
    ) -> None:
        """Set the plan: ``repos`` in the given order, each with ``endpoints`` (default: the
        enabled ones). Progress of repos already known is kept. Folded at once (durable)."""
        self._require_writable()
        entries: list[dict[str, Any]] = []
        seen: set[str] = set()
        for repo in repos:
            name = repo.get("full_name") if isinstance(repo, Mapping) else None
            if not isinstance(name, str) or "/" not in name:
                raise ValueError(f"a repo needs a full_name like 'owner/name', got {repo!r}")
            if name not in seen:
                seen.add(name)
                entries.append(dict(repo))
        with self._critical():
            self._require_loaded()
            wanted = list(endpoints) if endpoints is not None else self.planned_endpoints()
            now = self._clock()
            for entry in entries:
                name = entry["full_name"]
                progress = self._repos.get(name)
                if progress is None:
                    progress = RepoProgress(repo=entry)
                    self._repos[name] = progress
                else:
                    progress.repo = entry
                self._dirty.add(name)
                for endpoint in wanted:
                    progress.endpoints.setdefault(endpoint, EndpointProgress())
                progress.set_header(progress.derived(now))
            # Repos no longer listed keep their progress (their files exist) but leave the plan.
            self._plan = [e["full_name"] for e in entries]
            self._write_snapshot()

    def repo_names(self) -> list[str]:
        """The planned repos, in plan order."""
        with self._lock:
            return list(self._plan)

    def _unknown_repo(self, name: str, flag: str) -> UnknownRepo:
        close = difflib.get_close_matches(name, self._plan, n=3, cutoff=0.6)
        hint = f" — did you mean {', '.join(close)}?" if close else ""
        return UnknownRepo(
            f"{flag} {name} is not in the checkpoint's plan{hint} "
            "(`ghye status` lists the planned repos)"
        )

    def get_repos_to_process(
        self, retry_failed: bool = False, from_repo: str | None = None
    ) -> list[dict[str, Any]]:
        """The plan entries still to work on, in plan order.

        Skips repos whose every known endpoint is complete, and failed repos unless
        ``retry_failed``. ``from_repo``: that repo and the ones after it (UnknownRepo if absent).
        """
        with self._lock:
            self._require_loaded()
            names = self._plan
            if from_repo is not None:
                try:
                    start = names.index(from_repo)
                except ValueError:
                    raise self._unknown_repo(from_repo, "--from-repo") from None
                names = names[start:]
            result: list[dict[str, Any]] = []
            for name in names:
                progress = self._repos[name]
                states = progress.endpoints.values()
                if states and all(e.status is CheckpointStatus.COMPLETE for e in states):
                    continue
                if progress.status is CheckpointStatus.FAILED and not retry_failed:
                    continue
                result.append(dict(progress.repo) or {"full_name": name})
            return result

    # --- units ---------------------------------------------------------------------------

    def get_endpoint(self, repo: str, endpoint: str) -> EndpointProgress:
        """A copy of one unit's progress (a fresh pending one if never touched)."""
        with self._lock:
            progress = self._repos.get(repo)
            state = progress.endpoints.get(endpoint) if progress is not None else None
            return state.copy() if state is not None else EndpointProgress()

    def get_repo(self, repo: str) -> RepoProgress | None:
        """A copy of one repo's progress, or None if unknown."""
        with self._lock:
            progress = self._repos.get(repo)
            if progress is None:
                return None
            return replace(
                progress,
                endpoints={n: e.copy() for n, e in progress.endpoints.items()},
                error=dict(progress.error) if progress.error else None,
                repo=dict(progress.repo),
            )

    def view_repos(self) -> Iterator[tuple[str, RepoProgress]]:
        """Every planned repo and its progress, in plan order, WITHOUT copies: for a read-only
        manager (``ghye status`` reads 60,000 units); the objects must not be changed."""
        if not self._read_only:
            raise RuntimeError("view_repos() is for read-only managers; use units()")
        for name in self._plan:
            yield name, self._repos[name]

    def units(self) -> list[tuple[str, str, EndpointProgress]]:
        """Every (repo, endpoint, progress copy) of the planned repos, in plan order."""
        with self._lock, _gc_paused():
            return [
                (name, endpoint, state.copy())
                for name in self._plan
                for endpoint, state in self._repos[name].endpoints.items()
            ]

    def is_repo_endpoint_complete(self, repo: str, endpoint: str) -> bool:
        """Whether the unit is complete."""
        return self.get_endpoint(repo, endpoint).status is CheckpointStatus.COMPLETE

    def get_resume_page(self, repo: str, endpoint: str) -> int:
        """The page to fetch next: last page written + 1 (1 when starting)."""
        return self.get_endpoint(repo, endpoint).last_page_written + 1

    def _commit_unit(
        self, repo: str, endpoint: str, change: Callable[[EndpointProgress], EndpointProgress]
    ) -> None:
        """Journal the unit's new absolute state (durable on return), then install it."""
        self._require_writable()
        with self._critical():
            self._require_loaded()
            now = self._clock()
            progress = self._repos.get(repo)
            current = progress.endpoints.get(endpoint) if progress is not None else None
            state = change(current.copy() if current is not None else EndpointProgress())
            state.updated_at = now
            header = (progress or RepoProgress()).derived(now, endpoint, state)
            self._append(
                {
                    "op": "unit",
                    "repo": repo,
                    "endpoint": endpoint,
                    "state": state.to_dict(),
                    "repo_state": header.header(),
                }
            )
            if progress is None:
                progress = RepoProgress(repo={"full_name": repo})
                self._repos[repo] = progress
                self._plan.append(repo)
            progress.endpoints[endpoint] = state
            progress.set_header(header)
            self._dirty.add(repo)
            self._maybe_compact()

    def update_progress(
        self,
        repo: str,
        endpoint: str,
        page: int,
        records: int,
        *,
        next_url: str | None = None,
        offset: int | None = None,
        lines: int | None = None,
        cursor: dict[str, Any] | None = None,
        complete: bool = False,
    ) -> None:
        """Commit one page: durable (journal line fsynced) when this returns.

        ``offset``/``lines`` are the data file's durable size after the page (from
        ``JSONLWriter.flush``); ``complete`` marks the unit complete in the same commit.
        """
        if page < 0 or records < 0:
            raise ValueError(f"page and records must be >= 0, got page={page} records={records}")

        def change(state: EndpointProgress) -> EndpointProgress:
            if offset is not None and offset < state.offset:
                raise ValueError(
                    f"{repo} {endpoint}: offset {offset} is behind the committed {state.offset}"
                )
            if lines is not None and lines < state.lines:
                raise ValueError(
                    f"{repo} {endpoint}: lines {lines} is behind the committed {state.lines}"
                )
            state.status = CheckpointStatus.COMPLETE if complete else CheckpointStatus.IN_PROGRESS
            state.pages_collected += 1
            state.records_collected += records
            state.last_page_written = page
            state.next_url = next_url
            if offset is not None:
                state.offset = offset
            if lines is not None:
                state.lines = lines
            if cursor is not None:
                state.cursor = copy.deepcopy(cursor)
            state.error, state.retryable, state.unavailable = None, None, False
            state.http_status = None
            return state

        self._commit_unit(repo, endpoint, change)

    def mark_repo_endpoint_in_progress(self, repo: str, endpoint: str) -> None:
        """The unit is being worked on."""

        def change(state: EndpointProgress) -> EndpointProgress:
            state.status = CheckpointStatus.IN_PROGRESS
            return state

        self._commit_unit(repo, endpoint, change)

    def mark_repo_endpoint_complete(self, repo: str, endpoint: str) -> None:
        """The unit is done: nothing left to fetch."""

        def change(state: EndpointProgress) -> EndpointProgress:
            state.status = CheckpointStatus.COMPLETE
            state.next_url = None
            state.error, state.retryable, state.unavailable = None, None, False
            state.http_status = None
            return state

        self._commit_unit(repo, endpoint, change)

    def mark_repo_endpoint_failed(
        self,
        repo: str,
        endpoint: str,
        error: str,
        retryable: bool,
        *,
        unavailable: bool = False,
        http_status: int | None = None,
    ) -> None:
        """The unit stopped on ``error``; its committed progress is kept for a retry.

        ``http_status``: GitHub's status code behind the failure, if any (404, 451, 403, …).
        """

        def change(state: EndpointProgress) -> EndpointProgress:
            state.status = CheckpointStatus.FAILED
            state.error, state.retryable, state.unavailable = error, retryable, unavailable
            state.http_status = http_status
            return state

        self._commit_unit(repo, endpoint, change)

    def reset_endpoint(self, repo: str, endpoint: str) -> None:
        """Back to pending with every counter zeroed (truncate its file with committed_offset=0)."""
        with self._lock:
            self._require_loaded()
            if repo not in self._repos:
                raise self._unknown_repo(repo, "--repo")
            known = set(self._repos[repo].endpoints) | set(ENDPOINT_NAMES)
            if endpoint not in known:
                raise UnknownEndpoint(
                    f"--endpoint {endpoint} is not one ghye collects "
                    f"(one of: {', '.join(ENDPOINT_NAMES)})"
                )
        self._commit_unit(repo, endpoint, lambda _state: EndpointProgress())

    # --- phases --------------------------------------------------------------------------

    def _commit_phases(self, change: Callable[[dict[str, dict[str, Any]]], str | None]) -> None:
        self._require_writable()
        with self._critical():
            self._require_loaded()
            phases = copy.deepcopy(self._phases)
            current = change(phases)
            self._append({"op": "phases", "phases": phases, "current_phase": current})
            self._phases, self._current_phase = phases, current
            self._maybe_compact()

    def set_current_phase(self, phase: str) -> None:
        """Enter ``phase`` (in progress unless already complete)."""
        now = _iso(self._clock())

        def change(phases: dict[str, dict[str, Any]]) -> str:
            entry = phases.setdefault(phase, {"status": CheckpointStatus.PENDING.value})
            if entry.get("status") != CheckpointStatus.COMPLETE.value:
                entry["status"] = CheckpointStatus.IN_PROGRESS.value
                entry.setdefault("started_at", now)
            return phase

        self._commit_phases(change)

    def mark_phase_complete(self, phase: str) -> None:
        """``phase`` is done."""
        now = _iso(self._clock())

        def change(phases: dict[str, dict[str, Any]]) -> str | None:
            entry = phases.setdefault(phase, {})
            entry["status"] = CheckpointStatus.COMPLETE.value
            entry.setdefault("started_at", now)
            entry["completed_at"] = now
            return self._current_phase

        self._commit_phases(change)

    def annotate_phase(self, phase: str, **details: Any) -> None:
        """Record JSON-ready ``details`` in ``phase``'s entry (e.g. what discovery refused)."""

        def change(phases: dict[str, dict[str, Any]]) -> str | None:
            phases.setdefault(phase, {"status": CheckpointStatus.PENDING.value}).update(details)
            return self._current_phase

        self._commit_phases(change)

    def phase_detail(self, phase: str, key: str) -> Any:
        """A detail recorded with :meth:`annotate_phase` (None if there is none)."""
        with self._lock:
            return copy.deepcopy(self._phases.get(phase, {}).get(key))

    def is_phase_complete(self, phase: str) -> bool:
        """Whether ``phase`` was marked complete."""
        with self._lock:
            return self._phases.get(phase, {}).get("status") == CheckpointStatus.COMPLETE.value

    @property
    def current_phase(self) -> str | None:
        """The phase last entered."""
        return self._current_phase

    # --- reporting -----------------------------------------------------------------------

    def get_stats(self) -> dict[str, int]:
        """Counts of planned repos by status, units by status, and page/record totals."""
        stats = {
            "total_repos": 0,
            "repos_complete": 0,
            "repos_in_progress": 0,
            "repos_pending": 0,
            "repos_failed": 0,
            "total_units": 0,
            "units_complete": 0,
            "units_in_progress": 0,
            "units_pending": 0,
            "units_failed": 0,
            "units_unavailable": 0,
            "pages_collected": 0,
            "records_collected": 0,
        }
        repo_key = {status: f"repos_{status.value}" for status in CheckpointStatus}
        unit_key = {status: f"units_{status.value}" for status in CheckpointStatus}
        with self._lock:
            for name in self._plan:
                progress = self._repos[name]
                stats[repo_key[progress.status]] += 1
                for state in progress.endpoints.values():
                    stats[unit_key[state.status]] += 1
                    stats["units_unavailable"] += state.unavailable
                    stats["pages_collected"] += state.pages_collected
                    stats["records_collected"] += state.records_collected
                stats["total_units"] += len(progress.endpoints)
            stats["total_repos"] = len(self._plan)
        return stats

    # --- guards --------------------------------------------------------------------------

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("checkpoint not loaded: call load() or create_new() first")

    def _require_writable(self) -> None:
        if self._read_only:
            raise RuntimeError("this checkpoint view is read-only")

    def __repr__(self) -> str:
        path = str(self.checkpoint_path)
        return f"CheckpointManager({path!r}, seq={self._seq}, repos={len(self._plan)})"


# --- file formats --------------------------------------------------------------------------


def _parse_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    """checkpoint.json (format 2) → the manager's state; ValueError when malformed."""
    seq = _int(data, "seq")
    repos_raw = _mapping(data, "repos")
    repos = {
        str(name): RepoProgress.from_dict(_as_mapping(raw, f"repo {name}"))
        for name, raw in repos_raw.items()
    }
    plan_raw = data.get("plan", list(repos))
    if not isinstance(plan_raw, list) or not all(isinstance(n, str) for n in plan_raw):
        raise ValueError("plan must be a list of repo names")
    for name in plan_raw:
        if name not in repos:
            raise ValueError(f"plan names {name}, which has no progress entry")
        if not repos[name].repo:
            repos[name].repo = {"full_name": name}
    phases = _mapping(data, "phases")
    for name, phase in phases.items():
        _as_mapping(phase, f"phase {name}")
    current = _opt_str(data, "current_phase")
    dataset = data.get("dataset")
    if dataset is not None and not isinstance(dataset, dict):
        raise ValueError("dataset must be a JSON object")
    target = data.get("target")
    if target is not None and not isinstance(target, dict):
        raise ValueError("target must be a JSON object")
    meta = {
        "created_at": _moment(data, "created_at"),
        "updated_at": _moment(data, "updated_at"),
        "config_digest": _opt_str(data, "config_digest"),
        "dataset": dataset,
        "target": target,
        "year": data.get("year"),
    }
    return {
        "meta": meta,
        "phases": phases,
        "current_phase": current,
        "plan": list(plan_raw),
        "repos": repos,
        "seq": seq,
        "snapshot_seq": seq,
        "since_compact": 0,
    }


def _upgrade_v1(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The seed's layout (version "1.0") → format 2.

    Version 1 recorded no byte offsets, so a unit that was part-way cannot resume exactly: it
    starts over from page 1 (its file is cut to 0 when reopened). Complete units are kept.
    """
    repos: dict[str, Any] = {}
    for name, raw in _mapping(data, "repos").items():
        repo = _as_mapping(raw, f"repo {name}")
        repo_error = repo.get("error") if isinstance(repo.get("error"), dict) else None
        endpoints: dict[str, Any] = {}
        for endpoint, ep_raw in _mapping(repo, "endpoints").items():
            old = EndpointProgress.from_dict(_as_mapping(ep_raw, f"endpoint {endpoint}"))
            if old.status is CheckpointStatus.COMPLETE:
                new = replace(old, lines=old.records_collected)
            elif old.status is CheckpointStatus.FAILED:
                message = repo_error.get("message") if repo_error else None
                retryable = repo_error.get("retryable") if repo_error else None
                new = EndpointProgress(
                    status=CheckpointStatus.FAILED,
                    error=message if isinstance(message, str) else "failed (recorded by version 1)",
                    retryable=retryable if isinstance(retryable, bool) else True,
                )
            else:
                new = EndpointProgress()
            endpoints[endpoint] = new
        progress = RepoProgress(endpoints=endpoints, repo={"full_name": name})
        started = _moment(repo, "started_at")
        progress.set_header(progress.derived(started or now))
        if progress.status is CheckpointStatus.COMPLETE:
            progress.completed_at = _moment(repo, "completed_at") or progress.completed_at
        repos[str(name)] = progress.to_dict()
    phases = {
        str(name): dict(phase)
        for name, phase in _mapping(data, "phases").items()
        if isinstance(phase, dict)
    }
    return {
        "format_version": FORMAT_VERSION,
        "seq": 0,
        "created_at": data.get("created_at"),
        "updated_at": data.get("updated_at"),
        "config_digest": data.get("config_digest"),
        "dataset": None,
        "target": data.get("target") if isinstance(data.get("target"), dict) else None,
        "year": data.get("year"),
        "current_phase": data.get("current_phase")
        if isinstance(data.get("current_phase"), str)
        else None,
        "phases": phases,
        "plan": list(repos),
        "repos": repos,
    }


def _parse_entry(line: bytes) -> dict[str, Any]:
    """One journal line → a validated entry (ValueError if it is not one)."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    seq = entry.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError(f"bad seq {seq!r}")
    op = entry.get("op")
    if op == "unit":
        if not isinstance(entry.get("repo"), str) or not isinstance(entry.get("endpoint"), str):
            raise ValueError("a unit entry needs repo and endpoint")
        entry["state"] = EndpointProgress.from_dict(_as_mapping(entry.get("state"), "state"))
        header = RepoProgress()
        header.apply_header(_as_mapping(entry.get("repo_state"), "repo_state"))
        entry["repo_state"] = header
    elif op == "phases":
        phases = _as_mapping(entry.get("phases"), "phases")
        for name, phase in phases.items():
            _as_mapping(phase, f"phase {name}")
        _opt_str(entry, "current_phase")
    else:
        raise ValueError(f"unknown op {op!r}")
    return entry


def _apply_entry(state: dict[str, Any], entry: Mapping[str, Any]) -> None:
    if entry["op"] == "phases":
        state["phases"] = dict(entry["phases"])
        state["current_phase"] = entry.get("current_phase")
        return
    repos: dict[str, RepoProgress] = state["repos"]
    name: str = entry["repo"]
    progress = repos.get(name)
    if progress is None:
        progress = RepoProgress(repo={"full_name": name})
        repos[name] = progress
        state["plan"].append(name)
    progress.endpoints[entry["endpoint"]] = entry["state"]
    progress.set_header(entry["repo_state"])


__all__ = [
    "FORMAT_VERSION",
    "CheckpointManager",
    "CheckpointStatus",
    "EndpointProgress",
    "RepoProgress",
    "derive_status",
]
