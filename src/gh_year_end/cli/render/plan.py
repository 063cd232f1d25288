"""A PlanReport, rendered for people: the repositories and what is in their window, the largest
ones, the requests per endpoint and resource (each figure exact or a floor, and why), the
budgets and the waits for resets, and what the plan itself cost. Pure: a report in, lines and
tables on the console the command hands in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from rich import box
from rich.console import Console
from rich.table import Table

from gh_year_end.cli.render.text import format_duration, iso, line_printer
from gh_year_end.endpoints import BY_NAME, Transport

if TYPE_CHECKING:
    from gh_year_end.collect.estimate import Figure
    from gh_year_end.manage.plan import PlanReport, ResourcePlan

#: Repositories the table lists (``--json`` has every one).
LARGEST: Final = 10
# GitHub's names of the budgets (github.ratelimit's CORE and GRAPHQL, which this module does not
# import: every command imports the renderers, and the github package imports httpx).
CORE: Final = "core"
GRAPHQL: Final = "graphql"
_NAMES: Final = {CORE: "REST requests", GRAPHQL: "GraphQL points"}


def render_plan(console: Console, report: PlanReport) -> None:
    """The human view of a PlanReport."""
    line = line_printer(console)
    line(
        f"plan — {report.target_mode} {report.target}, window {iso(report.since)} → "
        f"{iso(report.until)}",
        "bold",
    )
    if report.checkpoint_note:
        line(f"note: {report.checkpoint_note}", "yellow")
    line(_repos_line(report))
    for reason in report.refused:
        line(f"  refused: {reason}", "yellow")
    for text in _unseen_lines(report):
        line(text, "yellow")
    line(_window_line(report))
    if report.repos:
        console.print(_largest(report))
    console.print(_requests(report))
    for resource in report.resources:
        line(_budget_line(resource))
    line(_time_line(report), "bold")
    line(_cost_line(report), "dim")
    if report.estimate_path is not None:
        line(f"estimate saved: {report.estimate_path} — `ghye status` reads its ETA from it", "dim")
    elif report.estimate_error:
        line(f"estimate not saved: {report.estimate_error}", "yellow")


def _repos_line(report: PlanReport) -> str:
    count = f"{len(report.repos):,} repositories"
    if report.source == "checkpoint":
        return f"{count} — the plan of the checkpoint's discovery (nothing listed again)"
    listed = report.listed or 0
    left_out = listed - len(report.repos) - len(report.refused)
    return f"{count} — {listed:,} listed, {left_out:,} left out by the discovery filters" + (
        f", {len(report.refused)} refused for their names" if report.refused else ""
    )


def _unseen_lines(report: PlanReport) -> list[str]:
    """The repositories the count query could not see, named (at most :data:`LARGEST`); those
    a failed query left uncounted, in one line."""
    named = [r for r in report.unseen if r.unseen is not None and r.unseen.kind != "ERROR"]
    lines: list[str] = []
    for repo in named[:LARGEST]:
        assert repo.unseen is not None
        what = (
            "not found (gone, or hidden from the credential)"
            if repo.unseen.kind == "NOT_FOUND"
            else "refused to the credential"
        )
        lines.append(f"  {repo.name}: {what} — {repo.unseen.reason}")
    if len(named) > LARGEST:
        lines.append(f"  … and {len(named) - LARGEST:,} more (--json lists every one)")
    uncounted = len(report.unseen) - len(named)
    if uncounted:
        why = report.counting_problem or "the count query failed"
        lines.append(f"  {uncounted:,} repositories not counted: {why}")
    return lines


def _window_line(report: PlanReport) -> str:
    counted = sum(1 for r in report.repos if r.counts is not None)
    return (
        f"in the window ({counted:,} repositories counted, exactly): "
        f"{report.count_total('pulls_in_window'):,} pull requests, "
        f"{report.count_total('issues_in_window'):,} issues, "
        f"{report.count_total('commits_in_window'):,} commits — comments and reviews are not "
        "counted"
    )


def _largest(report: PlanReport) -> Table:
    shown = report.largest(LARGEST)
    title = (
        f"largest repositories ({len(shown)} of {len(report.repos):,}; --json lists every one)"
        if len(shown) < len(report.repos)
        else "repositories"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("repo", no_wrap=True, overflow="fold")
    for name in ("PRs", "issues", "commits", "REST", "GraphQL"):
        table.add_column(name, justify="right", no_wrap=True)
    for repo in shown:
        counts = repo.counts
        cells = (
            [
                f"{counts.pulls_in_window:,}",
                f"{counts.issues_in_window:,}",
                f"{counts.commits_in_window:,}",
            ]
            if counts is not None
            else ["?", "?", "?"]
        )
        table.add_row(repo.name, *cells, _cell(repo.requests, CORE), _cell(repo.requests, GRAPHQL))
    return table


def _requests(report: PlanReport) -> Table:
    table = Table(
        title="requests a collect sends (≥: a floor)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("endpoint", no_wrap=True)
    table.add_column("units", justify="right", no_wrap=True)
    table.add_column("REST", justify="right", no_wrap=True)
    table.add_column("GraphQL", justify="right", no_wrap=True)
    table.add_column("how it is counted")
    units = f"{len(report.repos):,}"
    rows: list[tuple[str, str, Mapping[str, Figure], str]] = []
    for name, figures in report.before_units.items():
        rows.append((name, "-", figures, _BEFORE.get(name, "")))
    rows += [
        (name, units, figures, _how(name, figures, report))
        for name, figures in report.by_endpoint.items()
    ]
    for name, count, figures, how in rows:
        table.add_row(name, count, _cell(figures, CORE), _cell(figures, GRAPHQL), how)
    table.add_section()
    table.add_row(
        "total", "", _cell(report.totals, CORE), _cell(report.totals, GRAPHQL), "", style="bold"
    )
    if report.left is not None:
        table.add_row(
            "left",
            "",
            _cell(report.left, CORE),
            _cell(report.left, GRAPHQL),
            "what the checkpoint's units not ended still need",
        )
    return table


_BEFORE: Final = {
    "discovery": "exact: target check, listing",
    "accounts": "exact: GET /user a token",
    "reviews_probe": "exact",
}


def _how(name: str, figures: Mapping[str, Figure], report: PlanReport) -> str:
    """Why a figure is exact or a floor, from the endpoint's transport."""
    ep = BY_NAME.get(name)
    if ep is None:
        return ""
    if ep.transport is Transport.KEYSET:
        return "floor: a page a repo, uncounted"
    if ep.transport is Transport.PER_PARENT:
        return "floor: " + ("100 PRs a query" if report.reviews_via == "graphql" else "a PR each")
    if ep.transport is Transport.GRAPHQL_BATCH:
        per = "25 repos a query" if ep.name == "repo_health" else "100 repos' 100 commits a query"
        return f"floor: {per}"
    if all(f.exact for f in figures.values()):
        return "exact" + (", +1 page to catch up" if ep.transport is Transport.CATCH_UP else "")
    uncounted = sum(1 for r in report.repos if r.counts is None)
    return f"floor: {uncounted} repo{'s' if uncounted != 1 else ''} uncounted"


