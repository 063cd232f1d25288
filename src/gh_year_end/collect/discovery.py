"""Discovery: the target → its filtered repositories, ordered by full name.

Org targets list ``/orgs/{org}/repos?type=all``. User targets list ``/users/{user}/repos``, except
when the target is the token's own user: then ``/user/repos?affiliation=owner``, so that private
repositories come too.

A listed repository whose ``full_name`` is not a GitHub name (``acme/../../x``) is never turned
into a path: it is left out and reported (``Discovery.refused``), and the run cannot end
complete. A listing whose next link leads back to a page already read fails with LoopingList.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.loops import LoopGuard
from gh_year_end.config import Config, DiscoveryConfig
from gh_year_end.errors import Forbidden, TargetNotFound, TransientError, Unavailable
from gh_year_end.signals import StopSignal
from gh_year_end.storage.atomic import atomic_write_bytes, iso_z
from gh_year_end.storage.jsonl import SOURCE_REST, envelope_line
from gh_year_end.storage.paths import is_safe_repo_name

logger = logging.getLogger(__name__)


class PageSource(Protocol):
    """The part of RestClient discovery needs."""

    async def get_page(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        empty_on_409: bool = False,
        key: str | None = "id",
        if_none_match: str | None = None,
    ) -> Any:
        """One page: ``.records``, ``.next_url`` and ``.meta`` (``url``, ``etag``,
        ``not_modified``)."""

    async def get_object(self, path: str) -> dict[str, Any]:
        """One JSON object."""


@dataclass(frozen=True)
class Refused:
    """A listed repository ghye would not collect: its name cannot safely become a path."""

    name: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    """The repositories to collect (full records, ordered), how many were listed in all, and the
    listed ones refused for their names."""

    repos: tuple[dict[str, Any], ...]
    seen: int
    listing: str
    refused: tuple[Refused, ...] = ()
    pages: tuple[tuple[str, str | None], ...] = ()
    """Each listing page as it was asked (its URL with its query) and its ETag: a refresh asks
    them again with ``If-None-Match``."""


def keep_repo(repo: Mapping[str, Any], rules: DiscoveryConfig) -> bool:
    """Apply include_forks / include_archived / visibility to one repository record."""
    if repo.get("fork") and not rules.include_forks:
        return False
    if repo.get("archived") and not rules.include_archived:
        return False
    if rules.visibility == "all":
        return True
    private = bool(repo.get("private")) or repo.get("visibility") in ("private", "internal")
    return private == (rules.visibility == "private")


async def discover(client: PageSource, config: Config) -> Discovery:
    """List the target's repositories, filter them, and order them by full name."""
    target = config.github.target
    listing, params = await _listing(client, target.mode, target.name, config.github.api_url)
    seen = 0
    kept: dict[str, dict[str, Any]] = {}
    refused: dict[str, Refused] = {}
    url: str | None = listing
    first = True
    guard = LoopGuard(
        "the repository listing's next link",
        "GitHub's listing loops, so discovery stops; run `ghye resume` later",
    )
    pages: list[tuple[str, str | None]] = []
    while url is not None:
        pages.append((f"{url}?{urlencode(params)}" if first else url, None))
        page = await client.get_page(url, params if first else None, key="full_name")
        pages[-1] = (pages[-1][0], page.meta.etag)
        first = False
        guard.arrived(page.meta.url)
        for repo in page.records:
            seen += 1
            name = repo["full_name"]
            if not keep_repo(repo, config.github.discovery):
                continue
            if not is_safe_repo_name(name):
                refused[name] = Refused(
                    name,
                    f"the listing {page.meta.url} names {name!r}, which is not a GitHub "
                    "repository name — not collected (ghye never turns such a name into a path)",
                )
                continue
            kept[name] = repo
        url = page.next_url
    ordered = tuple(kept[name] for name in sorted(kept, key=lambda n: (n.casefold(), n)))
    return Discovery(
        repos=ordered,
        seen=seen,
        listing=listing,
        refused=tuple(refused.values()),
        pages=tuple(pages),
    )


async def check_target(client: PageSource, config: Config) -> None:
    """Ask GitHub whether the target exists and the token may see it (before removing data).

    TargetNotFound when it does not; AuthenticationFailed for a rejected token.
    """
    target = config.github.target
    await _listing(client, target.mode, target.name, config.github.api_url)


async def _listing(
    client: PageSource, mode: str, name: str, api_url: str
) -> tuple[str, dict[str, str | int]]:
    if mode == "org":
        await _must_exist(client, f"/orgs/{name}", f"organization '{name}'", api_url)
        return f"/orgs/{name}/repos", {"type": "all", "per_page": 100}
    try:
        me = await client.get_object("/user")
    except Forbidden:
        # A GitHub App's installation token has no user (403 "Resource not accessible by
        # integration"): the user's public repositories, as for anyone else's token.
        logger.warning(
            "GitHub does not say whose credential this is (GET /user refused, as for a GitHub "
            "App's installation token): only %s's public repositories are listed",
            name,
        )
        me = {}
    if str(me.get("login", "")).casefold() == name.casefold():
        return "/user/repos", {"affiliation": "owner", "per_page": 100}
    await _must_exist(client, f"/users/{name}", f"user '{name}'", api_url)
    return f"/users/{name}/repos", {"type": "owner", "per_page": 100}


