"""The end of a run: count the units, write (or keep) the manifest, decide the outcome.

A run whose every unit ended writes manifest.json — every file hashed up to its commit — unless
the one already there still describes the data: then each file's size is compared with its
commit and the manifest (a stat each), and a file changed behind ghye's back is an error naming
it (DataFileMismatch), never "already complete".
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from gh_year_end import __version__
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.events import CollectResult, UnitFailure
from gh_year_end.collect.plan import Unit
from gh_year_end.collect.refresh import generation_in_progress
from gh_year_end.collect.result import Ending, decide
from gh_year_end.errors import DataFileMismatch
from gh_year_end.github.client import RestClient
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.jsonl import committed_size
from gh_year_end.storage.manifest import build_manifest, read_manifest, write_manifest
from gh_year_end.storage.paths import PathManager


def finish(
    ctx: RunContext,
    units: list[Unit],
    *,
    client: RestClient | None,
    already: bool,
    cancelled: bool = False,
) -> CollectResult:
    """What the run did, with the manifest written when every unit ended (see module doc)."""
    checkpoint, config, paths, stop, tally = (
        ctx.checkpoint,
        ctx.config,
        ctx.paths,
        ctx.stop,
        ctx.tally,
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
    refused = () if cancelled else tuple(checkpoint.phase_detail("discovery", "refused") or ())
    discovered = checkpoint.is_phase_complete("discovery")
    all_ended = discovered and counts["pending"] == 0
    manifest_path: Path | None = None
    if cancelled:
        pass
    elif (
        all_ended
        and (already or tally.pages == 0)
        and ctx.refresh is None  # a refresh rewrites files: its manifest is written anew
        and _unchanged_since_manifest(checkpoint, paths)
    ):
        manifest_path = paths.manifest_path
    elif all_ended and not stop.event.is_set() and checkpoint.refresh_under_way() is None:
        # (While a refresh is under way the files may still change: it writes the manifest
        # when it ends.)
        manifest = build_manifest(
            checkpoint,
            paths,
            config,
            started_at=ctx.started_at,
            finished_at=datetime.now(UTC),
            tool_version=__version__,
            known=ctx.digests,
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
            refresh_left=len(ctx.refresh.left) if ctx.refresh is not None else 0,
        )
    )
    refresh = None
    if ctx.refresh is not None:
        refresh = ctx.refresh.summary(complete=generation_in_progress(checkpoint) is None)
    stats = client.stats if client is not None else None
    return CollectResult(
        outcome=outcome,
        exit_code=exit_code,
        target=config.github.target.name,
        continued=ctx.continued,
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
        elapsed_seconds=time.monotonic() - ctx.started,
        failures=tuple(failures),
        manifest_path=manifest_path,
        signal_name=stop.name,
        refused=tuple(str(r) for r in refused),
        refresh=refresh,
        open_window=config.window.until > datetime.now(UTC),
    )


def _unchanged_since_manifest(checkpoint: CheckpointManager, paths: PathManager) -> bool:
    """Whether the manifest there still describes every unit's file (a stat each).

    DataFileMismatch when a file is missing, shorter or longer than its commit, or another size
    than the manifest lists. False (not an error) when there is no readable manifest: it is
    written again.
    """
    manifest = read_manifest(paths.manifest_path)
    if manifest is None:
        return False
    listed = {entry.path: entry.bytes for entry in manifest.files}
    changed: list[str] = []
    for repo, endpoint, state in checkpoint.units():
        path = paths.raw_path(endpoint, repo)
        size = committed_size(path, state.offset, repo=repo, endpoint=endpoint) or 0
        rel = paths.relative(path)
        expected = listed.get(rel, state.offset)
        if size != state.offset or size != expected:
            changed.append(f"{rel}: {size:,} bytes, the manifest says {expected:,}")
    if changed:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        raise DataFileMismatch(
            f"{len(changed)} data file(s) changed since the manifest was written ({changed[0]}"
            f"{more}) — run `ghye verify` to see every problem; `ghye reset --repo OWNER/NAME "
            "--endpoint ENDPOINT` collects a unit again"
        )
    return True
