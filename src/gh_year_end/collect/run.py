"""A collect, start to end: take the lock, decide how to start, talk to GitHub, run the units,
finish.

The order is the product's promise for destructive starts: check first (the token and the target,
with a request), ask (on a terminal), remove last. Everything below is in the modules this one
calls: start (the start policy), discovery, plan, scheduler (units → pagers → commits), finish.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx

from gh_year_end.collect.batch import BatchRunner
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.counting import estimate_after_discovery
from gh_year_end.collect.discovery import check_target, first_contact, run_discovery
from gh_year_end.collect.events import CollectResult, EventSink
from gh_year_end.collect.finish import finish
from gh_year_end.collect.plan import Unit, nothing_to_do, plan_units, select
from gh_year_end.collect.refresh import (
    RefreshRunner,
    begin,
    finish_switches,
    generation_in_progress,
)
from gh_year_end.collect.refresh_discovery import refresh_discovery
from gh_year_end.collect.review_probe import choose_reviews_api
from gh_year_end.collect.review_queries import ReviewQueries
from gh_year_end.collect.scheduler import Scheduler
from gh_year_end.collect.start import (
    StartDecision,
    StartRequest,
    decide_start,
    holds_committed_pages,
    start_over,
)
from gh_year_end.config import Config
from gh_year_end.endpoints import Transport
from gh_year_end.errors import Interrupted, StorageError
from gh_year_end.github.auth import check_credentials
from gh_year_end.github.client import RestClient
from gh_year_end.signals import StopSignal
from gh_year_end.storage.atomic import ensure_dir
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.paths import PathManager


@dataclass(frozen=True)
class CollectRequest:
    """What the user asked for: `collect` (fresh or continue) or `resume`."""

    resume: bool = False
    force: bool = False
    from_repo: str | None = None
    retry_failed: bool = False
    refresh: bool = False
    """Bring a collected dataset up to date (``collect --refresh``; see :mod:`.refresh`)."""

    @property
    def start(self) -> StartRequest:
        """The part of the request that decides how the run starts."""
        return StartRequest(resume=self.resume, force=self.force)


Confirm = Callable[[StartDecision], bool]
"""Asked before starting over removes collected data (the CLI asks on a terminal)."""


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
    CheckpointCorrupt, AuthenticationFailed, TargetNotFound, StorageError, Interrupted.
    """
    # The token is checked before anything is touched: no token, no lock, no request.
    check_credentials(config, environ)
    config.warn_ignored()
    open_client = functools.partial(
        RestClient.from_config,
        config,
        environ=environ,
        transport=transport,
        on_wait=events.waiting,
        on_warning=lambda text: events.message(f"warning: {text}"),
    )
    return asyncio.run(
        _run(
            config,
            request,
            open_client,
            events=events,
            command=command,
            install_signals=install_signals,
            confirm=confirm,
        )
    )


async def _run(
    config: Config,
    request: CollectRequest,
    open_client: Callable[[], RestClient],
    *,
    events: EventSink,
    command: str,
    install_signals: bool,
    confirm: Confirm | None,
) -> CollectResult:
    paths = PathManager(config)
    _make_dirs(paths)
    stop = StopSignal(on_stop=events.stopping)
    loop = asyncio.get_running_loop()
    if install_signals:
        stop.install(loop)
    try:
        with CheckpointManager(
            paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path, command=command
        ) as checkpoint:
            ctx = RunContext(
                config, paths, checkpoint, events, stop, time.monotonic(), datetime.now(UTC)
            )
            decision = decide_start(checkpoint, config, paths, request.start)
            refreshing = False
            if decision.kind == "continue":
                ctx.continued = True
                # A refresh stopped between a unit's commit and its file's rename is finished
                # before anything else reads a unit.
                finish_switches(checkpoint, paths)
                under_way = generation_in_progress(checkpoint) is not None
                refreshing = request.refresh or under_way
                events.message(
                    "continuing the refresh under way"
                    if under_way
                    else f"refreshing target {config.github.target.name}"
                    if refreshing
                    else decision.message or "continuing"
                )
                units = plan_units(checkpoint, config)
                if not refreshing and nothing_to_do(
                    checkpoint,
                    units,
                    retry_failed=request.retry_failed,
                    from_repo=request.from_repo,
                ):
                    return finish(ctx, units, client=None, already=True)
            elif decision.kind == "fresh":
                checkpoint.create_new(config)
            async with open_client() as client:
                ctx.client = client
                target = config.github.target
                own = target.name if target.mode == "user" else None
                await first_contact(client.check_accounts(own_repos_of=own), config)
                if decision.kind == "start_over":
                    if decision.removes_data:
                        # Check first, remove last: a rejected token or a wrong target must
                        # never cost the data already collected.
                        await first_contact(check_target(client, config), config)
                        if not _ask(confirm, decision, stop, loop, installed=install_signals):
                            return finish(ctx, [], client=client, already=False, cancelled=True)
                    events.message(decision.message or "starting over")
                    start_over(checkpoint, config, paths)
                generation = begin(checkpoint, paths) if refreshing else None
                if not checkpoint.is_phase_complete("discovery"):
                    await run_discovery(ctx, client, first=not holds_committed_pages(checkpoint))
                elif generation is not None:
                    await refresh_discovery(ctx, client)
                units = plan_units(checkpoint, config)
                if not stop.event.is_set():
                    await _work(ctx, client, request, units, generation)
                return finish(ctx, units, client=client, already=False)
    finally:
        if install_signals:
            stop.uninstall(loop)