async def _must_exist(client: PageSource, path: str, what: str, api_url: str) -> None:
    try:
        await client.get_object(path)
    except Unavailable as exc:
        raise TargetNotFound(
            f"{what} not found at {api_url} (or the token cannot see it) — "
            f"check github.target.name and github.target.mode{_ghes_hint(api_url)}"
        ) from exc


def _ghes_hint(api_url: str) -> str:
    """For a host other than GitHub.com's API whose URL lacks GitHub Enterprise Server's REST
    path: a 404 is as likely a missing /api/v3 as a missing target."""
    parts = urlsplit(api_url)
    if parts.hostname == "api.github.com" or parts.path.rstrip("/").endswith("/api/v3"):
        return ""
    return ", and for GitHub Enterprise Server that github.api_url ends with /api/v3"


def plan_entry(repo: Mapping[str, Any]) -> dict[str, Any]:
    """The small part of a repository record the checkpoint keeps in its plan."""
    return {
        "full_name": repo["full_name"],
        "id": repo.get("id"),
        "private": bool(repo.get("private")),
        "fork": bool(repo.get("fork")),
        "archived": bool(repo.get("archived")),
    }


T = TypeVar("T")


async def first_contact(work: Awaitable[T], config: Config, *, command: str = "ghye collect") -> T:
    """Run ``work`` (the first requests of a run). Failing to connect, or a page that is not
    JSON, then most likely means a wrong api_url: the advice says to check it, not to resume
    (then to run ``command`` again)."""
    try:
        return await work
    except TransientError as exc:
        # A connection refused or broken, an answer that is not JSON, or one that never came
        # (https against a plain-HTTP port hangs in the TLS handshake).
        if not isinstance(
            exc.__cause__, httpx.TransportError | orjson.JSONDecodeError | TimeoutError
        ):
            raise
        raise TransientError(
            f"{exc.detail or exc} — check github.api_url ({config.github.api_url}): its scheme, "
            "host and port, and for GitHub Enterprise Server the /api/v3 path; then run "
            f"`{command}` again",
            status=exc.status,
            url=exc.url,
            request_id=exc.request_id,
            detail=exc.detail,
        ) from exc


async def run_discovery(ctx: RunContext, client: PageSource, *, first: bool) -> None:
    """The discovery phase: list the target's repositories, write repos.jsonl, set the plan.

    ``first``: nothing was collected yet, so a failure to reach GitHub advises checking
    api_url. A stop signal ends it without a plan (the phase stays open for the next run).
    """
    checkpoint, config, events = ctx.checkpoint, ctx.config, ctx.events
    checkpoint.set_current_phase("discovery")
    listing = discover(client, config)
    found = await until_stopped(first_contact(listing, config) if first else listing, ctx.stop)
    if found is None:
        return
    write_repos(ctx, found.repos)
    checkpoint.update_repos([plan_entry(repo) for repo in found.repos])
    checkpoint.annotate_phase(
        "discovery",
        refused=[r.reason for r in found.refused],
        pages=[list(page) for page in found.pages],
    )
    checkpoint.mark_phase_complete("discovery")
    refused = f", {len(found.refused)} refused for their names" if found.refused else ""
    events.message(
        f"discovered {len(found.repos)} repositories "
        f"({found.seen - len(found.repos) - len(found.refused)} filtered out{refused})"
    )
    for refusal in found.refused:
        events.message(f"refused: {refusal.reason}")


def read_repos(path: Path) -> dict[str, dict[str, Any]]:
    """The repositories' records in repos.jsonl (``path``), by full name; a line that is not
    one is skipped, a missing file is none."""
    found: dict[str, dict[str, Any]] = {}
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return found
    for line in raw.splitlines():
        try:
            data = orjson.loads(line)["data"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("full_name"), str):
            found[data["full_name"]] = data
    return found


def write_repos(ctx: RunContext, repos: Iterable[Mapping[str, Any]]) -> None:
    """repos.jsonl: the planned repositories' records, in the envelope, replaced atomically."""
    stamp = iso_z(datetime.now(UTC))
    lines = b"".join(
        envelope_line(
            timestamp=stamp,
            source=SOURCE_REST,
            endpoint="repos",
            repo=repo["full_name"],
            page=None,
            request_id=None,
            data=dict(repo),
        )
        for repo in repos
    )
    atomic_write_bytes(ctx.paths.repos_path, lines)


async def until_stopped(work: Awaitable[T], stop: StopSignal) -> T | None:
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
