"""The collect loop: units → pages → filter → write → commit.

A unit is one repo × endpoint. Units run concurrently (``rate_limit.max_concurrency``); each page
is fetched, filtered to the window, written to the unit's JSONL file, fsynced, and committed to the
checkpoint (offset, lines, next URL) before the next page is written. The next page's request is
already on its way while a page commits (it is only written after that commit), and a unit's last
commit finishes in a tail task while its worker starts the next unit. A page whose commit has
begun always finishes it, even when the run is being stopped; a page still in flight is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson

from gh_year_end import __version__
from gh_year_end.collect.discovery import check_target, discover, plan_entry
from gh_year_end.collect.events import CollectResult, EventSink, UnitFailure
from gh_year_end.collect.result import Ending, decide
from gh_year_end.collect.start import (
    StartDecision,
    StartRequest,
    decide_start,
    holds_committed_pages,
    start_over,
)
from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES, Endpoint, Window, parse_time
from gh_year_end.errors import (
    Blocked,
    DataFileMismatch,
    GitHubError,
    LoopingList,
    PermanentError,
    StorageError,
    TransientError,
    Unavailable,
    is_unavailability,
)
from gh_year_end.github.client import Page, RestClient, resolve_token, token_variable
from gh_year_end.github.proxy import proxy_for
from gh_year_end.signals import StopSignal
from gh_year_end.storage.atomic import atomic_write_bytes
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus, EndpointProgress
from gh_year_end.storage.jsonl import JSONLWriter, committed_size, mismatch
from gh_year_end.storage.manifest import FileDigest, build_manifest, digest_file, write_manifest
from gh_year_end.storage.paths import PathManager

SOURCE = "github_rest"
# GitHub's clock and ours may disagree: the catch-up pass reaches this much further back.
CLOCK_SLACK = timedelta(minutes=5)
T = TypeVar("T")
# Queue ranks: a unit whose parent just completed, a unit in plan order, the end of the work.
_PARENT_DONE, _PLAN_ORDER, _LAST = 0, 1, 2


@dataclass(frozen=True)
class CollectRequest:
    """What the user asked for: `collect` (fresh or continue) or `resume`."""

    resume: bool = False
    force: bool = False
    from_repo: str | None = None
    retry_failed: bool = False

    @property
    def start(self) -> StartRequest:
        """The part of the request that decides how the run starts."""
        return StartRequest(resume=self.resume, force=self.force)


Confirm = Callable[[StartDecision], bool]
"""Asked before starting over removes collected data (the CLI asks on a terminal)."""


@dataclass(frozen=True)
class Unit:
    """One repo × endpoint."""

    repo: str
    endpoint: Endpoint


_Queued = tuple[Unit, EndpointProgress]  # a unit and the progress it starts from


@dataclass(frozen=True)
class _Opened:
    """Where a unit starts: its committed progress and the record ids its file holds."""

    progress: EndpointProgress
    seen: set[Any]
    pulls: list[int] | None  # reviews: the numbers of the repo's collected pull requests


@dataclass(frozen=True)
class _Refused:
    """A unit that cannot run: its parent unit did not complete, or its file does not match."""

    reason: str
    retryable: bool
    unavailable: bool
    http_status: int | None = None


@dataclass(frozen=True)
class _Step:
    """One fetched page of a unit, filtered, and the checkpoint state it commits."""

    page: Page | None  # None: a pull request gone since it was listed (no reviews)
    page_no: int
    kept: list[dict[str, Any]]
    records_before: int
    next_url: str | None
    cursor: dict[str, Any] | None
    complete: bool


@dataclass
class _Running:
    """One unit while it runs."""

    unit: Unit
    progress: EndpointProgress
    seen: set[Any]
    # The in-progress mark and the writer (which cuts off an uncommitted tail), made in a thread
    # while the first page loads; awaited before any other checkpoint write of the unit.
    opening: asyncio.Future[JSONLWriter]
    answered: bool = False  # GitHub has answered the unit's first request with a page
    visited: set[str] = field(default_factory=set)  # URLs read in this pass over the list

    def arrived(self, page: Page) -> None:
        """Note a page of the current pass; LoopingList when it was read before."""
        self.answered = True
        if page.meta.url in self.visited:
            raise LoopingList(
                f"GitHub's next link leads back to a page already read ({page.meta.url}) — "
                "the list loops, so this unit stops here; `ghye resume --retry-failed` "
                "tries it again",
                url=page.meta.url,
            )
        self.visited.add(page.meta.url)


@dataclass
class _Tally:
    pages: int = 0
    records: int = 0
    skipped: int = 0


@dataclass
class _Run:
    """What every step of one collect shares."""

    config: Config
    paths: PathManager
    checkpoint: CheckpointManager
    events: EventSink
    stop: StopSignal
    started: float
    started_at: datetime
    continued: bool = False
    tally: _Tally = field(default_factory=_Tally)
    digests: dict[Path, FileDigest] = field(default_factory=dict)
    """Files of the units that completed in this run, hashed then for the manifest."""


def run_collect(
    config: Config,
    request: CollectRequest,
    *,
    environ: Mapping[str, str],
    events: EventSink,
    command: str,
    install_signals: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
    confirm: Confirm | None = None,
) -> CollectResult:
    """Collect (or resume) the configured target; returns what happened.

    ``confirm`` is asked before starting over removes collected data (after the token and the
    target were checked); declined, nothing is removed (outcome ``cancelled``).

    Raises the GhyeError subclasses a user can meet before or instead of a run: TokenMissing,
    CheckpointLocked, ConfigChanged, NoCheckpoint, DataWithoutCheckpoint, UnknownRepo,
    CheckpointCorrupt, AuthenticationFailed, TargetNotFound, StorageError.
    """
    # The token is checked before anything is touched: no token, no lock, no request.
    token = resolve_token(config.github.auth.token_env, environ)
    return asyncio.run(
        _collect(
            config,
            request,
            token=token,
            proxy=proxy_for(config.github.api_url, environ),
            token_name=token_variable(config.github.auth.token_env, environ),
            events=events,
            command=command,
            install_signals=install_signals,
            transport=transport,
            confirm=confirm,
        )
    )


async def _collect(
    config: Config,
    request: CollectRequest,
    *,
    token: str,
    proxy: str | None,
    token_name: str,
    events: EventSink,
    command: str,
    install_signals: bool,
    transport: httpx.AsyncBaseTransport | None,
    confirm: Confirm | None,
) -> CollectResult:
    paths = PathManager(config)
    _make_dirs(paths.target_dir)
    stop = StopSignal(on_stop=events.stopping)
    loop = asyncio.get_running_loop()
    if install_signals:
        stop.install(loop)
    try:
        with CheckpointManager(
            paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path, command=command
        ) as checkpoint:
            run = _Run(config, paths, checkpoint, events, stop, time.monotonic(), datetime.now(UTC))
            decision = decide_start(checkpoint, config, paths, request.start)
            if decision.kind == "continue":
                run.continued = True
                events.message(decision.message or "continuing")
                units = _plan_units(checkpoint, config)
                if _nothing_to_do(checkpoint, units, request):
                    return _finish(run, units, client=None, already=True)
            elif decision.kind == "fresh":
                checkpoint.create_new(config)
            async with RestClient(
                api_url=config.github.api_url,
                token=token,
                rate=config.rate_limit,
                transport=transport,
                on_wait=events.waiting,
                proxy=proxy,
                token_name=token_name,
            ) as client:
                if decision.kind == "start_over":
                    if decision.removes_data:
                        # Check first, remove last: a rejected token or a wrong target must
                        # never cost the data already collected.
                        await _first_contact(check_target(client, config), config)
                        if confirm is not None and not confirm(decision):
                            return _finish(run, [], client=client, already=False, cancelled=True)
                    events.message(decision.message or "starting over")
                    start_over(checkpoint, config, paths)
                units = _plan_units(checkpoint, config)
                if not checkpoint.is_phase_complete("discovery"):
                    await _discover(run, client)
                    units = _plan_units(checkpoint, config)
                if not stop.event.is_set():
                    await _Runner(run, client).run(units, request)
                return _finish(run, units, client=client, already=False)
    finally:
        if install_signals:
            stop.uninstall(loop)


def _make_dirs(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the data folder {path}: {exc.strerror} — check storage.root"
        ) from exc


async def _first_contact(work: Awaitable[T], config: Config) -> T:
    """Run ``work`` (the first requests of a run). Failing to connect, or a page that is not
    JSON, then most likely means a wrong api_url: the advice says to check it, not to resume."""
    try:
        return await work
    except TransientError as exc:
        if not isinstance(exc.__cause__, httpx.TransportError | orjson.JSONDecodeError):
            raise
        raise TransientError(
            f"{exc.detail or exc} — check github.api_url ({config.github.api_url}): its scheme, "
            "host and port, and for GitHub Enterprise Server the /api/v3 path; then run "
            "`ghye collect` again",
            status=exc.status,
            url=exc.url,
            request_id=exc.request_id,
            detail=exc.detail,
        ) from exc


async def _discover(run: _Run, client: RestClient) -> None:
    checkpoint, config, paths, events, stop = (
        run.checkpoint,
        run.config,
        run.paths,
        run.events,
        run.stop,
    )
    checkpoint.set_current_phase("discovery")
    listing = discover(client, config)
    if not holds_committed_pages(checkpoint):
        listing = _first_contact(listing, config)
    found = await _until_stopped(listing, stop)
    if found is None:
        return
    stamp = _now_iso()
    lines = b"".join(
        orjson.dumps(
            {
                "timestamp": stamp,
                "source": SOURCE,
                "endpoint": "repos",
                "repo": repo["full_name"],
                "page": None,
                "request_id": None,
                "data": repo,
            }
        )
        + b"\n"
        for repo in found.repos
    )
    atomic_write_bytes(paths.repos_path, lines)
    checkpoint.update_repos([plan_entry(repo) for repo in found.repos])
    checkpoint.annotate_phase("discovery", refused=[r.reason for r in found.refused])
    checkpoint.mark_phase_complete("discovery")
    refused = f", {len(found.refused)} refused for their names" if found.refused else ""
    events.message(
        f"discovered {len(found.repos)} repositories "
        f"({found.seen - len(found.repos) - len(found.refused)} filtered out{refused})"
    )
    for refusal in found.refused:
        events.message(f"refused: {refusal.reason}")


async def _until_stopped(work: Awaitable[T], stop: StopSignal) -> T | None:
    """Run ``work`` unless the stop event comes first (then cancel it and return None)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.event.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plan_units(checkpoint: CheckpointManager, config: Config) -> list[Unit]:
    endpoints = config.enabled_endpoints
    return [Unit(repo, ep) for repo in checkpoint.repo_names() for ep in endpoints]