async def _work(
    ctx: RunContext,
    client: RestClient,
    request: CollectRequest,
    units: list[Unit],
    generation: int | None,
) -> None:
    """Run the units left, then (``generation``: the refresh's number) refresh the rest."""
    selection = select(
        ctx.checkpoint, units, retry_failed=request.retry_failed, from_repo=request.from_repo
    )
    refreshing = generation is not None
    if await choose_reviews_api(ctx, client, selection, refreshing=refreshing) == "graphql":
        ctx.review_queries = ReviewQueries(client)
    # For status's ETA, beside the work (a few GraphQL points, within a deadline of its own; it
    # never fails the run, and a stop cancels it). A refresh of a complete dataset needs none.
    estimating = asyncio.ensure_future(
        estimate_after_discovery(ctx, client) if selection.todo or not refreshing else _nothing()
    )
    # The endpoints read only through GraphQL run after the others (collect/batch.py).
    batch = [p.unit for p in selection.todo if _batched(p.unit)]
    others = tuple(p for p in selection.todo if not _batched(p.unit))
    if batch:
        # The data is about to change: a manifest from an earlier run no longer describes it.
        ctx.paths.manifest_path.unlink(missing_ok=True)
    try:
        await Scheduler(ctx).run(
            replace(selection, todo=others), [u for u in units if not _batched(u)]
        )
        if batch and not ctx.stop.event.is_set():
            await BatchRunner(ctx).collect(batch)
        if generation is not None and not ctx.stop.event.is_set():
            runner = RefreshRunner(ctx, generation)
            ctx.refresh = runner.tally
            await runner.run(units)
    finally:
        if ctx.stop.event.is_set() or sys.exc_info()[0] is not None:
            estimating.cancel()
        await asyncio.gather(estimating, return_exceptions=True)
        if ctx.review_queries is not None:
            await ctx.review_queries.aclose()


def _batched(unit: Unit) -> bool:
    return unit.endpoint.transport is Transport.GRAPHQL_BATCH


async def _nothing() -> None:
    """An estimate not made."""


def _ask(
    confirm: Confirm | None,
    decision: StartDecision,
    stop: StopSignal,
    loop: asyncio.AbstractEventLoop,
    *,
    installed: bool,
) -> bool:
    """Ask ``confirm``; Ctrl+C at the question removes nothing (Interrupted, exit 130).

    The run's own signal handlers are taken off meanwhile: the question blocks the event loop,
    which could not act on them, and a Ctrl+C must reach the prompt.
    """
    if confirm is None:
        return True
    if installed:
        stop.uninstall(loop)
    try:
        answer = confirm(decision)
    except KeyboardInterrupt:
        raise Interrupted("interrupted at the question — nothing was removed") from None
    finally:
        if installed:
            stop.install(loop)
    return answer


def _make_dirs(paths: PathManager) -> None:
    """The target folder, each folder created fsynced into its parent."""
    try:
        ensure_dir(paths.target_dir)
    except StorageError as exc:
        cause = exc.__cause__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc)
        raise StorageError(
            f"cannot create the data folder {paths.target_dir}: {reason} — check storage.root"
        ) from exc
