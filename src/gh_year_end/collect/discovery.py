"""Discovery: the target → its filtered repositories, ordered by full name.

Org targets list ``/orgs/{org}/repos?type=all``. User targets list ``/users/{user}/repos``, except
when the target is the token's own user: then ``/user/repos?affiliation=owner``, so that private
repositories come too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gh_year_end.config import Config, DiscoveryConfig
from gh_year_end.errors import TargetNotFound, Unavailable


class PageSource(Protocol):
    """The part of RestClient discovery needs."""

    async def get_page(
        self, url: str, params: Mapping[str, str | int] | None = None, *, empty_on_409: bool = False
    ) -> Any:
        """One page: ``.records`` and ``.next_url``."""

    async def get_object(self, path: str) -> dict[str, Any]:
        """One JSON object."""


@dataclass(frozen=True)
class Discovery:
    """The repositories to collect (full records, ordered) and how many were filtered out."""

    repos: tuple[dict[str, Any], ...]
    seen: int
    listing: str


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
    url: str | None = listing
    first = True
    while url is not None:
        page = await client.get_page(url, params if first else None)
        first = False
        for repo in page.records:
            seen += 1
            name = repo.get("full_name")
            if isinstance(name, str) and keep_repo(repo, config.github.discovery):
                kept[name] = repo
        url = page.next_url
    ordered = tuple(kept[name] for name in sorted(kept, key=lambda n: (n.casefold(), n)))
    return Discovery(repos=ordered, seen=seen, listing=listing)


async def _listing(
    client: PageSource, mode: str, name: str, api_url: str
) -> tuple[str, dict[str, str | int]]:
    if mode == "org":
        await _must_exist(client, f"/orgs/{name}", f"organization '{name}'", api_url)
        return f"/orgs/{name}/repos", {"type": "all", "per_page": 100}
    me = await client.get_object("/user")
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
            "check github.target.name and github.target.mode"
        ) from exc


def plan_entry(repo: Mapping[str, Any]) -> dict[str, Any]:
    """The small part of a repository record the checkpoint keeps in its plan."""
    return {
        "full_name": repo["full_name"],
        "id": repo.get("id"),
        "private": bool(repo.get("private")),
        "fork": bool(repo.get("fork")),
        "archived": bool(repo.get("archived")),
    }