def _cell(figures: Mapping[str, Figure], resource: str) -> str:
    figure = figures.get(resource)
    return figure.text if figure is not None else "-"


def _budget_line(resource: ResourcePlan) -> str:
    name = _NAMES.get(resource.resource, resource.resource)
    needed = resource.needed.text
    if not resource.budgets:
        return f"{resource.resource}: needs {needed} {name} — budget unknown (GitHub did not say)"
    credentials = len(resource.budgets)
    reset = resource.first_reset
    when = _clock(reset) if reset is not None else "?"
    head = (
        f"{resource.resource}: needs {needed} {name} of {resource.remaining:,} left "
        f"({credentials} credential{'s' if credentials != 1 else ''}, {resource.limit:,} an hour, "
        f"next reset {when})"
    )
    wait = resource.wait_seconds
    if wait == 0:
        return f"{head} — within the current budget"
    if wait is None:
        return f"{head} — more than the budgets ever refill"
    return f"{head} — waits {format_duration(wait)} for resets"


def _time_line(report: PlanReport) -> str:
    wait = report.wait_seconds
    if wait is None:
        return "time: unknown — GitHub did not say what the budgets are"
    if wait == 0:
        return "time: within the current budgets — no wait for a reset"
    return (
        f"time: at least {format_duration(wait)} of waiting for rate-limit resets "
        "(plus the requests themselves)"
    )


def _cost_line(report: PlanReport) -> str:
    rest = (
        f"{report.cost_rest:,} REST request{'s' if report.cost_rest != 1 else ''} "
        "(discovery's listing)"
        if report.cost_rest
        else "no REST request (the plan came from the checkpoint)"
    )
    points = (
        f"{report.cost_points:,} GraphQL point{'s' if report.cost_points != 1 else ''} "
        f"({report.queries:,} count quer{'ies' if report.queries != 1 else 'y'})"
    )
    return f"this plan cost {rest} and {points}; GET /rate_limit ({report.cost_free}) is free"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")
