"""An open checkpoint: the state in memory, the store, one lock, the run lock, and when to fold.

:class:`Session` is the machinery under :class:`~.manager.CheckpointManager` (which adds the
seed's API): every change goes through :meth:`Session._record` — journalled (durable) *before*
it reaches the in-memory state, under the one lock, so workers may commit concurrently and a
crash at any instant leaves a checkpoint describing an exact prefix of every unit's file.

The journal is folded into a snapshot every ``compact_every`` commits and on save/exit; a fold
that fails is retried later and never reported as a failed commit (the caller would write the
page twice). The seed's SIGINT/SIGTERM handlers fold and raise KeyboardInterrupt; a signal
that lands inside a commit waits for the commit to finish.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Self

from gh_year_end.errors import CheckpointLocked, GhyeError
from gh_year_end.storage.atomic import utc_now
from gh_year_end.storage.checkpoint.state import CheckpointState, JournalEntry, apply_entry
from gh_year_end.storage.checkpoint.store import CheckpointStore, LoadedState, LocalStore
from gh_year_end.storage.lock import RunLock, holder_state, read_owner

log = logging.getLogger(__name__)

DEFAULT_COMPACT_EVERY: Final = 2000


class Session:
    """One target's checkpoint, held open by this process (see the module docstring)."""

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
        """Nothing is read or written until :meth:`load` (or the manager's create_new)."""
        if compact_every < 1:
            raise ValueError(f"compact_every must be >= 1, got {compact_every}")
        self.checkpoint_path = Path(checkpoint_path)
        self.lock_path = Path(lock_path) if lock_path is not None else None
        local = LocalStore(
            self.checkpoint_path,
            Path(journal_path) if journal_path is not None else None,
            clock=clock,
        )
        self.journal_path = local.journal_path
        self._store: CheckpointStore = local
        self._compact_every = compact_every
        self._clock = clock
        self._command = command
        self._read_only = False
        self._lock = threading.Lock()
        self._holder: int | None = None  # thread ident inside _critical (signal deferral)
        self._pending_signal: int | None = None
        self._run_lock: RunLock | None = None
        self._previous_handlers: dict[int, Any] | None = None
        self._forget()

    def _install(self, loaded: LoadedState) -> None:
        self._state = loaded.state
        self._snapshot_seq = loaded.snapshot_seq
        self._since_compact = loaded.pending
        self._next_compact = self._compact_every
        self._loaded = True

    def _forget(self) -> None:
        self._install(LoadedState(CheckpointState(), 0, 0))
        self._loaded = False

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

    @property
    def loaded(self) -> bool:
        """Whether the state is in memory (after load or create_new)."""
        return self._loaded

    # --- the lock, the run lock, signals -------------------------------------------------------

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
            self._store.close()
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
                self._fold_locked()
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

    # --- loading, recording, folding -----------------------------------------------------------

    def exists(self) -> bool:
        """Whether checkpoint.json exists."""
        return self._store.exists()

    def load(self) -> None:
        """Read checkpoint.json and replay the journal (a writer also cuts off a torn last line)."""
        self._refuse_if_another_process_writes()
        with self._critical():
            try:
                loaded = self._store.load()
            except BaseException:
                # Never commit on top of a journal whose torn line may still be in place.
                self._loaded = False
                raise
            self._install(loaded)

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

    def _record(self, entry: JournalEntry) -> None:
        """Journal ``entry`` (durable on return), apply it, fold if it is time (lock held)."""
        self._store.append(entry)
        apply_entry(self._state, entry)
        self._since_compact += 1
        if self._since_compact < self._next_compact:
            return
        try:
            self._fold_locked()
        except GhyeError as exc:
            # The commit itself is durable in the journal; folding is retried later, never
            # reported as a failed commit (the caller would write the page twice).
            self._next_compact = self._since_compact + self._compact_every
            log.warning("could not fold the checkpoint journal (%s); will retry", exc)

    def _fold_locked(self) -> None:
        if self._loaded and not self._read_only and self._state.seq != self._snapshot_seq:
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        self._state.meta.updated_at = self._clock()  # every snapshot says when it was written
        self._store.fold(self._state)
        self._snapshot_seq = self._state.seq
        self._since_compact = 0
        self._next_compact = self._compact_every

    def save(self) -> None:
        """Fold the journal into checkpoint.json now (a no-op when nothing changed)."""
        with self._critical():
            self._fold_locked()

    def compact(self) -> None:
        """Same as :meth:`save`."""
        self.save()

    # --- guards --------------------------------------------------------------------------------

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("checkpoint not loaded: call load() or create_new() first")

    def _require_writable(self) -> None:
        if self._read_only:
            raise RuntimeError("this checkpoint view is read-only")


__all__ = ["DEFAULT_COMPACT_EVERY", "Session"]
