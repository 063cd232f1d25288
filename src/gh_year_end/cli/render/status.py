"""A StatusReport, rendered for people: the head (target, window, lock, counts, the last
refresh, throughput, ETA), the per-endpoint table (with how old each endpoint's data is) and
the failures. Pure: a report in, a Rich renderable out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gh_year_end.cli.render.collect import failures_table
from gh_year_end.cli.render.text import format_duration, iso

if TYPE_CHECKING:
    from datetime import datetime

    from gh_year_end.manage.status import AsOf, EstimateLeft, RefreshInfo, StatusReport


def render_status(report: StatusReport) -> RenderableType:
    """The human view of a StatusReport."""
    parts: list[RenderableType] = []
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("target", f"{report.target_mode} {report.target} ({report.target_dir})")
    head.add_row("window", f"{iso(report.since)} → {iso(report.until)} (year {report.year})")
    updated = iso(report.updated_at) if report.updated_at else "never"
    head.add_row("last update", updated)
    done_phases = [p for p, complete in report.phases if complete]
    phases = ", ".join(done_phases) if done_phases else "none"
    current = (
        f"; current: {report.current_phase}"
        if report.current_phase and report.current_phase not in done_phases
        else ""
    )
    head.add_row("phases done", phases + current)
    head.add_row("lock", _lock_text(report))
    if report.config_changed:
        head.add_row(
            "config",
            Text(
                "changed since the checkpoint: "
                + ", ".join(report.config_changed)
                + " — `ghye resume` will refuse; `ghye collect --force` starts over",
                style="yellow",
            ),
        )
    r = report.repos
    head.add_row(
        "repos",
        f"{r.total:,}: {r.complete:,} complete, {r.in_progress:,} in progress, "
        f"{r.pending:,} pending, {r.failed:,} with failures",
    )
    u = report.units
    head.add_row(
        "units",
        f"{u.total:,}: {u.complete:,} complete, {u.unavailable:,} unavailable, "
        f"{u.failed:,} failed, {u.in_progress:,} in progress, {u.pending:,} pending",
    )
    if report.refresh is not None:
        head.add_row(*_refresh_row(report.refresh, running=report.running))
    head.add_row("throughput", _throughput_text(report))
    head.add_row("ETA", _eta_text(report))
    head.add_row(
        "manifest", str(report.manifest_path) if report.manifest_path else "not written yet"
    )
    parts.append(head)

    # No cell padding and no edges (SIMPLE_HEAD separates columns by a space): eight columns
    # of large numbers and an age of three characters still fit 80 characters, the width of
    # a CI log.
    table = Table(
        title="per endpoint",
        title_justify="left",
        caption=_age_caption(report),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
    )
    for name in ("endpoint", "units", "complete", "unavail.", "failed", "pending", "pages"):
        table.add_column(name, justify="left" if name == "endpoint" else "right", no_wrap=True)
    table.add_column("records", justify="right", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    for ep in report.endpoints:
        table.add_row(
            ep.endpoint,
            f"{ep.units:,}",
            f"{ep.complete:,}",
            f"{ep.unavailable:,}",
            f"{ep.failed:,}",
            f"{ep.pending + ep.in_progress:,}",
            f"{ep.pages:,}",
            f"{ep.records:,}",
            _age_text(ep.oldest, report.generated_at),
        )
    parts.append(table)
    if report.failures:
        parts.append(failures_table(report.failures))
    return Group(*parts)


def _refresh_row(refresh: RefreshInfo, *, running: bool) -> tuple[str, str]:
    """The head's row for the last refresh: how far one under way has come, or when it ended."""
    if not refresh.under_way:
        finished = f", finished {iso(refresh.finished_at)}" if refresh.finished_at else ""
        return "last refresh", f"{refresh.generation}{finished}"
    text = f"{refresh.generation} under way: {refresh.units_done:,} of {refresh.units:,} units done"
    if refresh.started_at is not None:
        text += f" (started {iso(refresh.started_at)})"
    if not running:
        text += " — stopped; `ghye resume` finishes it"
    return "refresh", text


def _age_caption(report: StatusReport) -> str | None:
    """What the ``age`` column says (None: no endpoint has a complete unit). Once the dataset
    was refreshed, the endpoints whose oldest unit was not refreshed yet are named."""
    if not any(ep.oldest is not None for ep in report.endpoints):
        return None
    if report.refresh is None:
        return "age: since each endpoint's oldest unit was collected (none was refreshed yet)"
    caption = "age: since each endpoint's oldest unit was last refreshed"
    collected = [
        ep.endpoint
        for ep in report.endpoints
        if ep.oldest is not None and ep.oldest.how == "collected"
    ]
    if collected:
        caption += f"; {', '.join(collected)}: since collected (not refreshed yet)"
    return caption


def _age_text(oldest: AsOf | None, now: datetime) -> str:
    """How long ago the endpoint's oldest unit was brought up to date: ``<1m``, ``45m``,
    ``23h``, ``12d`` (at most three characters until 100 days)."""
    if oldest is None:
        return "-"
    seconds = max(0.0, (now - oldest.at).total_seconds())
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _lock_text(report: StatusReport) -> str:
    lock = report.lock
    if lock.state == "free" and lock.pid is None:
        return "free (no collect running)"
    who = f"pid {lock.pid} on {lock.host}" if lock.pid is not None else "an unknown process"
    since = f", since {iso(lock.started_at)}" if lock.started_at else ""
    command = f" ({lock.command}{since})" if lock.command else (f" ({since[2:]})" if since else "")
    states = {
        "alive": "held by",
        "stale": "stale — left by",
        "unknown": "held (liveness unknown) by",
        "free": "free; last held by",
    }
    hint = " — `ghye unlock` removes it" if lock.state == "stale" else ""
    return f"{states.get(lock.state, lock.state)} {who}{command}{hint}"


def _throughput_text(report: StatusReport) -> str:
    t = report.throughput
    if t.units_per_minute is None:
        return "unknown (fewer than two units ended recently)"
    text = f"{t.units_per_minute:,.1f} units/min"
    if t.records_per_minute is not None:
        text += f", {t.records_per_minute:,.0f} records/min"
    if t.pages_per_minute is not None:
        text += f", {t.pages_per_minute:,.0f} pages/min"
    text += f" (from the last {t.basis_units} units ended)"
    return text if report.running else text + "; no collect running"


def _eta_text(report: StatusReport) -> str:
    if report.units.pending + report.units.in_progress == 0:
        return "nothing left to collect"
    left = report.estimate
    basis = (
        f"from the estimate ({left.written_by}, {iso(left.written_at)}): {_left_text(left)} left"
        if left is not None
        else "counted in units: no estimate — `ghye plan` writes one"
    )
    if left is not None and left.wait_seconds:
        basis += f", {format_duration(left.wait_seconds)} of it waiting for rate-limit resets"
    if report.eta_seconds is None:
        return f"unknown — {basis}" if left is not None else "unknown"
    eta = format_duration(report.eta_seconds)
    pace = "" if report.running else " at the last run's pace (no collect running)"
    return f"{eta}{pace} — {basis}"


def _left_text(left: EstimateLeft) -> str:
    names = {"core": "REST requests", "graphql": "GraphQL points"}
    parts = [
        f"{figure.text} {names.get(resource, resource)}"
        for resource, figure in left.requests.items()
        if figure.requests
    ]
    return ", ".join(parts) or "nothing"
