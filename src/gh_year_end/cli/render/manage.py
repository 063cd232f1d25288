"""What the managing commands did, rendered: a reset's plan and result, verify's report, unlock's
result. Pure: a result in, lines on the console the command hands in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from gh_year_end.cli.render.text import iso, line_printer, size

if TYPE_CHECKING:
    from gh_year_end.manage.reset import ResetPlan, ResetResult
    from gh_year_end.manage.unlock import UnlockResult
    from gh_year_end.manage.verify import VerifyReport


def render_reset_plan(console: Console, plan: ResetPlan, *, dry_run: bool) -> None:
    """What a reset removes."""
    line = line_printer(console)
    if plan.is_empty:
        line(f"nothing to reset: {plan.scope}")
        return
    verb = "would remove" if dry_run else "will remove"
    line(f"reset {plan.scope}: {verb} {plan.file_count} files ({size(plan.bytes)})")
    for path in plan.files:
        shown = path.relative_to(plan.target_dir) if path.is_relative_to(plan.target_dir) else path
        line(f"  {shown.as_posix()}")
    if plan.units:
        line(f"{'would send' if dry_run else 'sends'} {len(plan.units)} units back to pending:")
        for unit in plan.units:
            note = f" — {unit.note}" if unit.note else ""
            line(f"  {unit.repo} {unit.endpoint} ({unit.status}, {unit.records:,} records){note}")
    if dry_run:
        line("dry run: nothing changed", "dim")


def render_reset_result(console: Console, result: ResetResult) -> None:
    """What a reset did."""
    line = line_printer(console)
    if result.plan.is_empty:
        line(f"nothing to reset: {result.plan.scope}")
    elif not result.applied:
        line("cancelled — nothing changed")
    else:
        line(
            f"reset {result.plan.scope}: removed {result.removed_files} files, "
            f"{result.reset_units} units back to pending"
            + ("; manifest removed" if result.manifest_removed else ""),
            "green",
        )
        if not result.plan.whole_target:
            line("continue with `ghye resume`", "dim")


def render_verify(console: Console, report: VerifyReport) -> None:
    """What verify found."""
    line = line_printer(console)
    checked = (
        f"{report.files:,} files, {report.records:,} records, {size(report.bytes)}; "
        f"{report.units_ended:,} of {report.units:,} units ended; "
        + ("manifest checked" if report.manifest_checked else "no manifest yet")
    )
    if report.running:
        checked += "; a collect is running (its units in progress checked up to their commit)"
    if report.holds:
        line(f"holds — target {report.target}: {checked}", "green")
        _refresh_line(line, report)
        return
    line(
        f"{len(report.problems):,} problem(s) — target {report.target} ({report.target_dir}): "
        f"{checked}",
        "red",
    )
    _refresh_line(line, report)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("file", overflow="fold")
    table.add_column("problem", overflow="fold")
    for problem in report.problems:
        table.add_row(problem.path, problem.what)
    console.print(table)


def _refresh_line(line: Callable[..., None], report: VerifyReport) -> None:
    """The refresh under way, if one is: it writes the manifest when it ends."""
    if report.refreshing is None:
        return
    finish = (
        "running now; it writes the manifest when it ends"
        if report.running
        else "`ghye resume` finishes it"
    )
    line(f"a refresh (number {report.refreshing}) is under way — {finish}", "yellow")


def render_unlock_result(console: Console, result: UnlockResult) -> None:
    """What unlock did."""
    line = line_printer(console)
    if not result.removed:
        line(f"nothing to unlock: no lock held on {result.lock_path}")
        return
    if result.state == "free":
        line(f"no lock held on {result.lock_path}; removed an unreadable owner record beside it")
        return
    owner = result.owner
    what = "its record and lock file" if result.lock_file_removed else "its record"
    if owner is None:
        line(
            f"removed the lock at {result.lock_path}, held by a process that left no readable "
            f"owner record — --force removed {what}"
        )
        return
    was = (
        f" — its holder could not be checked from here, so --force removed {what}"
        if result.was_alive
        else ""
    )
    line(
        f"removed the lock of pid {owner.pid} on {owner.host} "
        f"({owner.command or 'unknown command'}, since {iso(owner.started_at)}){was}"
    )
