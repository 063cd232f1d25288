"""A pull request review read through GraphQL, in the shape REST gives it — so a user's queries
never depend on which API a record came from.

:data:`REVIEW_FIELDS` and :data:`USER_FIELDS` are the one mapping table (docs/reviews.md shows
it, and a test checks they say the same): each REST key, and where its value comes from.
:func:`rest_review` applies it to one ``PullRequestReview`` node. The selection ghye asks for
(:data:`REVIEW_SELECTION`) holds exactly what the table reads — and nothing GitHub's schema marks
deprecated: a review's id comes from ``fullDatabaseId`` (a BigInt, sent as a string), since
``databaseId`` (an Int, 32 bits) cannot hold today's review ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

#: The fields of a PullRequestReview ghye reads (the fragment ``Review`` of every batch query).
REVIEW_SELECTION: Final = """fragment Review on PullRequestReview {
  id
  fullDatabaseId
  author {
    __typename
    login
    avatarUrl
    url
    ... on User { databaseId id isSiteAdmin }
    ... on Bot { databaseId id }
    ... on Mannequin { databaseId id }
    ... on Organization { databaseId id }
    ... on EnterpriseUserAccount { id }
  }
  authorAssociation
  body
  state
  url
  submittedAt
  commit { oid }
}"""

#: REST review key → where its value comes from (GraphQL field, or how it is derived).
REVIEW_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("id", "`fullDatabaseId` (a BigInt string) as a number"),
    ("node_id", "`id`"),
    ("user", "`author`, mapped as the user table says; null when GitHub has no author"),
    ("body", "`body`"),
    ("state", "`state`"),
    ("html_url", "`url`"),
    ("pull_request_url", "`{api_url}/repos/{owner}/{repo}/pulls/{number}`"),
    ("author_association", "`authorAssociation`"),
    ("_links", "`{html: {href: html_url}, pull_request: {href: pull_request_url}}`"),
    ("submitted_at", "`submittedAt` (left out while a review is pending, as REST does)"),
    ("commit_id", "`commit.oid`; null when the commit is gone"),
)

#: REST user key → where its value comes from (the review's ``author``).
USER_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("login", "`login`; a Bot's gets REST's `[bot]` suffix (GraphQL: `dependabot`)"),
    ("id", "`databaseId`"),
    ("node_id", "`id`"),
    ("avatar_url", "`avatarUrl`"),
    ("gravatar_id", '`""` (GitHub no longer fills it)'),
    ("url", "`{api_url}/users/{login}`, the login percent-encoded (`%5Bbot%5D`) as REST does"),
    ("html_url", "`url`"),
    ("followers_url", "`{url}/followers`"),
    ("following_url", "`{url}/following{/other_user}`"),
    ("gists_url", "`{url}/gists{/gist_id}`"),
    ("starred_url", "`{url}/starred{/owner}{/repo}`"),
    ("subscriptions_url", "`{url}/subscriptions`"),
    ("organizations_url", "`{url}/orgs`"),
    ("repos_url", "`{url}/repos`"),
    ("events_url", "`{url}/events{/privacy}`"),
    ("received_events_url", "`{url}/received_events`"),
    ("type", "`__typename` (User, Bot, Organization, Mannequin; an enterprise account: User)"),
    ("user_view_type", '`"public"` (GraphQL has no such field; see below)'),
    ("site_admin", "`isSiteAdmin` (false for a non-User)"),
)

#: What REST has that GraphQL cannot supply, and why (the docs list them).
NOT_SUPPLIED: Final[tuple[tuple[str, str], ...]] = (
    (
        "user_view_type",
        'GraphQL has no such field: ghye writes "public", the value REST gives the accounts '
        "embedded in reviews; an account REST would show otherwise differs in this one key",
    ),
    (
        "body_html, body_text",
        "REST sends them only when asked through a media type; ghye asks neither API for them",
    ),
)


def rest_review(
    node: Mapping[str, Any], *, api_url: str, repo: str, number: int
) -> dict[str, Any] | None:
    """One GraphQL ``PullRequestReview`` node (as :data:`REVIEW_SELECTION` reads it) in REST's
    shape; None when it carries no usable id (the caller treats that answer as odd)."""
    review_id = _big_int(node.get("fullDatabaseId"))
    if review_id is None:
        return None
    html_url = node.get("url")
    pull_request_url = f"{api_url}/repos/{repo}/pulls/{number}"
    commit = node.get("commit")
    record: dict[str, Any] = {
        "id": review_id,
        "node_id": node.get("id"),
        "user": rest_user(node.get("author"), api_url=api_url),
        "body": node.get("body"),
        "state": node.get("state"),
        "html_url": html_url,
        "pull_request_url": pull_request_url,
        "author_association": node.get("authorAssociation"),
        "_links": {"html": {"href": html_url}, "pull_request": {"href": pull_request_url}},
    }
    submitted = node.get("submittedAt")
    if submitted is not None:
        record["submitted_at"] = submitted
    record["commit_id"] = commit.get("oid") if isinstance(commit, Mapping) else None
    return record


def rest_user(author: object, *, api_url: str) -> dict[str, Any] | None:
    """A GraphQL ``Actor`` as REST's user object (None for no author)."""
    if not isinstance(author, Mapping):
        return None
    kind = str(author.get("__typename") or "User")
    login = str(author.get("login") or "")
    if kind == "Bot" and not login.endswith("[bot]"):
        login = f"{login}[bot]"
    url = f"{api_url}/users/{quote(login, safe='')}"  # REST's: dependabot%5Bbot%5D
    return {
        "login": login,
        "id": author.get("databaseId"),
        "node_id": author.get("id"),
        "avatar_url": author.get("avatarUrl"),
        "gravatar_id": "",
        "url": url,
        "html_url": author.get("url"),
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind if kind in ("User", "Bot", "Organization", "Mannequin") else "User",
        "user_view_type": "public",
        "site_admin": bool(author.get("isSiteAdmin", False)),
    }


def _big_int(value: object) -> int | None:
    """A GraphQL BigInt (a decimal string; a number is taken too) as an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
