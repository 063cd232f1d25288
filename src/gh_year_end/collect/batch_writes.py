"""What the endpoints read only through GraphQL write (:mod:`.batch`): one answer's records
committed to a unit (written, fsynced, then the checkpoint's commit), a refreshed unit's
records merged and switched in (one commit), a unit current as it is, and a failure recorded —
which, in a refresh, keeps a complete unit as collected (left for ``ghye resume``, refused, or
failed for good so that the refresh can end)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.plan import Unit
from gh_year_end.storage.checkpoint import CheckpointStatus, Cursor, Refreshed
from gh_year_end.storage.jsonl import SOURCE_GRAPHQL, JSONLWriter, envelope_line
from gh_year_end.storage.rewrite import Rewritten, finish_switch, write_refreshed


class Stopped(Exception):
    """The run stopped while a query was on its way: nothing of it is written."""


class BatchWrites:
    """Writes for :class:`~.batch.BatchRunner` (see the module docstring)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    async def commit(
        self,
        unit: Unit,
        records: list[dict[str, Any]],
        *,
        page: int,
        cursor: Cursor,
        complete: bool,
    ) -> None:
        ctx = self.ctx
        name = unit.endpoint.name

        def commit() -> None:
            progress = ctx.checkpoint.get_endpoint(unit.repo, name)
            writer = JSONLWriter(
                ctx.paths.raw_path(name, unit.repo),
                repo=unit.repo,
                committed_offset=progress.offset,
                committed_lines=progress.lines,
            )
            try:
                for record in records:
                    writer.write(
                        source=SOURCE_GRAPHQL,
                        endpoint=name,
                        data=record,
                        repo=unit.repo,
                        page=page,
                        request_id=None,
                    )
                offset, lines = writer.flush()
            finally:
                writer.close()
            ctx.checkpoint.update_progress(
                unit.repo,
                name,
                page,
                len(records),
                offset=offset,
                lines=lines,
                cursor=cursor,
                complete=complete,
            )

        await ctx.in_thread(commit)
        ctx.tally.pages += 1
        ctx.tally.records += len(records)
        ctx.events.page_committed(unit.repo, name, page, len(records), 0)
        if complete:
            ctx.events.unit_finished(unit.repo, name, "complete", None)

    async def switch(
        self, unit: Unit, records: Mapping[Any, dict[str, Any]], generation: int
    ) -> None:
        """A refreshed unit's records merged into its file and switched in (one commit)."""
        ctx, name = self.ctx, unit.endpoint.name
        progress = ctx.checkpoint.get_endpoint(unit.repo, name)
        stamp = datetime.now(UTC)
        fetched = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines = {
            key: (
                record,
                envelope_line(
                    timestamp=fetched,
                    source=SOURCE_GRAPHQL,
                    endpoint=name,
                    repo=unit.repo,
                    page=None,
                    request_id=None,
                    data=record,
                ),
            )
            for key, record in records.items()
        }
        path = ctx.paths.raw_path(name, unit.repo)

        def switch() -> Rewritten | None:
            rewritten = write_refreshed(path, progress.offset, unit.endpoint.record_id, lines)
            if rewritten is None:
                ctx.checkpoint.commit_refresh(unit.repo, name, Refreshed(generation, stamp, None))
                return None
            ctx.checkpoint.commit_refresh(
                unit.repo,
                name,
                Refreshed(
                    generation,
                    stamp,
                    None,
                    offset=rewritten.offset,
                    lines=rewritten.lines,
                    switch=rewritten.name,
                ),
            )
            finish_switch(path, rewritten.name, rewritten.offset)
            ctx.checkpoint.switch_done(unit.repo, name)
            return rewritten

        rewritten = await ctx.in_thread(switch)
        ctx.events.unit_finished(unit.repo, name, "complete", None)
        tally = ctx.refresh
        if tally is not None:
            tally.units += 1
            if rewritten is None:
                tally.unchanged += 1
            else:
                tally.changed += 1
                tally.replaced += rewritten.replaced
                tally.added += rewritten.added

    async def current(self, unit: Unit, generation: int) -> None:
        """A unit nothing changed for: current for this refresh without a request."""
        ctx = self.ctx
        await ctx.in_thread(
            ctx.checkpoint.commit_refresh,
            unit.repo,
            unit.endpoint.name,
            Refreshed(generation, datetime.now(UTC), None),
        )
        if ctx.refresh is not None:
            ctx.refresh.units += 1
            ctx.refresh.untouched += 1

    async def fail(self, unit: Unit, exc: BaseException) -> None:
        if isinstance(exc, Stopped):
            return  # the run stops: the unit is as it was
        retryable = bool(getattr(exc, "retryable", True))
        await self.record_failure(
            unit, str(exc), retryable=retryable, status=getattr(exc, "status", None)
        )

    async def record_failure(
        self,
        unit: Unit,
        reason: str,
        *,
        retryable: bool,
        unavailable: bool = False,
        status: int | None = None,
    ) -> None:
        ctx = self.ctx
        tally = ctx.refresh
        name = f"{unit.repo} {unit.endpoint.name}"
        if (
            tally is not None
            and self.ctx.checkpoint.get_endpoint(unit.repo, unit.endpoint.name).status
            is CheckpointStatus.COMPLETE
        ):
            # A refresh: what was collected stays. A failure that may pass is tried again by
            # `ghye resume`; a refusal is kept as collected; another failure for good is
            # recorded failed (exit 3) so that the refresh can end.
            if retryable:
                tally.left.append(f"{name}: {reason}")
                ctx.events.unit_finished(unit.repo, unit.endpoint.name, "failed", reason)
                return
            if unavailable:
                tally.refused.append(f"{name}: {reason}")
                await ctx.in_thread(
                    ctx.checkpoint.commit_refresh,
                    unit.repo,
                    unit.endpoint.name,
                    Refreshed(tally.generation, None, None),
                )
                ctx.events.unit_finished(unit.repo, unit.endpoint.name, "unavailable", reason)
                return
            tally.failed.append(f"{name}: {reason}")
        await ctx.in_thread(
            ctx.checkpoint.mark_repo_endpoint_failed,
            unit.repo,
            unit.endpoint.name,
            reason,
            retryable,
            unavailable=unavailable,
            http_status=status,
        )
        status_word = "unavailable" if unavailable else "failed"
        ctx.events.unit_finished(unit.repo, unit.endpoint.name, status_word, reason)


__all__ = ["BatchWrites", "Stopped"]
