"""A collect/resume run, rendered: the question before ``--force`` starts over, the human summary
(first line, counts, what did not complete, next steps) and the ``--json`` object. Pure: results
in, lines or data out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rich.console import Console
from rich.table import Table

from gh_year_end.cli.render.text import format_duration, line_printer, size
from gh_year_end.collect.events import CollectResult, UnitFailure

if TYPE_CHECKING:
    from gh_year_end.collect.start import StartDecision

MAX_FAILURE_ROWS: Final = 25
COLLECT_JSON_SCHEMA_VERSION: Final = 1


def render_start_over(console: Console, decision: StartDecision, *, target_dir: Path) -> None:
    """What ``collect --force`` is about to remove, before it asks."""
    line_printer(console)(
        f"{decision.message} — this removes {len(decision.data_files):,} data files "
        f"({size(decision.data_bytes)}) in {target_dir}"
    )


def render_collect_result(console: Console, result: CollectResult, *, target_dir: Path) -> None:
    """The summary of a collect/resume run."""
    line = line_printer(console)
    refused = _refusals(result.failures)
    if result.outcome == "cancelled":
        line("cancelled — nothing was removed, nothing collected")
        return
    if result.outcome == "interrupted":
        line("interrupted — progress saved; continue with `ghye resume`", "yellow")
    elif result.outcome == "unreadable":
        line(
            f"nothing could be read — target {result.target}: "
            + (refused or "every unit was refused")
            + " — the dataset is empty; fix access, then `ghye resume --retry-failed`",
            "red",
        )
    elif result.outcome == "already_complete":
        line(f"already complete — target {result.target}: nothing to collect", "green")
    elif result.outcome == "complete":
        line(f"complete — target {result.target}" + (f" ({refused})" if refused else ""), "green")
    else:
        line(f"incomplete — target {result.target}: some units are not done", "yellow")
    line(
        f"units: {result.units_complete:,} complete, {result.units_unavailable:,} unavailable, "
        f"{result.units_failed:,} failed, {result.units_pending:,} pending "
        f"(of {result.units_total:,})"
    )
    if result.outcome != "already_complete":
        line(
            f"records: {result.records_this_run:,} this run, {result.records_total:,} in all · "
            f"pages: {result.pages_this_run:,} · requests: {result.requests:,}"
            + (f" ({result.rate_limit_hits:,} rate-limited)" if result.rate_limit_hits else "")
            + f" · elapsed {format_duration(result.elapsed_seconds)}"
        )
    else:
        line(f"records: {result.records_total:,} in all")
    if result.refresh is not None:
        _render_refresh(line, result)
    for reason in result.refused:
        line(f"not collected: {reason}", "yellow")
    if result.failures:
        console.print(failures_table(result.failures))
    line(f"data: {target_dir}")
    if result.manifest_path is not None:
        line(f"manifest: {result.manifest_path}")
    for hint in _next_steps(result):
        line(hint, "dim")
    if result.open_window and result.outcome in ("complete", "already_complete"):
        line(
            "the window is still open: `ghye collect --refresh` brings the dataset up to date",
            "dim",
        )


def _render_refresh(line: Callable[..., None], result: CollectResult) -> None:
    """What the refresh did: units, 304s, changes; what it left or GitHub now refuses."""
    r = result.refresh
    assert r is not None
    state = "done" if r.complete else "not done yet — `ghye resume` continues it"
    line(
        f"refresh {r.generation} {state}: {r.units:,} units this run — {r.not_modified:,} "
        f"unchanged (304, free), {r.untouched:,} with nothing to ask, {r.unchanged:,} read "
        f"again unchanged, {r.changed:,} changed ({r.replaced:,} records replaced, "
        f"{r.added:,} added) · {r.requests:,} requests"
    )
    for what in r.left[:MAX_FAILURE_ROWS]:
        line(f"refresh left: {what}", "yellow")
    for what in r.refused[:MAX_FAILURE_ROWS]:
        line(f"refused now, kept as collected: {what}", "yellow")


def _next_steps(result: CollectResult) -> list[str]:
    if result.outcome in ("interrupted", "complete", "unreadable"):
        return []
    hints: list[str] = []
    if result.outcome == "already_complete":
        hints.append("`ghye collect --force` or `ghye reset` starts over")
    retryable = any(f.retryable and not f.unavailable for f in result.failures)
    permanent = any(not f.retryable and not f.unavailable for f in result.failures)
    if result.units_pending or retryable:
        hints.append("continue with `ghye resume`")
    if permanent:
        hints.append("`ghye resume --retry-failed` tries the permanently failed units again")
    return hints


# What a status code says about a unit that GitHub would not give, and its likely cause.
_UNAVAILABLE: Final[dict[int | None, tuple[str, str]]] = {
    403: (
        "refused access (403)",
        "the token may lack a scope or permission, or SAML SSO authorization for the org",
    ),
    404: ("gone or hidden (404)", "removed, renamed, or not visible to the token"),
    410: ("gone (410)", "e.g. issues disabled in the repository"),
    451: ("blocked for legal reasons (451)", "a DMCA takedown or similar"),
}


def _unavailable_text(status: int | None) -> str:
    return _UNAVAILABLE.get(status, ("unavailable", ""))[0]


def _refusals(failures: Sequence[UnitFailure]) -> str:
    """`3 repositories refused access (403) — the token may lack …; 1 gone or hidden (404) …`"""
    repos: dict[int | None, set[str]] = defaultdict(set)
    for failure in failures:
        if failure.unavailable:
            repos[failure.http_status].add(failure.repo)
    parts: list[str] = []
    for status, names in sorted(repos.items(), key=lambda kv: (-len(kv[1]), kv[0] or 0)):
        what, cause = _UNAVAILABLE.get(status, ("unavailable", ""))
        noun = "repository" if len(names) == 1 else "repositories"
        parts.append(f"{len(names):,} {noun} {what}" + (f" — {cause}" if cause else ""))
    return "; ".join(parts)


def failures_table(failures: Sequence[UnitFailure]) -> Table:
    """Units that did not complete, one row per repository and reason (failures first).

    A repository that is gone is one row, not one per endpoint; a failure's full reason (its
    URL included) stays in the row, the unavailable ones say what GitHub answered. Every unit's
    own detail is in `ghye status --json`.
    """
    groups: dict[tuple[bool, str, str, bool], list[str]] = {}
    for failure in failures:
        what = _unavailable_text(failure.http_status) if failure.unavailable else failure.reason
        key = (failure.unavailable, failure.repo, what, failure.retryable)
        groups.setdefault(key, []).append(failure.endpoint)
    table = Table(title="units that did not complete", title_justify="left", expand=False)
    table.add_column("repo", overflow="fold")
    table.add_column("endpoints", overflow="fold")
    table.add_column("what happened", overflow="fold")
    table.add_column("retry")
    rows = sorted(groups.items())
    for (unavailable, repo, what, retryable), endpoints in rows[:MAX_FAILURE_ROWS]:
        retry = "resume" if retryable else ("no" if unavailable else "--retry-failed")
        table.add_row(repo, ", ".join(endpoints), what, retry)
    if len(rows) > MAX_FAILURE_ROWS:
        table.add_row(
            f"… and {len(rows) - MAX_FAILURE_ROWS:,} more — see `ghye status --json`", "", "", ""
        )
    return table


def collect_result_json(result: CollectResult, *, target_dir: Path) -> dict[str, Any]:
    """``collect --json`` / ``resume --json``: every field of ``result`` (paths as strings,
    failures as objects), plus ``schema_version`` and the data folder (docs/cli.md)."""
    return {
        "schema_version": COLLECT_JSON_SCHEMA_VERSION,
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "target": result.target,
        "data_dir": str(target_dir),
        "continued": result.continued,
        "units_total": result.units_total,
        "units_complete": result.units_complete,
        "units_unavailable": result.units_unavailable,
        "units_failed": result.units_failed,
        "units_pending": result.units_pending,
        "units_skipped": result.units_skipped,
        "pages_this_run": result.pages_this_run,
        "records_this_run": result.records_this_run,
        "records_total": result.records_total,
        "requests": result.requests,
        "rate_limit_hits": result.rate_limit_hits,
        "elapsed_seconds": result.elapsed_seconds,
        "failures": [_failure_json(failure) for failure in result.failures],
        "manifest_path": str(result.manifest_path) if result.manifest_path is not None else None,
        "signal_name": result.signal_name,
        "refused": list(result.refused),
        "refresh": _refresh_json(result),
        "open_window": result.open_window,
    }


def _refresh_json(result: CollectResult) -> dict[str, Any] | None:
    r = result.refresh
    if r is None:
        return None
    return {
        "generation": r.generation,
        "complete": r.complete,
        "units": r.units,
        "not_modified": r.not_modified,
        "unchanged": r.unchanged,
        "untouched": r.untouched,
        "changed": r.changed,
        "records_replaced": r.replaced,
        "records_added": r.added,
        "requests": r.requests,
        "left": list(r.left),
        "refused": list(r.refused),
        "failed": list(r.failed),
    }


def _failure_json(failure: UnitFailure) -> dict[str, Any]:
    return {
        "repo": failure.repo,
        "endpoint": failure.endpoint,
        "reason": failure.reason,
        "retryable": failure.retryable,
        "unavailable": failure.unavailable,
        "http_status": failure.http_status,
    }
