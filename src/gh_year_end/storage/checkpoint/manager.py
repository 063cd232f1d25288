"""CheckpointManager: the seed's API (docs/checkpoint_system.md) over an open checkpoint.

The lock, the run lock, the seed's signal handlers, loading and folding are the
:class:`~.session.Session` it builds on; this module is what callers ask of a checkpoint: the
config it was made for, the plan, each unit's progress, page commits and other unit changes,
phases and counts. Every change is one journal entry (see :mod:`.state`), durable before the
call returns.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES, SWITCHES, for_switches
from gh_year_end.errors import UnknownEndpoint, UnknownRepo
from gh_year_end.storage.checkpoint import state as st
from gh_year_end.storage.checkpoint.model import (
    CheckpointStatus,
    Cursor,
    EndpointProgress,
    Probe,
    RepoProgress,
)
from gh_year_end.storage.checkpoint.session import Session
from gh_year_end.storage.checkpoint.state import REFRESH_PHASE
from gh_year_end.storage.checkpoint.store import LoadedState, LocalStore


class CheckpointManager(Session):
    """Reads, updates and durably records the progress of one target's collection.

    Thread-safe: one lock guards the state and the store, so workers may commit concurrently.
    Use as a context manager to hold the run lock (``lock_path``) while working.
    """

    @classmethod
    def read_only(
        cls, checkpoint_path: Path, journal_path: Path | None = None
    ) -> CheckpointManager:
        """A loaded view for ``ghye status``: no lock, no file touched, journal commits seen;
        :meth:`view_repos` walks it without copies."""
        manager = cls(checkpoint_path, None, journal_path=journal_path)
        manager._read_only = True
        manager._store = LocalStore(
            manager.checkpoint_path, manager.journal_path, clock=manager._clock, read_only=True
        )
        manager.load()
        return manager

    # --- the checkpoint as a whole ----------------------------------------------------------

    def create_new(self, config: Config) -> None:
        """Start a fresh checkpoint for ``config`` (and an empty journal)."""
        self._require_writable()
        with self._critical():
            now = self._clock()
            meta = st.Meta(
                created_at=now,
                updated_at=now,
                config_digest=config.digest,
                dataset=config.dataset_keys(),
                target={"mode": config.github.target.mode, "name": config.github.target.name},
                year=config.github.windows.year,
            )
            fresh = st.CheckpointState(meta=meta)
            self._forget()
            meta.updated_at = self._clock()  # as every snapshot written: when it was
            self._store.create(fresh)
            self._install(LoadedState(fresh, 0, 0))

    def delete_if_exists(self) -> None:
        """Delete checkpoint.json, its journal and leftover temp files; forget the state."""
        self._require_writable()
        with self._critical():
            self._store.delete()
            self._forget()

    # --- config --------------------------------------------------------------------------

    def validate_config(self, config: Config) -> bool:
        """Whether ``config`` defines the same dataset as the checkpoint's."""
        self._require_loaded()
        return self._state.meta.config_digest == config.digest

    def changed_keys(self, config: Config) -> list[str]:
        """Dataset key paths whose values differ between the checkpoint and ``config``."""
        self._require_loaded()
        current = config.dataset_keys()
        stored = self._state.meta.dataset
        if stored is None:
            # A checkpoint that predates the dataset keys: only the digest can be compared.
            return [] if self.validate_config(config) else list(current)
        missing = object()
        names = list(current) + [k for k in stored if k not in current]
        return [k for k in names if stored.get(k, missing) != current.get(k, missing)]

    @property
    def config_digest(self) -> str | None:
        """The digest of the config the checkpoint was made with."""
        return self._state.meta.config_digest

    @property
    def target(self) -> dict[str, Any] | None:
        """``{"mode": ..., "name": ...}`` of the checkpoint's target."""
        target = self._state.meta.target
        return dict(target) if target is not None else None

    @property
    def created_at(self) -> datetime | None:
        """When the checkpoint was created."""
        return self._state.meta.created_at

    # --- plan ----------------------------------------------------------------------------

    def planned_endpoints(self) -> list[str]:
        """The endpoints the checkpoint's dataset keys switch on, in plan order."""
        dataset = self._state.meta.dataset
        if dataset is None:
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
            st.set_plan(self._state, entries, wanted, self._clock())
            self._write_snapshot()

    def repo_names(self) -> list[str]:
        """The planned repos, in plan order."""
        with self._lock:
            return list(self._state.plan)

    def _unknown_repo(self, name: str, flag: str) -> UnknownRepo:
        close = difflib.get_close_matches(name, self._state.plan, n=3, cutoff=0.6)
        hint = f" — did you mean {', '.join(close)}?" if close else ""
        return UnknownRepo(
            f"{flag} {name} is not in the checkpoint's plan{hint} "
            "(`ghye status` lists the planned repos)"
        )

    def get_repos_to_process(
        self, retry_failed: bool = False, from_repo: str | None = None
    ) -> list[dict[str, Any]]:
        """The plan entries with at least one unit left (:func:`.state.unit_is_left`: pending,
        in progress, failed and retryable — or failed for good too with ``retry_failed``), in
        plan order. ``from_repo``: that repo and the ones after it (UnknownRepo if absent).
        """
        with self._lock:
            self._require_loaded()
            names = self._state.plan
            if from_repo is not None:
                try:
                    start = names.index(from_repo)
                except ValueError:
                    raise self._unknown_repo(from_repo, "--from-repo") from None
                names = names[start:]
            return st.repos_with_work(self._state, names, retry_failed=retry_failed)

    # --- units ---------------------------------------------------------------------------

    def get_endpoint(self, repo: str, endpoint: str) -> EndpointProgress:
        """A copy of one unit's progress (a fresh pending one if never touched)."""
        with self._lock:
            progress = self._state.repos.get(repo)
            unit = progress.endpoints.get(endpoint) if progress is not None else None
            return unit.copy() if unit is not None else EndpointProgress()

    def get_repo(self, repo: str) -> RepoProgress | None:
        """A copy of one repo's progress, or None if unknown."""
        with self._lock:
            progress = self._state.repos.get(repo)
            if progress is None:
                return None
            return msgspec.structs.replace(
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
        repos = self._state.repos
        for name in self._state.plan:
            yield name, repos[name]

    def units(self) -> list[tuple[str, str, EndpointProgress]]:
        """Every (repo, endpoint, progress copy) of the planned repos, in plan order."""
        with self._lock:
            repos = self._state.repos
            return [
                (name, endpoint, unit.copy())
                for name in self._state.plan
                for endpoint, unit in repos[name].endpoints.items()
            ]

    def is_repo_endpoint_complete(self, repo: str, endpoint: str) -> bool:
        """Whether the unit is complete."""
        return self.get_endpoint(repo, endpoint).status is CheckpointStatus.COMPLETE

    def get_resume_page(self, repo: str, endpoint: str) -> int:
        """The page to fetch next: last page written + 1 (1 when starting)."""
        return self.get_endpoint(repo, endpoint).last_page_written + 1

    def _commit_unit(
        self,
        repo: str,
        endpoint: str,
        change: Callable[[EndpointProgress], EndpointProgress],
        *,
        any_known_endpoint: bool = False,
    ) -> None:
        """Journal the unit's new absolute state (durable on return), then install it.

        Nothing is written for a repo never planned (UnknownRepo; one dropped from the plan
        keeps its units) or an endpoint not planned for it (UnknownEndpoint, unless
        ``any_known_endpoint`` and it is one ghye collects).
        """
        self._require_writable()
        with self._critical():
            self._require_loaded()
            progress = self._state.repos.get(repo)
            if progress is None:
                raise self._unknown_repo(repo, "repo")
            current = progress.endpoints.get(endpoint)
            if current is None and not (any_known_endpoint and endpoint in ENDPOINT_NAMES):
                raise UnknownEndpoint(
                    f"endpoint {endpoint} is not planned for {repo} (its endpoints: "
                    f"{', '.join(progress.endpoints) or 'none'})"
                )
            now = self._clock()
            unit = change(current.copy() if current is not None else EndpointProgress())
            unit.updated_at = now
            header = st.derive_header(progress, now, endpoint, unit)
            self._record(st.UnitEntry(self._state.seq + 1, repo, endpoint, unit, header))

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
        cursor: Cursor | None = None,
        complete: bool = False,
        probe: Probe | None = None,
    ) -> None:
        """Commit one page: durable (journal line fsynced) when this returns.

        ``offset``/``lines`` are the data file's durable size after the page (from
        ``JSONLWriter.flush``); ``complete`` marks the unit complete in the same commit.
        UnknownRepo / UnknownEndpoint for a unit that is not planned.
        """
        if page < 0 or records < 0:
            raise ValueError(f"page and records must be >= 0, got page={page} records={records}")
        change = partial(
            st.page_committed,
            where=f"{repo} {endpoint}",
            page=page,
            records=records,
            next_url=next_url,
            offset=offset,
            lines=lines,
            cursor=cursor,
            complete=complete,
            probe=probe,
        )
        self._commit_unit(repo, endpoint, change)

    def commit_refresh(self, repo: str, endpoint: str, refreshed: st.Refreshed) -> None:
        """Commit a complete unit's refresh (its rewritten file's size, probe, generation):
        durable when this returns. The rewritten file is renamed over the unit's only after
        this; until then ``switch`` names it (see storage/rewrite.py)."""
        self._commit_unit(repo, endpoint, partial(st.refresh_committed, refreshed=refreshed))

    def switch_done(self, repo: str, endpoint: str) -> None:
        """The unit's refreshed file has been renamed over its file."""
        self._commit_unit(repo, endpoint, st.switch_done)

    def mark_repo_endpoint_in_progress(self, repo: str, endpoint: str) -> None:
        """The unit is being worked on."""
        self._commit_unit(repo, endpoint, st.marked_in_progress)

    def mark_repo_endpoint_complete(self, repo: str, endpoint: str) -> None:
        """The unit is done: nothing left to fetch."""
        self._commit_unit(repo, endpoint, st.marked_complete)

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
        change = partial(
            st.marked_failed,
            error=error,
            retryable=retryable,
            unavailable=unavailable,
            http_status=http_status,
        )
        self._commit_unit(repo, endpoint, change)

    def reset_endpoint(self, repo: str, endpoint: str) -> None:
        """Back to pending with every counter zeroed (truncate its file with committed_offset=0)."""
        with self._lock:
            self._require_loaded()
            progress = self._state.repos.get(repo)
            if progress is None:
                raise self._unknown_repo(repo, "--repo")
            if endpoint not in progress.endpoints and endpoint not in ENDPOINT_NAMES:
                raise UnknownEndpoint(
                    f"--endpoint {endpoint} is not one ghye collects "
                    f"(one of: {', '.join(ENDPOINT_NAMES)})"
                )
        self._commit_unit(repo, endpoint, lambda _unit: EndpointProgress(), any_known_endpoint=True)

    # --- phases --------------------------------------------------------------------------

    def _commit_phases(self, change: Callable[[dict[str, st.PhaseProgress]], str | None]) -> None:
        self._require_writable()
        with self._critical():
            self._require_loaded()
            phases = {name: phase.copy() for name, phase in self._state.phases.items()}
            current = change(phases)
            self._record(st.PhasesEntry(self._state.seq + 1, phases, current))

    def set_current_phase(self, phase: str) -> None:
        """Enter ``phase`` (in progress unless already complete)."""
        now = self._clock()

        def change(phases: dict[str, st.PhaseProgress]) -> str:
            st.enter_phase(phases, phase, now)
            return phase

        self._commit_phases(change)

    def refresh_generation(self) -> int | None:
        """The number of the last refresh begun (None: the dataset was never refreshed)."""
        number = self.phase_detail(REFRESH_PHASE, "generation")
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    def refresh_under_way(self) -> int | None:
        """The number of the refresh under way (None: none is): one begun and not ended."""
        number = self.refresh_generation()
        return None if number is None or self.is_phase_complete(REFRESH_PHASE) else number

    def restart_phase(self, phase: str, **details: Any) -> None:
        """``phase`` begins again, in progress from now with only ``details`` (JSON-ready)."""
        now = self._clock()

        def change(phases: dict[str, st.PhaseProgress]) -> str:
            st.restart_phase(phases, phase, now, details)
            return phase

        self._commit_phases(change)

    def mark_phase_complete(self, phase: str) -> None:
        """``phase`` is done."""
        now = self._clock()

        def change(phases: dict[str, st.PhaseProgress]) -> str | None:
            st.complete_phase(phases, phase, now)
            return self._state.current_phase

        self._commit_phases(change)

    def annotate_phase(self, phase: str, **details: Any) -> None:
        """Record JSON-ready ``details`` in ``phase``'s entry (e.g. what discovery refused)."""

        def change(phases: dict[str, st.PhaseProgress]) -> str | None:
            st.annotate_phase(phases, phase, details)
            return self._state.current_phase

        self._commit_phases(change)

    def phase_detail(self, phase: str, key: str) -> Any:
        """A detail recorded with :meth:`annotate_phase` (None if there is none)."""
        with self._lock:
            entry = self._state.phases.get(phase)
            return copy.deepcopy(entry.flat().get(key)) if entry is not None else None

    def is_phase_complete(self, phase: str) -> bool:
        """Whether ``phase`` was marked complete."""
        with self._lock:
            entry = self._state.phases.get(phase)
            return entry is not None and entry.status is CheckpointStatus.COMPLETE

    @property
    def current_phase(self) -> str | None:
        """The phase last entered."""
        return self._state.current_phase

    # --- reporting ---------------------------------------------------------------

    def get_stats(self) -> dict[str, int]:
        """Counts of planned repos by status, units by status, and page/record totals."""
        with self._lock:
            return st.tally(self._state)

    def __repr__(self) -> str:
        path = str(self.checkpoint_path)
        return f"CheckpointManager({path!r}, seq={self._state.seq}, repos={len(self._state.plan)})"


__all__ = ["CheckpointManager"]
