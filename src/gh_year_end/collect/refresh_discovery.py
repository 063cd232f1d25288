"""A refresh's discovery: has the repository listing changed since the dataset's last
discovery? New repositories join the plan (the config's filters still apply); none leaves it.

Each listing page was kept with its ETag (the discovery phase's ``pages``). The refresh asks
them again, in order, with ``If-None-Match``: every one ``304`` — the listing is unchanged,
for nothing against the primary rate limit. At the first that changed (or when a page has no
ETag), the listing is read again in full, as discovery reads it (a ``304`` carries no records,
and a changed listing shifts every page after a change), and:

- a repository listed now that the config keeps, and not in the plan, joins it: its units are
  collected in this run, then refreshed with the rest;
- a repository in the plan that the listing no longer shows (deleted, renamed, now archived or
  a fork) stays in the plan and in repos.jsonl with its last record, its data as collected
  (its units' refreshes then meet GitHub's refusal: counted as refused, kept);
- repos.jsonl holds the latest record of every planned repository.

Done once per refresh (the refresh phase's ``discovered``), so a resumed refresh does not ask
again.
"""

from __future__ import annotations

from typing import Any

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.discovery import (
    PageSource,
    discover,
    first_contact,
    plan_entry,
    read_repos,
    until_stopped,
    write_repos,
)
from gh_year_end.collect.refresh import PHASE


async def refresh_discovery(ctx: RunContext, client: PageSource) -> None:
    """See the module docstring; a stop signal ends it without a change (asked again)."""
    checkpoint = ctx.checkpoint
    if checkpoint.phase_detail(PHASE, "discovered"):
        return
    pages = checkpoint.phase_detail("discovery", "pages") or []
    changed = await until_stopped(_listing_changed(client, pages), ctx.stop)
    if changed is None:
        return
    if changed:
        found = await until_stopped(
            first_contact(discover(client, ctx.config), ctx.config), ctx.stop
        )
        if found is None:
            return
        planned = set(checkpoint.repo_names())
        records = _records(ctx)
        joining = [r for r in found.repos if r["full_name"] not in planned]
        for repo in found.repos:
            records[repo["full_name"]] = repo
        order = [*checkpoint.repo_names(), *(r["full_name"] for r in joining)]
        write_repos(ctx, (records[name] for name in order if name in records))
        entries = [checkpoint.get_repo(name) for name in checkpoint.repo_names()]
        plan = [dict(e.repo) for e in entries if e is not None]
        checkpoint.update_repos([*plan, *(plan_entry(r) for r in joining)])
        checkpoint.annotate_phase("discovery", pages=[list(page) for page in found.pages])
        ctx.events.message(
            f"discovery: the repository listing changed — {len(joining)} new "
            f"repositor{'y joins' if len(joining) == 1 else 'ies join'} the plan"
        )
    else:
        ctx.events.message("discovery: the repository listing is unchanged (304)")
    checkpoint.annotate_phase(PHASE, discovered=True)


async def _listing_changed(client: PageSource, pages: list[Any]) -> bool:
    """Whether a listing page changed (every page asked with its ETag, in order; the first
    that is not a 304 ends it). A listing never read page by page counts as changed."""
    if not pages:
        return True
    for entry in pages:
        url, etag = entry[0], entry[1] if len(entry) > 1 else None
        if not isinstance(url, str) or not isinstance(etag, str):
            return True
        page = await client.get_page(url, key="full_name", if_none_match=etag)
        if not page.meta.not_modified:
            return True
    return False


def _records(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """The repositories' records in repos.jsonl, by full name (an unreadable line is skipped:
    its repository's plan entry stands in for it)."""
    found = read_repos(ctx.paths.repos_path)
    for name in ctx.checkpoint.repo_names():
        if name not in found:
            entry = ctx.checkpoint.get_repo(name)
            found[name] = dict(entry.repo) if entry is not None else {"full_name": name}
    return found


__all__ = ["refresh_discovery"]