def _ended(progress: EndpointProgress) -> bool:
    return progress.status is CheckpointStatus.COMPLETE or (
        progress.status is CheckpointStatus.FAILED and not progress.retryable
    )


def _nothing_to_do(
    checkpoint: CheckpointManager, units: list[Unit], request: CollectRequest
) -> bool:
    if request.retry_failed or request.from_repo or not checkpoint.is_phase_complete("discovery"):
        return False
    return all(_ended(checkpoint.get_endpoint(u.repo, u.endpoint.name)) for u in units)


class _Runner:
    """Runs the units of one collect: scheduling, per-unit pagination, failures."""

    def __init__(self, run: _Run, client: RestClient) -> None:
        self.checkpoint = run.checkpoint
        self.paths = run.paths
        self.client = client
        self.events = run.events
        self.stop = run.stop
        self.tally = run.tally
        self.digests = run.digests
        self.window: Window = run.config.window
        self.concurrency = run.config.rate_limit.max_concurrency
        self.executor = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="commit"
        )
        # (rank, arrival, unit): plan order, except that a unit whose parent just completed
        # (reviews, the longest) goes first — a run should not end waiting on one long unit.
        self.queue: asyncio.PriorityQueue[tuple[int, int, _Queued | None]] = asyncio.PriorityQueue()
        self.arrivals = itertools.count()
        self.outstanding = 0
        self.waiting_on_pulls: dict[str, _Queued] = {}
        self.tails: set[asyncio.Task[None]] = set()
        self.openings: set[asyncio.Future[JSONLWriter]] = set()
        self.fatal: BaseException | None = None
        self.left_per_endpoint: Counter[str] = Counter()
        self.phases_entered: set[str] = set()
        # One unit of a repo not yet heard from asks first; the repo's other units wait for its
        # answer, so a repo that is gone (404) or blocked (451) costs one request, not six.
        self.answered_repos: set[str] = set()
        self.probing: set[str] = set()
        self.parked: dict[str, list[_Queued]] = {}
        self.gone: dict[str, tuple[str, int | None]] = {}  # repo → (reason, status)

    # --- scheduling ------------------------------------------------------------------------

    async def run(self, units: list[Unit], request: CollectRequest) -> None:
        """Run every unit that is not ended (and, with --from-repo, at or after that repo)."""
        allowed = {
            repo["full_name"]
            for repo in self.checkpoint.get_repos_to_process(
                retry_failed=True, from_repo=request.from_repo
            )
        }
        todo: list[_Queued] = []
        done_units = 0
        records_done = 0
        for unit in units:
            progress = self.checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
            records_done += progress.records_collected
            if progress.pages_collected > 0 or progress.status is CheckpointStatus.COMPLETE:
                self.answered_repos.add(unit.repo)  # it answered an earlier run
            if _ended(progress) and not (
                request.retry_failed and progress.status is CheckpointStatus.FAILED
            ):
                done_units += 1
                continue
            if unit.repo not in allowed:
                self.tally.skipped += 1
                continue
            self.left_per_endpoint[unit.endpoint.name] += 1
            # Only this unit's own worker changes its progress: what is read now is where it
            # will start.
            todo.append((unit, progress))
        if todo:
            # The data is about to change: a manifest from an earlier run no longer describes it.
            self.paths.manifest_path.unlink(missing_ok=True)
        for name in {u.endpoint.name for u in units}:
            if self.left_per_endpoint[name] == 0 and not self.checkpoint.is_phase_complete(name):
                self.checkpoint.mark_phase_complete(name)
        self.events.plan(len(units), done_units, records_done)
        pending_pulls = {u.repo for u, _ in todo if u.endpoint.name == "pulls"}
        for unit, progress in todo:
            self.outstanding += 1
            if unit.endpoint.depends_on == "pulls" and unit.repo in pending_pulls:
                self.waiting_on_pulls[unit.repo] = (unit, progress)
            else:
                self._put((unit, progress), _PLAN_ORDER)
        if self.outstanding == 0:
            return
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        stopper = asyncio.create_task(self.stop.event.wait())
        try:
            await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
            while (
                not self.stop.event.is_set()
                and self.fatal is None
                and not all(w.done() for w in workers)
            ):
                await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
        finally:
            try:
                stopper.cancel()
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                # Units whose last commit is still running end (or fail) before we go on, and
                # the writers of units stopped while opening get closed.
                await asyncio.gather(*self.tails, *self.openings, return_exceptions=True)
            finally:
                # Commits already begun finish before the checkpoint is saved and the lock
                # released — even if this very wait is cancelled.
                self.executor.shutdown(wait=True)
        if self.fatal is not None:
            raise self.fatal

    async def _worker(self) -> None:
        while True:
            _, _, item = await self.queue.get()
            if item is None or self.stop.event.is_set():
                return  # stopping: no unit starts
            unit, planned = item
            repo = unit.repo
            if repo not in self.answered_repos and repo not in self.gone:
                if repo in self.probing:
                    self.parked.setdefault(repo, []).append(item)
                    continue
                self.probing.add(repo)
            try:
                if repo in self.gone:
                    await self._record_gone(unit)
                    self._unit_ended(unit)
                elif not await self._run_unit(unit, planned):
                    self._unit_ended(unit)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 — recorded, then re-raised by run()
                self._fatal(exc)
                return
            finally:
                # However the unit ended (usually its first page already did this), the repo's
                # waiting units may go now: none may wait for ever.
                self._repo_answered(repo)

    def _repo_answered(self, repo: str) -> None:
        """The repo's first unit heard back (a page, or an error): its other units may go."""
        if repo in self.answered_repos:
            return
        self.answered_repos.add(repo)
        self.probing.discard(repo)
        for item in self.parked.pop(repo, []):
            self._put(item, _PARENT_DONE)

    async def _record_gone(self, unit: Unit) -> None:
        """A unit of a repo that answered 404/451 for another unit: recorded, not requested."""
        reason, status = self.gone[unit.repo]
        await self._in_thread(
            functools.partial(
                self.checkpoint.mark_repo_endpoint_failed,
                unit.repo,
                unit.endpoint.name,
                reason,
                False,
                unavailable=True,
                http_status=status,
            )
        )
        self.events.unit_finished(unit.repo, unit.endpoint.name, "unavailable", reason)

    def _fatal(self, exc: BaseException) -> None:
        """A fatal error (401, disk full, a bug) ends the run; the others stop with it."""
        if self.fatal is None:
            self.fatal = exc
        self.stop.event.set()

    def _put(self, item: _Queued | None, rank: int) -> None:
        self.queue.put_nowait((rank, next(self.arrivals), item))

    def _unit_ended(self, unit: Unit) -> None:
        name = unit.endpoint.name
        self.left_per_endpoint[name] -= 1
        if self.left_per_endpoint[name] <= 0:
            self.checkpoint.mark_phase_complete(name)
        if name == "pulls" and unit.repo in self.waiting_on_pulls:
            self._put(self.waiting_on_pulls.pop(unit.repo), _PARENT_DONE)
        self.outstanding -= 1
        if self.outstanding == 0:
            for _ in range(self.concurrency):
                self._put(None, _LAST)

    # --- one unit --------------------------------------------------------------------------

    async def _run_unit(self, unit: Unit, planned: EndpointProgress) -> bool:
        """Run one unit; True when its last commit was handed to a tail that will end it."""
        repo, ep = unit.repo, unit.endpoint
        opened: _Opened | _Refused
        if planned.offset > 0 or ep.depends_on is not None:
            try:
                # Off the loop: the checkpoint lock may be held by a commit thread in its
                # fsync, and the unit's file is read for the ids it already holds.
                opened = await self._in_thread(self._read_unit, unit)
            except DataFileMismatch as exc:
                opened = _Refused(str(exc), retryable=False, unavailable=False)
            if isinstance(opened, _Refused):
                self._fail(
                    unit,
                    opened.reason,
                    retryable=opened.retryable,
                    unavailable=opened.unavailable,
                    http_status=opened.http_status,
                )
                return False
        else:
            opened = _Opened(planned, set(), None)  # nothing committed yet: nothing to read
        if self.stop.event.is_set():
            raise asyncio.CancelledError  # stopped meanwhile: the unit does not start
        opening = asyncio.get_running_loop().run_in_executor(
            self.executor, self._enter_unit, unit, opened.progress
        )
        self.openings.add(opening)
        opening.add_done_callback(self.openings.discard)
        state = _Running(unit, opened.progress, opened.seen, opening)
        handed_off = False
        try:
            self.events.unit_started(
                repo,
                ep.name,
                state.progress.last_page_written + 1,
                state.progress.records_collected,
            )
            if opened.pulls is not None:
                handed_off = await self._reviews(state, opened.pulls)
            else:
                handed_off = await self._paginate(state)
        except DataFileMismatch as exc:
            await _opened(state)
            self._fail(unit, str(exc), retryable=False, unavailable=False)
        except PermanentError as exc:
            await _opened(state)
            if not state.answered and _repo_level(exc, unit):
                what = (
                    "blocked for legal reasons"
                    if exc.status == 451
                    else ("the repository is gone, or the token cannot see it")
                )
                self.gone[repo] = (
                    f"not requested: {repo} answered {exc.status} for {ep.name} — {what}",
                    exc.status,
                )
            self._fail(
                unit,
                _reason(exc),
                retryable=False,
                unavailable=is_unavailability(exc),
                http_status=exc.status,
            )
        except GitHubError as exc:
            if not exc.retryable:
                raise
            await _opened(state)
            self._fail(
                unit, _reason(exc), retryable=True, unavailable=False, http_status=exc.status
            )
        finally:
            if not handed_off:
                _close_writer(state)
        return handed_off

    def _read_unit(self, unit: Unit) -> _Opened | _Refused:
        """A unit's progress, the ids its file holds, its parent's state (runs in a thread)."""
        repo, ep = unit.repo, unit.endpoint
        progress = self.checkpoint.get_endpoint(repo, ep.name)
        pulls: list[int] | None = None
        if ep.depends_on is not None:
            parent = self.checkpoint.get_endpoint(repo, ep.depends_on)
            if parent.status is not CheckpointStatus.COMPLETE:
                why = parent.error or parent.status.value
                return _Refused(
                    f"skipped: {ep.depends_on} did not complete ({why})",
                    retryable=bool(parent.retryable),
                    unavailable=parent.unavailable,
                    http_status=parent.http_status,
                )
            if ep.name == "reviews":
                pulls = _pull_numbers(self.paths.raw_path(ep.depends_on, repo), parent.offset)
        # Ids already committed for this unit: a list that shifted between two pages (an item
        # updated meanwhile) must not put the same record in the file twice.
        seen = _committed_ids(self.paths.raw_path(ep.name, repo), progress.offset, ep.record_id)
        return _Opened(progress, seen, pulls)

    def _enter_unit(self, unit: Unit, progress: EndpointProgress) -> JSONLWriter:
        """Mark the unit in progress and open its writer (runs in a thread)."""
        name = unit.endpoint.name
        if name not in self.phases_entered:
            # Endpoints run side by side; the current phase is the one most recently entered.
            self.phases_entered.add(name)
            self.checkpoint.set_current_phase(name)
        self.checkpoint.mark_repo_endpoint_in_progress(unit.repo, name)
        # Opening cuts off what a crash left past the commit, whether or not a page follows.
        return JSONLWriter(
            self.paths.raw_path(name, unit.repo),
            repo=unit.repo,
            committed_offset=progress.offset,
            committed_lines=progress.lines,
        )

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        """Blocking checkpoint/file work off the event loop, so other units' requests go on."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def _paginate(self, state: _Running) -> bool:
        unit, ep, progress = state.unit, state.unit.endpoint, state.progress
        params: dict[str, str] | None = None
        target = progress.next_url
        if target is None:
            if progress.pages_collected > 0:
                # Everything was committed but the unit never got marked: it is complete.
                await state.opening
                await self._in_thread(
                    self.checkpoint.mark_repo_endpoint_complete, unit.repo, ep.name
                )
                self.events.unit_finished(unit.repo, ep.name, "complete", None)
                return False
            target, params = ep.first_url(unit.repo), ep.params(self.window)
        page_no = progress.last_page_written
        records = progress.records_collected
        cursor = dict(progress.cursor or {})
        if page_no == 0 and ep.catch_up:
            # Anything updated after this moment may move past us while we page.
            cursor["started_at"] = _iso(datetime.now(UTC) - CLOCK_SLACK)
        page = await self.client.get_page(
            target, params, empty_on_409=ep.empty_on_409, key=ep.record_id
        )
        self._repo_answered(unit.repo)
        while True:
            state.arrived(page)
            page_no += 1
            kept = _new_records(page.records, ep, self.window, state.seen)
            next_url = ep.next_url(unit.repo, self.window, page.records, page.next_url)
            if "catch_up_from" in cursor:
                if _ends_before(page.records, cursor["catch_up_from"]):
                    next_url = None
            elif ep.stop_early is not None and ep.stop_early(page.records, self.window):
                next_url = None
            if next_url is None and ep.catch_up and page_no > 1 and "catch_up_from" not in cursor:
                # A list sorted by update time reorders while it is paged: a record updated
                # meanwhile jumps to the front, past us. One more pass from the front, down to
                # the moment the unit began, picks those up (the id check drops the rest).
                cursor["catch_up_from"] = cursor.get("started_at") or _iso(datetime.now(UTC))
                next_url = f"{ep.first_url(unit.repo)}?{urlencode(ep.params(self.window))}"
                state.visited.clear()  # a new pass over the list begins at its front
            step = _Step(page, page_no, kept, records, next_url, cursor or None, next_url is None)
            if next_url is None:
                await self._last_commit(state, step)
                return True
            # The next page is asked for while this one is written and committed (a round
            # trip hides the fsync); it is only ever written after this commit.
            ahead = self._ahead(
                functools.partial(
                    self.client.get_page,
                    next_url,
                    empty_on_409=ep.empty_on_409,
                    key=ep.record_id,
                )
            )
            async with _dropping(ahead):
                records = await self._commit(state, step)
                page = await ahead

    async def _reviews(self, state: _Running, numbers: list[int]) -> bool:
        """Reviews of each collected pull request; the cursor keeps the pull request reached."""
        unit, ep, progress = state.unit, state.unit.endpoint, state.progress
        index = int(progress.cursor.get("pr_index", 0)) if progress.cursor else 0
        page_no = progress.last_page_written
        records = progress.records_collected
        if index >= len(numbers):
            await state.opening
            await self._in_thread(self.checkpoint.mark_repo_endpoint_complete, unit.repo, ep.name)
            self.events.unit_finished(unit.repo, ep.name, "complete", None)
            return False

        def request(url: str | None, at: int) -> Coroutine[Any, Any, Page | None]:
            if url is None:
                return self._review_page(ep.first_url(unit.repo, number=numbers[at]), ep, True)
            return self._review_page(url, ep, False)

        url = progress.next_url
        page = await request(url, index)
        while True:
            if page is not None:
                state.arrived(page)
            page_no += 1
            kept = _new_records(page.records, ep, self.window, state.seen) if page else []
            if page is None or page.next_url is None:
                index, url = index + 1, None
                state.visited.clear()  # the next pull request's reviews are another list
            else:
                url = page.next_url
            last = index >= len(numbers)
            step = _Step(page, page_no, kept, records, url, {"pr_index": index}, last)
            if last:
                await self._last_commit(state, step)
                return True
            ahead = self._ahead(functools.partial(request, url, index))
            async with _dropping(ahead):
                records = await self._commit(state, step)
                page = await ahead

    async def _review_page(self, url: str, ep: Endpoint, first: bool) -> Page | None:
        """One page of a pull request's reviews; None when the pull request is gone."""
        try:
            return await self.client.get_page(
                url, ep.params(self.window) if first else None, key=ep.record_id
            )
        except Unavailable:
            # That pull request is gone since it was listed: it has no reviews to collect.
            return None

    def _ahead(self, fetch: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
        """Start the next request now; when the run is stopping it never starts (cancelled)."""
        if self.stop.event.is_set():
            never: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            never.cancel()
            return never
        return asyncio.ensure_future(fetch())

    async def _begin_commit(self, state: _Running, step: _Step) -> asyncio.Future[int]:
        """Hand the page to a commit thread: write its lines, fsync, commit the checkpoint."""
        unit = state.unit
        # The in-progress mark goes first: it must never land on top of this page's commit.
        writer = await state.opening
        request_id = step.page.meta.request_id if step.page is not None else None

        def commit() -> int:
            for record in step.kept:
                writer.write(
                    source=SOURCE,
                    endpoint=unit.endpoint.name,
                    data=record,
                    repo=unit.repo,
                    page=step.page_no,
                    request_id=request_id,
                )
            offset, lines = writer.flush()
            self.checkpoint.update_progress(
                unit.repo,
                unit.endpoint.name,
                step.page_no,
                len(step.kept),
                next_url=step.next_url,
                offset=offset,
                lines=lines,
                cursor=step.cursor,
                complete=step.complete,
            )
            return offset

        return asyncio.get_running_loop().run_in_executor(self.executor, commit)

    async def _commit(self, state: _Running, step: _Step) -> int:
        """Commit one page and wait for it; returns the unit's records so far."""
        await self._finish_commit(await self._begin_commit(state, step), step)
        records = step.records_before + len(step.kept)
        self.events.page_committed(
            state.unit.repo, state.unit.endpoint.name, step.page_no, len(step.kept), records
        )
        return records

    async def _finish_commit(self, future: asyncio.Future[int], step: _Step) -> None:
        """Wait for a commit that has begun — it always finishes, even when we are stopped."""
        cancelled = False
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                # Stopping: a commit that has begun finishes (however often we are asked to
                # stop), so the checkpoint and the file agree before the writer is closed.
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        future.result()
        self.tally.pages += 1
        self.tally.records += len(step.kept)
        meta = step.page.meta if step.page is not None else None
        if meta is not None and meta.rate is not None:
            self.events.rate(meta.rate.remaining, meta.rate.limit, meta.rate.reset)

    async def _last_commit(self, state: _Running, step: _Step) -> None:
        """Begin the unit's last commit and let a tail end the unit: the worker moves on."""
        future = await self._begin_commit(state, step)
        tail = asyncio.ensure_future(self._tail(state, future, step))
        self.tails.add(tail)
        tail.add_done_callback(self.tails.discard)

    async def _tail(self, state: _Running, future: asyncio.Future[int], step: _Step) -> None:
        unit = state.unit
        name = unit.endpoint.name
        size = 0
        try:
            try:
                await self._finish_commit(future, step)
            except DataFileMismatch as exc:
                self._fail(unit, str(exc), retryable=False, unavailable=False)
            else:
                size = future.result()
                records = step.records_before + len(step.kept)
                self.events.page_committed(unit.repo, name, step.page_no, len(step.kept), records)
                self.events.unit_finished(unit.repo, name, "complete", None)
            finally:
                _close_writer(state)
            self._unit_ended(unit)
            if size > 0 and not self.stop.event.is_set():
                # The file is final: hashed for the manifest now, while requests are in flight,
                # once the units waiting on this one are queued. (run() awaits every tail
                # before it shuts the executor down.)
                self.executor.submit(self._digest, self.paths.raw_path(name, unit.repo), size)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 — recorded, then re-raised by run()
            self._fatal(exc)

    def _digest(self, path: Path, size: int) -> None:
        """Hash a completed unit's file for the manifest (a thread; a miss is hashed later)."""
        digest = digest_file(path, size)
        if digest is not None:
            self.digests[path] = digest

    def _fail(
        self,
        unit: Unit,
        reason: str,
        *,
        retryable: bool,
        unavailable: bool,
        http_status: int | None = None,
    ) -> None:
        self.checkpoint.mark_repo_endpoint_failed(
            unit.repo,
            unit.endpoint.name,
            reason,
            retryable,
            unavailable=unavailable,
            http_status=http_status,
        )
        status = "unavailable" if unavailable else "failed"
        self.events.unit_finished(unit.repo, unit.endpoint.name, status, reason)


@contextlib.asynccontextmanager
async def _dropping(ahead: asyncio.Future[Any]) -> AsyncIterator[None]:
    """When the body fails (or is cancelled), the request started ahead is dropped with it."""
    try:
        yield
    except BaseException:
        ahead.cancel()
        # Its own failure, if it already had one, goes with it unreported.
        ahead.add_done_callback(_swallow)
        raise


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def _opened(state: _Running) -> None:
    """Wait for the unit's opening before failing it; its DataFileMismatch is that failure."""
    with contextlib.suppress(DataFileMismatch):
        await state.opening


def _close_writer(state: _Running) -> None:
    """Close the unit's writer — now, or as soon as its opening (still in a thread) ends."""

    def close(opening: asyncio.Future[JSONLWriter]) -> None:
        if not opening.cancelled() and opening.exception() is None:
            writer = opening.result()
            writer.discard()  # a page that never reached its commit is not written
            writer.close()

    if state.opening.done():
        close(state.opening)
    else:
        state.opening.add_done_callback(close)


def _repo_level(exc: PermanentError, unit: Unit) -> bool:
    """Whether a unit's first answer speaks for its whole repository: 451 (blocked), or 404 on
    a repository's own list (gone or hidden). A 410 (issues disabled) or a 403 (a permission
    one endpoint needs) concerns that endpoint only."""
    if isinstance(exc, Blocked):
        return True
    return isinstance(exc, Unavailable) and exc.status == 404 and unit.endpoint.depends_on is None


def _reason(exc: GitHubError) -> str:
    # The client's messages already name the status, the URL and GitHub's own message.
    return str(exc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ends_before(records: list[dict[str, Any]], moment: str) -> bool:
    """True when the page's last record was updated before ``moment`` (an empty page says
    nothing: its next link, if any, is followed)."""
    if not records:
        return False
    last, bound = parse_time(records[-1].get("updated_at")), parse_time(moment)
    return last is not None and bound is not None and last < bound


def _new_records(
    records: list[dict[str, Any]], ep: Endpoint, window: Window, seen: set[Any]
) -> list[dict[str, Any]]:
    """The page's records that belong to the window and are not in the unit's file yet."""
    kept: list[dict[str, Any]] = []
    for record in records:
        if not ep.keep(record, window):
            continue
        key = record.get(ep.record_id)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        kept.append(record)
    return kept


def _committed_records(path: Path, committed_offset: int) -> Iterator[dict[str, Any]]:
    """The records of a unit's file up to its committed offset.

    DataFileMismatch (naming the line and the `ghye reset` that mends it) when the file is
    shorter than the commit, or a committed line is not a record in ghye's envelope — a file
    edited behind ghye's back fails its unit, never the run.
    """
    if committed_offset <= 0:
        return
    committed_size(path, committed_offset)
    remaining = committed_offset
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if remaining <= 0:
                break
            remaining -= len(line)
            try:
                data = orjson.loads(line)["data"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                data = None
            if not isinstance(data, dict):
                raise mismatch(path, f"line {number} is not a record in ghye's envelope")
            yield data


def _committed_ids(path: Path, committed_offset: int, key: str) -> set[Any]:
    """The record ids already committed to a unit's file."""
    ids: set[Any] = set()
    for data in _committed_records(path, committed_offset):
        value = data.get(key)
        if value is not None:
            ids.add(value)
    return ids


def _pull_numbers(path: Path, committed_offset: int) -> list[int]:
    """The pull request numbers in a repo's committed pulls file, in file order, once each."""
    numbers: dict[int, None] = {}
    for data in _committed_records(path, committed_offset):
        number = data.get("number")
        if isinstance(number, int):
            numbers.setdefault(number)
    return list(numbers)


def _check_unchanged(checkpoint: CheckpointManager, paths: PathManager) -> bool:
    """Whether every unit's file is still what its commit and the manifest say (a stat each).

    DataFileMismatch when a file is missing, shorter or longer than its commit, or another size
    than the manifest lists. False (not an error) when the manifest cannot be read: it is
    written again.
    """
    try:
        manifest = orjson.loads(paths.manifest_path.read_bytes())
        listed = {entry["path"]: entry["bytes"] for entry in manifest["files"]}
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return False
    changed: list[str] = []
    for repo, endpoint, state in checkpoint.units():
        if endpoint not in ENDPOINT_NAMES:
            continue
        path = paths.raw_path(endpoint, repo)
        size = committed_size(path, state.offset, repo=repo, endpoint=endpoint) or 0
        rel = paths.relative(path)
        expected = listed.get(rel, state.offset if state.offset else None)
        if size != state.offset or (expected is not None and size != expected):
            changed.append(f"{rel}: {size:,} bytes, the manifest says {expected or 0:,}")
    if changed:
        example = changed[0]
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        raise DataFileMismatch(
            f"{len(changed)} data file(s) changed since the manifest was written ({example}"
            f"{more}) — run `ghye verify` to see every problem; `ghye reset --repo OWNER/NAME "
            "--endpoint ENDPOINT` collects a unit again"
        )
    return True


def _finish(
    run: _Run,
    units: list[Unit],
    *,
    client: RestClient | None,
    already: bool,
    cancelled: bool = False,
) -> CollectResult:
    checkpoint, config, paths, stop, tally = (
        run.checkpoint,
        run.config,
        run.paths,
        run.stop,
        run.tally,
    )
    counts: Counter[str] = Counter()
    failures: list[UnitFailure] = []
    records_total = 0
    for unit in units:
        progress = checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
        records_total += progress.records_collected
        if progress.status is CheckpointStatus.COMPLETE:
            counts["complete"] += 1
        elif progress.status is CheckpointStatus.FAILED:
            counts["unavailable" if progress.unavailable else "failed"] += 1
            failures.append(
                UnitFailure(
                    unit.repo,
                    unit.endpoint.name,
                    progress.error or "",
                    bool(progress.retryable),
                    progress.unavailable,
                    progress.http_status,
                )
            )
        else:
            counts["pending"] += 1
    refused = tuple(checkpoint.phase_detail("discovery", "refused") or ()) if not cancelled else ()
    discovered = checkpoint.is_phase_complete("discovery")
    all_ended = discovered and counts["pending"] == 0
    manifest_path: Path | None = None
    if cancelled:
        pass
    elif (
        all_ended
        and paths.manifest_path.exists()
        and (already or tally.pages == 0)
        and _check_unchanged(checkpoint, paths)
    ):
        # Nothing changed since it was written: no need to hash every file again. A file
        # deleted, cut or grown behind the checkpoint's back must still not pass as complete.
        manifest_path = paths.manifest_path
    elif all_ended and not stop.event.is_set():
        manifest = build_manifest(
            checkpoint,
            paths,
            config,
            started_at=run.started_at,
            finished_at=datetime.now(UTC),
            tool_version=__version__,
            known=run.digests,
        )
        write_manifest(paths.manifest_path, manifest)
        manifest_path = paths.manifest_path
    checkpoint.save()
    outcome, exit_code = decide(
        Ending(
            units=len(units),
            complete=counts["complete"],
            unavailable=counts["unavailable"],
            failed=counts["failed"],
            pending=counts["pending"],
            refused=len(refused),
            discovered=discovered,
            already=already,
            cancelled=cancelled,
            signal_exit=stop.exit_code if stop.event.is_set() else None,
        )
    )
    stats = client.stats if client is not None else None
    return CollectResult(
        outcome=outcome,
        exit_code=exit_code,
        target=config.github.target.name,
        continued=run.continued,
        units_total=len(units),
        units_complete=counts["complete"],
        units_unavailable=counts["unavailable"],
        units_failed=counts["failed"],
        units_pending=counts["pending"],
        units_skipped=tally.skipped,
        pages_this_run=tally.pages,
        records_this_run=tally.records,
        records_total=records_total,
        requests=stats.requests if stats is not None else 0,
        rate_limit_hits=stats.rate_limit_hits if stats is not None else 0,
        elapsed_seconds=time.monotonic() - run.started,
        failures=tuple(failures),
        manifest_path=manifest_path,
        signal_name=stop.name,
        refused=tuple(str(r) for r in refused),
    )
