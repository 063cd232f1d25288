"""The fake's GraphQL resolvers: each field the fake answers (``repository``, ``pullRequest``,
``reviews``, ``defaultBranchRef``, ``history`` and its commits' sizes, ``search``,
``rateLimit``, …) resolved over the fake's data, with GitHub's field errors (see
:mod:`.graphql_api` for what each models); a repository's health fields are
:mod:`.graphql_health`'s.

:data:`RESOLVERS` maps (type, field) to its resolver; :func:`.graphql_api.fake_schema` attaches
them (and :data:`.graphql_health.HEALTH_RESOLVERS`). A resolver reads the query's
:class:`Context`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLResolveInfo

from gh_year_end.testing.fakegithub.api import FORBIDDEN_MESSAGE
from gh_year_end.testing.fakegithub.data import FakeData, iso, parse_moment
from gh_year_end.testing.fakegithub.graphql_answers import FieldError
from gh_year_end.testing.fakegithub.graphql_cost import QueryCost
from gh_year_end.testing.fakegithub.graphql_nodes import (
    Actors,
    commit_object,
    pull_object,
    repo_object,
    review_object,
)
from gh_year_end.testing.fakegithub.graphql_paging import (
    check_page,
    connection,
    cursor,
    cursor_id,
    selects,
)
from gh_year_end.testing.fakegithub.records import REVIEW_STATES, Records
from gh_year_end.testing.fakegithub.repos import RepoInfo
from gh_year_end.testing.fakegithub.search import SearchError, issue_count, parse_issue_search

INT_MAX: Final = 2**31 - 1
_SEARCH_COUNTS: Final = (
    "codeCount",
    "discussionCount",
    "issueCount",
    "repositoryCount",
    "userCount",
    "wikiCount",
)


@dataclass(slots=True)
class Context:
    """What the resolvers of one query read: the data, and the query's cost and window."""

    data: FakeData
    records: Records
    actors: Actors
    cost: QueryCost
    window: Callable[[], dict[str, int]]
    raw_ints: bool
    dry_run: bool
    private_ok: bool = True  # the caller sees the owner's private repos (accounts.sees_private)
    admin_ok: bool = True  # the caller has admin_repos' rights (accounts.has_admin_rights)
    patches: list[tuple[list[str | int], int]] = field(default_factory=list)
    blanks: list[str] = field(default_factory=list)


if TYPE_CHECKING:
    Info = GraphQLResolveInfo[Context]
    """What a resolver is given: the field, its path, and the query's :class:`Context`."""
else:  # generic from graphql-core 3.3 on
    Info = GraphQLResolveInfo


def _ctx(info: Info) -> Context:
    return info.context


def forbid(repo: RepoInfo) -> None:
    """GitHub's FORBIDDEN field error for a repo whose contents the caller may not read (a
    "forbidden" repo of the settings: 403 on every REST list)."""
    if repo.status == 403:
        raise FieldError(FORBIDDEN_MESSAGE, "FORBIDDEN", {"saml_failure": False})


def _repository(_root: object, info: Info, **args: Any) -> dict[str, Any] | None:
    ctx = _ctx(info)
    if ctx.dry_run:
        return None
    owner, name = args["owner"], args["name"]
    repo = ctx.data.find(owner, name)
    if repo is None or repo.status in (404, 451) or (repo.private and not ctx.private_ok):
        raise FieldError(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND"
        )
    return repo_object(repo)


def _pull_request(source: dict[str, Any], info: Info, **args: Any) -> Any:
    ctx, repo = _ctx(info), source["_repo"]
    forbid(repo)
    number = args["number"]
    d = ctx.data.repo(repo)
    row = d.pull_row(number)
    if row is None:
        raise FieldError(
            f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
        )
    return pull_object(ctx.records, repo, d, row)


def _default_branch(source: dict[str, Any], info: Info) -> Any:
    ctx, repo = _ctx(info), source["_repo"]
    forbid(repo)
    d = ctx.data.repo(repo)
    if repo.empty or not len(d.cm_date):
        return None
    head = len(d.cm_date) - 1
    return {
        "name": repo.default_branch,
        "target": commit_object(ctx.data.sha(repo, head), repo, d, head),
        "_repo": repo,
    }


def _history(source: dict[str, Any], info: Info, **args: Any) -> Any:
    """The default branch's commits from this one back, newest first (as REST's /commits), in
    [since, until) of their committer dates; cursors name a commit's row (stable: rows are only
    appended), so a page after a cursor stays right when new commits arrive."""
    check_page(info, args)
    row = source["_row"]
    if row is None:
        raise FieldError(
            "the fake GitHub counts history from the default branch's head commit only"
        )
    ctx, repo, d = _ctx(info), source["_repo"], source["_data"]
    dates = d.cm_date  # committer dates, ascending
    since, until = _moment(args.get("since"), "since"), _moment(args.get("until"), "until")
    lo = 0 if since is None else bisect_left(dates, since, 0, row + 1)
    hi = row + 1 if until is None else bisect_left(dates, until, 0, row + 1)
    hi = max(lo, hi)  # the window: rows [lo, hi), listed from hi - 1 down
    top, bottom = hi, lo
    if args.get("after") is not None:
        top = max(lo, min(hi, cursor_id(args["after"])))
    if args.get("before") is not None:
        bottom = min(top, max(lo, cursor_id(args["before"]) + 1))
    start, end = bottom, top  # the page's rows, [start, end)
    if args.get("first") is not None:
        start = max(start, end - args["first"])
    if args.get("last") is not None:
        end = min(end, start + args["last"])
    if not selects(info, {"nodes", "edges", "pageInfo"}):
        return {"totalCount": hi - lo}
    rows = range(end - 1, start - 1, -1)
    seed = ctx.data.spec.seed
    nodes = [commit_object(d.commit_sha(seed, r), repo, d, r) for r in rows]
    return connection(nodes, [cursor(r) for r in rows], hi - lo, more=start > lo, earlier=end < hi)


