"""The objects the fake's GraphQL resolvers answer with, built from the fake's rows: actors
(``User``, ``Bot``), repositories, pull requests, commits and reviews, in GitHub's GraphQL names.

A review is REST's record (:meth:`.Records.review`) field for field: ``id`` = node_id,
``fullDatabaseId`` = id, ``url`` = html_url, ``commit.oid`` = commit_id; a bot's ``login`` lacks
REST's ``[bot]``. Keys starting with ``_`` are the resolvers' own (the row behind an object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from gh_year_end.testing.fakegithub.data import BOTS, FakeData, iso, review_bot
from gh_year_end.testing.fakegithub.records import REVIEW_STATES, Records
from gh_year_end.testing.fakegithub.repos import SHA_HEAD, RepoData, RepoInfo

REVIEW_ASSOCIATION: Final = "MEMBER"  # as REST's review record (skeletons.review) says


@dataclass(slots=True)
class Actors:
    """Every user and bot of the dataset as a GraphQL ``User`` / ``Bot``, by index."""

    users: list[dict[str, Any]]
    bots: list[dict[str, Any]]


def build_actors(data: FakeData, records: Records) -> Actors:
    """The dataset's users and bots, as GraphQL answers them (from REST's records)."""
    users = [records.user(k) for k in range(len(data.logins))]
    return Actors(
        users=[
            {
                "__typename": "User",
                "login": u["login"],
                "id": u["node_id"],
                "databaseId": u["id"],
                "isSiteAdmin": u["site_admin"],
                "url": u["html_url"],
                "resourcePath": f"/{u['login']}",
                "_avatar": u["avatar_url"],
            }
            for u in users
        ],
        bots=[
            {
                "__typename": "Bot",
                "login": slug,  # REST says slug[bot]; GraphQL's Bot login has no suffix
                "id": records.bot(k)["node_id"],
                "databaseId": records.bot(k)["id"],
                "url": records.bot(k)["html_url"],
                "resourcePath": f"/apps/{slug}",
                "_avatar": records.bot(k)["avatar_url"],
            }
            for k, (slug, _uid) in enumerate(BOTS)
        ],
    )


def repo_object(repo: RepoInfo) -> dict[str, Any]:
    """A ``Repository``."""
    return {
        "id": f"R_kgDO{repo.id:x}",
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "_repo": repo,
    }


def pull_object(records: Records, repo: RepoInfo, d: RepoData, row: int) -> dict[str, Any]:
    """The ``PullRequest`` of ticket ``row``."""
    pid, number = d.pull_id(row), row + 1
    html = records.prefixes(repo)[1]
    return {
        "id": f"PR_kwDO{pid:x}",
        "number": number,
        "url": f"{html}/pull/{number}",
        "resourcePath": f"/{repo.full_name}/pull/{number}",
        "_repo": repo,
        "_data": d,
        "_row": row,
    }


def commit_object(oid: str, repo: RepoInfo, d: RepoData, row: int | None) -> dict[str, Any]:
    """A commit; ``row`` its index among the repo's commits when it is on the default branch."""
    return {"__typename": "Commit", "oid": oid, "_repo": repo, "_data": d, "_row": row}


def review_object(
    records: Records, actors: Actors, repo: RepoInfo, d: RepoData, row: int
) -> dict[str, Any]:
    """Review ``row`` as REST's record has it (:meth:`.Records.review`), in GraphQL's names."""
    rid, parent = d.review_id(row), d.rv_parent[row]
    number, html = parent + 1, records.prefixes(repo)[1]
    bot = review_bot(rid)
    author = actors.users[d.rv_author[row]] if bot is None else actors.bots[bot]
    when = iso(d.rv_submitted[row])
    edited = d.revision("rv", row)[1]  # GraphQL's updatedAt moves with an edit; REST has none
    return {
        "id": f"PRR_kwDO{rid:x}",
        "_rid": rid,
        "fullDatabaseId": str(rid),
        "author": author,
        "authorAssociation": REVIEW_ASSOCIATION,
        "body": orjson.loads(records.review_body(d, row)),
        "state": REVIEW_STATES[rid % len(REVIEW_STATES)],
        "url": f"{html}/pull/{number}#pullrequestreview-{rid}",
        "resourcePath": f"/{repo.full_name}/pull/{number}#pullrequestreview-{rid}",
        "submittedAt": when,
        "createdAt": when,
        "updatedAt": iso(edited) if edited else when,
        "commit": commit_object(records.sha(repo, SHA_HEAD, parent), repo, d, None),
        "pullRequest": pull_object(records, repo, d, parent),
    }