def _commit_row(source: dict[str, Any]) -> int:
    row = source["_row"]
    if row is None:
        raise FieldError("the fake GitHub knows the details of default-branch commits only")
    return int(row)


def _committed_date(source: dict[str, Any], _info: Info) -> str:
    return iso(source["_data"].cm_date[_commit_row(source)])


def _commit_size(index: int) -> Callable[..., int]:
    def resolve(source: dict[str, Any], info: Info) -> int:
        size = source["_data"].commit_size(_ctx(info).data.spec.seed, _commit_row(source))
        return int(size[index])

    return resolve


def _reviews(source: dict[str, Any], info: Info, **args: Any) -> Any:
    check_page(info, args)
    ctx, repo, d = _ctx(info), source["_repo"], source["_data"]
    rows = d.reviews(source["_row"] + 1) or []
    states = args.get("states")
    if states:
        rows = [r for r in rows if REVIEW_STATES[d.review_id(r) % len(REVIEW_STATES)] in states]
    ids = [d.review_id(r) for r in rows]  # ascending: a PR's reviews are chronological
    start, end = 0, len(rows)
    if args.get("after") is not None:
        start = bisect_right(ids, cursor_id(args["after"]))
    if args.get("before") is not None:
        end = max(start, bisect_left(ids, cursor_id(args["before"])))
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    nodes = [review_object(ctx.records, ctx.actors, repo, d, rows[i]) for i in range(start, end)]
    cursors = [cursor(ids[i]) for i in range(start, end)]
    return connection(nodes, cursors, len(rows), more=end < len(rows), earlier=start > 0)


def _database_id(source: dict[str, Any], info: Info) -> int:
    value = int(source["_rid"])
    ctx = _ctx(info)
    if value > INT_MAX and ctx.raw_ints:
        ctx.patches.append((info.path.as_list(), value))
        return 0  # replaced by the whole number once graphql-core has serialised the answer
    return value  # over 2^31-1 graphql-core answers null and "Int cannot represent …"


def _avatar_url(source: dict[str, Any], _info: Info, **args: Any) -> str:
    base = str(source["_avatar"])
    size = args.get("size")
    return base if size is None else base.replace("?", f"?s={size}&", 1)


def _rate_limit(_root: object, info: Info, **_args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    window = ctx.window()
    return {
        "cost": ctx.cost.points,
        "limit": window["limit"],
        "nodeCount": ctx.cost.nodes,
        "remaining": window["remaining"],
        "resetAt": iso(window["reset"]),
        "used": window["used"],
    }


def _search(_root: object, info: Info, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    counts = dict.fromkeys(_SEARCH_COUNTS, 0)
    if ctx.dry_run:
        ctx.blanks.append(str(info.path.key))
        return counts
    check_page(info, args)
    if args["type"] != "ISSUE":
        raise FieldError("the fake GitHub searches issues and pull requests only (type: ISSUE)")
    try:
        search = parse_issue_search(args["query"])
    except SearchError as exc:
        raise FieldError(str(exc)) from None
    repo = ctx.data.find(search.owner, search.name)
    if repo is None or not repo.private or ctx.private_ok:  # an unseen repo: nothing found
        counts["issueCount"] = issue_count(ctx.data, search)
    return counts


def typename(source: dict[str, Any], _info: Info, _type: object) -> str:
    """The concrete type of an interface's object (``Actor``, ``GitObject``): its __typename."""
    return str(source["__typename"])


def _moment(value: str | None, name: str) -> float | None:
    """A GitTimestamp argument → epoch seconds."""
    if value is None:
        return None
    try:
        return parse_moment(value).timestamp()
    except ValueError:
        raise FieldError(f"`{name}` {value!r} is not an ISO 8601 GitTimestamp") from None


RESOLVERS: Final[dict[tuple[str, str], Callable[..., Any]]] = {
    ("Query", "repository"): _repository,
    ("Query", "rateLimit"): _rate_limit,
    ("Query", "search"): _search,
    ("Repository", "pullRequest"): _pull_request,
    ("Repository", "defaultBranchRef"): _default_branch,
    ("Commit", "history"): _history,
    ("Commit", "committedDate"): _committed_date,
    ("Commit", "additions"): _commit_size(0),
    ("Commit", "deletions"): _commit_size(1),
    ("Commit", "changedFilesIfAvailable"): _commit_size(2),
    ("PullRequest", "reviews"): _reviews,
    ("PullRequestReview", "databaseId"): _database_id,
    **{
        (actor, "avatarUrl"): _avatar_url
        for actor in ("User", "Bot", "Mannequin", "Organization", "EnterpriseUserAccount")
    },
}
"""Each resolved field, by (type, field); every other field reads its source object's key."""
