"""GitHub's GraphQL API over the fake's data: ``POST /graphql`` (GHES: ``POST /api/graphql``
beside ``/api/v3``) → its answer, with graphql-core and the fake's schema (``schema.graphql``,
a faithful subset of GitHub's, checked against it by the tests).

One query, after the server's auth and secondary limit (:mod:`.server`): JSON body (not JSON:
400 "Problems parsing JSON"; no ``query`` string: 200 with an error) → parse and validate (200
``{"errors": [{"message", "locations"}]}``) → variables coerced → cost and nodes
(:mod:`.graphql_cost`) → over 500,000 nodes: 200 with a ``MAX_NODE_LIMIT_EXCEEDED`` error,
nothing spent → its points taken from the "graphql" window, or 200 with a ``RATE_LIMITED``
error and nothing spent when fewer remain (``rateLimit(dryRun: true)``: nothing spent, nothing
but ``rateLimit`` evaluated, the other root fields null) → more nodes than
``graphql_heavy_nodes``: 502 with GitHub's "Something went wrong … timeout" body (the points
stay spent) → executed → 200 ``{"data", "errors"?}``.

What it models, as GitHub does:

* ``repository(owner, name)`` — unknown, 404 and 451 repos: null and a ``NOT_FOUND`` error
  ("Could not resolve to a Repository with the name 'o/r'."); a 403 ("forbidden") repo
  resolves, but its ``pullRequest`` and ``defaultBranchRef`` are null with a ``FORBIDDEN``
  error ("Resource not accessible by integration", ``extensions: {saml_failure: false}``).
* ``pullRequest(number)`` — not a PR (an issue, or no such number): null and ``NOT_FOUND``
  ("Could not resolve to a PullRequest with the number of N.").
* ``reviews`` — the reviews REST lists for the PR, in the same order, field for field: ``id`` =
  node_id, ``fullDatabaseId`` = id (a BigInt: a string), ``url`` = html_url, ``author`` (a
  ``User``, or a ``Bot`` whose login lacks REST's ``[bot]``), ``body``, ``state``,
  ``authorAssociation``, ``submittedAt``, ``commit.oid`` = commit_id. Paged with
  ``first``/``after`` (or ``last``/``before``) and opaque cursors
  (base64 of ``cursor:v2:<review id>``); ``states`` filters. ``databaseId`` (deprecated) is
  over 2^31-1 for every fake review: ``graphql_int_overflow`` "raw" sends the whole number, as
  GitHub has been seen to; "error" sends null and "Int cannot represent non 32-bit signed
  integer value: N" — never another number.
* Page limits: ``first``/``last`` over 100 → ``EXCESSIVE_PAGINATION`` ("Requesting 101 records
  on the `reviews` connection exceeds the `first` limit of 100 records."); neither, with
  ``nodes`` or ``edges`` selected → ``MISSING_PAGINATION_BOUNDARIES`` ("You must provide a
  `first` or `last` value to properly paginate the `reviews` connection."); both are field
  errors with a path, the connection null. ``totalCount`` alone needs no bound.
* ``defaultBranchRef { target { ... on Commit { history(since, until) { totalCount } } } }`` —
  the commits with committer date in [since, until) (null ref for an empty repo).
* ``search(query, type: ISSUE) { issueCount }`` — see :mod:`.search` for the qualifiers;
  anything else is an error, never a count.
* ``rateLimit { cost limit nodeCount remaining resetAt used }`` of the "graphql" window, after
  this query's points are taken.

What it does not model: mutations and subscriptions; ``node``/``nodes``, ``viewer`` and every
type and field not in the fake's schema (a query using them fails validation); commit history
from any commit but the default branch's head (an error); review comments, reactions, edits;
search results (``nodes``/``edges``) and every search type but ISSUE; GitHub's own wording of
parse and validation errors (graphql-core's messages, in GitHub's ``message``/``locations``
shape); persisted queries and GET requests (404).
"""

from __future__ import annotations

import base64
import binascii
import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

from gh_year_end.testing.fakegithub.accounts import ANONYMOUS, Account, sees_private
from gh_year_end.testing.fakegithub.api import FORBIDDEN_MESSAGE
from gh_year_end.testing.fakegithub.data import (
    BOTS,
    TOKEN_USER_ID,
    FakeData,
    iso,
    parse_moment,
    review_bot,
)
from gh_year_end.testing.fakegithub.graphql_cost import MAX_NODES, MAX_PAGE, QueryCost, query_cost
from gh_year_end.testing.fakegithub.limits import Limits
from gh_year_end.testing.fakegithub.records import REVIEW_STATES, Records
from gh_year_end.testing.fakegithub.render import text_json
from gh_year_end.testing.fakegithub.repos import SHA_HEAD, RepoData, RepoInfo
from gh_year_end.testing.fakegithub.search import SearchError, issue_count, parse_issue_search
from gh_year_end.testing.fakegithub.settings import FakeSettings
from gh_year_end.testing.fakegithub.wire import (
    GRAPHQL_DOCS_URL,
    Request,
    Response,
    json_response,
    not_found,
)

if TYPE_CHECKING:  # graphql-core 3.3's names; 3.2 passes plain dicts where these are
    from graphql.execution.values import VariableValues

ENDPOINT: Final = "graphql"
"""The endpoint name of every GraphQL answer (stats ``by_endpoint``, the request log)."""
RATE_LIMITED_MESSAGE: Final = f"API rate limit exceeded for user ID {TOKEN_USER_ID}."
"""The primary account's RATE_LIMITED message (each account's names its own id)."""
TIMEOUT_MESSAGE: Final = (
    "Something went wrong while executing your query. This may be the result of a timeout, or "
    "it could be a GitHub bug. Please include `FAKE:0000:00000000` when reporting this issue."
)
INT_MAX: Final = 2**31 - 1
REVIEW_ASSOCIATION: Final = "MEMBER"  # as REST's review record (skeletons.review) says
_CURSOR_PREFIX: Final = "cursor:v2:"
_SEARCH_COUNTS: Final = (
    "codeCount",
    "discussionCount",
    "issueCount",
    "repositoryCount",
    "userCount",
    "wikiCount",
)
_PACKAGE: Final = __name__.rpartition(".")[0]


# --- errors -----------------------------------------------------------------------------------


class FieldError(Exception):
    """A resolver's error in GitHub's shape: ``type`` (NOT_FOUND, FORBIDDEN, …), ``message`` and
    optional ``extensions``; graphql-core adds its ``path`` and ``locations``."""

    def __init__(
        self, message: str, kind: str | None = None, extensions: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.extensions = extensions


def github_error(error: GraphQLError) -> dict[str, Any]:
    """``error`` as GitHub writes it: type, path, extensions, locations, message (those it has)."""
    out: dict[str, Any] = {}
    original = error.original_error
    typed = original if isinstance(original, FieldError) else None
    if typed is not None and typed.kind is not None:
        out["type"] = typed.kind
    if error.path is not None:
        out["path"] = list(error.path)
    if typed is not None and typed.extensions is not None:
        out["extensions"] = typed.extensions
    if error.locations:
        out["locations"] = [{"line": at.line, "column": at.column} for at in error.locations]
    out["message"] = error.message
    return out


def _answer(payload: dict[str, Any], status: int = 200) -> Response:
    return json_response(status, payload, endpoint=ENDPOINT)


def _errors(errors: Iterable[dict[str, Any]]) -> Response:
    return _answer({"errors": list(errors)})


# --- the schema and its resolvers ---------------------------------------------------------------


@dataclass(slots=True)
class _Actors:
    users: list[dict[str, Any]]
    bots: list[dict[str, Any]]


@dataclass(slots=True)
class _Context:
    """What the resolvers of one query read: the data, and the query's cost and window."""

    data: FakeData
    records: Records
    actors: _Actors
    cost: QueryCost
    window: Callable[[], dict[str, int]]
    raw_ints: bool
    dry_run: bool
    private_ok: bool = True  # the caller sees the owner's private repos (accounts.sees_private)
    patches: list[tuple[list[str | int], int]] = field(default_factory=list)
    blanks: list[str] = field(default_factory=list)


if TYPE_CHECKING:
    Info = GraphQLResolveInfo[_Context]
    """What a resolver is given: the field, its path, and the query's :class:`_Context`."""
else:  # generic from graphql-core 3.3 on
    Info = GraphQLResolveInfo


def _ctx(info: Info) -> _Context:
    return info.context


def _forbid(repo: RepoInfo) -> None:
    if repo.status == 403:
        raise FieldError(FORBIDDEN_MESSAGE, "FORBIDDEN", {"saml_failure": False})


def _selects(info: Info, names: set[str]) -> bool:
    """Whether the field being resolved selects any of ``names`` (through fragments too)."""

    def walk(selection_set: SelectionSetNode | None) -> bool:
        if selection_set is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value in names:
                return True
            if isinstance(selection, InlineFragmentNode) and walk(selection.selection_set):
                return True
            if isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None and walk(fragment.selection_set):
                    return True
        return False

    return any(walk(node.selection_set) for node in info.field_nodes)


def _check_page(info: Info, args: dict[str, Any]) -> None:
    """GitHub's page rules for the connection being resolved (field errors with its path)."""
    name = info.field_name
    for bound in ("first", "last"):
        value = args.get(bound)
        if value is None:
            continue
        if value > MAX_PAGE:
            raise FieldError(
                f"Requesting {value} records on the `{name}` connection exceeds the "
                f"`{bound}` limit of {MAX_PAGE} records.",
                "EXCESSIVE_PAGINATION",
            )
        if value < 0:
            raise FieldError(f"`{bound}` on the `{name}` connection cannot be negative.")
    if (
        args.get("first") is None
        and args.get("last") is None
        and _selects(info, {"nodes", "edges"})
    ):
        raise FieldError(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )


def _cursor(review_id: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{review_id}".encode()).decode()


def _cursor_id(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        text = ""
    if text.startswith(_CURSOR_PREFIX) and text[len(_CURSOR_PREFIX) :].isdigit():
        return int(text[len(_CURSOR_PREFIX) :])
    raise FieldError(
        f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
    )


def _repo_object(repo: RepoInfo) -> dict[str, Any]:
    return {
        "id": f"R_kgDO{repo.id:x}",
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "_repo": repo,
    }


def _pull_object(ctx: _Context, repo: RepoInfo, d: RepoData, row: int) -> dict[str, Any]:
    pid, number = d.pull_id(row), row + 1
    html = ctx.records.prefixes(repo)[1]
    return {
        "id": f"PR_kwDO{pid:x}",
        "number": number,
        "url": f"{html}/pull/{number}",
        "resourcePath": f"/{repo.full_name}/pull/{number}",
        "_repo": repo,
        "_data": d,
        "_row": row,
    }


def _commit_object(oid: str, repo: RepoInfo, d: RepoData, row: int | None) -> dict[str, Any]:
    """A commit; ``row`` its index among the repo's commits when it is on the default branch."""
    return {"__typename": "Commit", "oid": oid, "_repo": repo, "_data": d, "_row": row}


def _review_object(ctx: _Context, repo: RepoInfo, d: RepoData, row: int) -> dict[str, Any]:
    """Review ``row`` as REST's record has it (:meth:`.Records.review`), in GraphQL's names."""
    rid, parent = d.review_id(row), d.rv_parent[row]
    number, html = parent + 1, ctx.records.prefixes(repo)[1]
    bot = review_bot(rid)
    author = ctx.actors.users[d.rv_author[row]] if bot is None else ctx.actors.bots[bot]
    when = iso(d.rv_submitted[row])
    return {
        "id": f"PRR_kwDO{rid:x}",
        "_rid": rid,
        "fullDatabaseId": str(rid),
        "author": author,
        "authorAssociation": REVIEW_ASSOCIATION,
        "body": orjson.loads(text_json(rid, 0, 120)),
        "state": REVIEW_STATES[rid % len(REVIEW_STATES)],
        "url": f"{html}/pull/{number}#pullrequestreview-{rid}",
        "resourcePath": f"/{repo.full_name}/pull/{number}#pullrequestreview-{rid}",
        "submittedAt": when,
        "createdAt": when,
        "updatedAt": when,
        "commit": _commit_object(ctx.records.sha(repo, SHA_HEAD, parent), repo, d, None),
        "pullRequest": _pull_object(ctx, repo, d, parent),
    }


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
    return _repo_object(repo)


def _pull_request(source: dict[str, Any], info: Info, **args: Any) -> Any:
    ctx, repo = _ctx(info), source["_repo"]
    _forbid(repo)
    number = args["number"]
    d = ctx.data.repo(repo)
    row = number - 1
    if not 0 <= row < d.tickets or d.t_pull_rank[row] < 0:
        raise FieldError(
            f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
        )
    return _pull_object(ctx, repo, d, row)


def _default_branch(source: dict[str, Any], info: Info) -> Any:
    ctx, repo = _ctx(info), source["_repo"]
    _forbid(repo)
    d = ctx.data.repo(repo)
    if repo.empty or not len(d.cm_date):
        return None
    head = len(d.cm_date) - 1
    return {"name": "main", "target": _commit_object(ctx.data.sha(repo, head), repo, d, head)}


def _history(source: dict[str, Any], info: Info, **args: Any) -> Any:
    _check_page(info, args)
    row = source["_row"]
    if row is None:
        raise FieldError(
            "the fake GitHub counts history from the default branch's head commit only"
        )
    dates = source["_data"].cm_date  # committer dates, ascending
    since, until = _moment(args.get("since"), "since"), _moment(args.get("until"), "until")
    start = 0 if since is None else bisect_left(dates, since, 0, row + 1)
    end = row + 1 if until is None else bisect_left(dates, until, 0, row + 1)
    return {"totalCount": max(0, end - start)}


def _reviews(source: dict[str, Any], info: Info, **args: Any) -> Any:
    _check_page(info, args)
    ctx, repo, d = _ctx(info), source["_repo"], source["_data"]
    rows = d.reviews(source["_row"] + 1) or []
    states = args.get("states")
    if states:
        rows = [r for r in rows if REVIEW_STATES[d.review_id(r) % len(REVIEW_STATES)] in states]
    ids = [d.review_id(r) for r in rows]  # ascending: a PR's reviews are chronological
    start, end = 0, len(rows)
    if args.get("after") is not None:
        start = bisect_right(ids, _cursor_id(args["after"]))
    if args.get("before") is not None:
        end = max(start, bisect_left(ids, _cursor_id(args["before"])))
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    nodes = [_review_object(ctx, repo, d, rows[i]) for i in range(start, end)]
    cursors = [_cursor(ids[i]) for i in range(start, end)]
    return {
        "totalCount": len(rows),
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
            "hasNextPage": end < len(rows),
            "hasPreviousPage": start > 0,
        },
    }


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
    _check_page(info, args)
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


def _typename(source: dict[str, Any], _info: Info, _type: object) -> str:
    return str(source["__typename"])


def _moment(value: str | None, name: str) -> float | None:
    """A GitTimestamp argument → epoch seconds."""
    if value is None:
        return None
    try:
        return parse_moment(value).timestamp()
    except ValueError:
        raise FieldError(f"`{name}` {value!r} is not an ISO 8601 GitTimestamp") from None


_RESOLVERS: Final[dict[tuple[str, str], Callable[..., Any]]] = {
    ("Query", "repository"): _repository,
    ("Query", "rateLimit"): _rate_limit,
    ("Query", "search"): _search,
    ("Repository", "pullRequest"): _pull_request,
    ("Repository", "defaultBranchRef"): _default_branch,
    ("Commit", "history"): _history,
    ("PullRequest", "reviews"): _reviews,
    ("PullRequestReview", "databaseId"): _database_id,
    **{
        (actor, "avatarUrl"): _avatar_url
        for actor in ("User", "Bot", "Mannequin", "Organization", "EnterpriseUserAccount")
    },
}


@cache
def fake_schema() -> GraphQLSchema:
    """The fake's schema (``schema.graphql``, package data) with its resolvers attached."""
    text = resources.files(_PACKAGE).joinpath("schema.graphql").read_text(encoding="utf-8")
    schema = build_schema(text)
    for (type_name, field_name), resolve in _RESOLVERS.items():
        owner = schema.get_type(type_name)
        fields: dict[str, GraphQLField] = getattr(owner, "fields", {})
        fields[field_name].resolve = resolve
    for abstract in ("Actor", "GitObject"):
        interface = schema.get_type(abstract)
        assert isinstance(interface, GraphQLInterfaceType)
        interface.resolve_type = _typename
    return schema


# --- a query, end to end --------------------------------------------------------------------


def _dry_run(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: VariableValues,
) -> bool:
    """Whether the operation asks ``rateLimit(dryRun: true)`` (at its root, fragments too)."""
    root = schema.query_type
    assert root is not None
    definition = root.fields["rateLimit"]

    def walk(selection_set: SelectionSetNode) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value == "rateLimit":
                if get_argument_values(definition, selection, variables).get("dryRun") is True:
                    return True
            elif isinstance(selection, InlineFragmentNode) and walk(selection.selection_set):
                return True
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and walk(fragment.selection_set):
                    return True
        return False

    return walk(operation.selection_set)


def _patch(data: Any, path: list[str | int], value: int) -> None:
    """Put ``value`` at ``path`` of the answer's data (unless a null above it cut the path)."""
    for key in path[:-1]:
        if isinstance(data, dict) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return
    if isinstance(data, dict) and isinstance(path[-1], str) and path[-1] in data:
        data[path[-1]] = value


class GraphQLApi:
    """``POST /graphql`` over :class:`FakeData`; spends points through :class:`Limits`."""

    def __init__(
        self, data: FakeData, records: Records, limits: Limits, settings: FakeSettings
    ) -> None:
        self.data = data
        self.records = records
        self.limits = limits
        self.heavy_nodes = settings.graphql_heavy_nodes
        self.raw_ints = settings.graphql_int_overflow == "raw"
        self.schema = fake_schema()
        users = [records.user(k) for k in range(len(data.logins))]
        self.actors = _Actors(
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

    def handle(self, req: Request) -> Response:
        """Answer one authenticated, admitted request to the GraphQL path."""
        if req.method != "POST":
            return not_found(ENDPOINT)
        try:
            payload = orjson.loads(req.body) if req.body else None
        except orjson.JSONDecodeError:
            return _answer(
                {"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS_URL}, 400
            )
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return _errors(
                [{"message": "A query attribute must be specified and must be a string."}]
            )
        assert isinstance(payload, dict)
        variables = payload.get("variables") or {}
        name = payload.get("operationName") or None
        if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
            return _errors([{"message": "variables must be an object, operationName a string"}])
        return self._run(query, variables, name, req.caller or ANONYMOUS)

    def _run(
        self, query: str, variables: dict[str, Any], name: str | None, caller: Account
    ) -> Response:
        schema = self.schema
        try:
            document = parse(query)
        except GraphQLError as exc:
            return _errors([github_error(exc)])
        invalid = validate(schema, document)
        if invalid:
            return _errors(github_error(e) for e in invalid)
        operation = get_operation_ast(document, name)
        if operation is None:
            message = (
                f'Unknown operation named "{name}".'
                if name
                else "Must provide operation name if query contains multiple operations."
            )
            return _errors([{"message": message}])
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return _errors(github_error(e) for e in coerced)
        cost = query_cost(schema, document, operation, coerced)
        if cost.nodes > MAX_NODES:
            return _errors(
                [
                    {
                        "type": "MAX_NODE_LIMIT_EXCEEDED",
                        "message": f"This query requests up to {cost.nodes:,} possible nodes "
                        f"which exceeds the maximum limit of {MAX_NODES:,}.",
                    }
                ]
            )
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        dry = _dry_run(schema, operation, fragments, coerced)
        if not dry and not self.limits.spend_graphql(cost.points, caller):
            return _errors([{"type": "RATE_LIMITED", "message": caller.limit_message}])
        if not dry and self.heavy_nodes is not None and cost.nodes > self.heavy_nodes:
            return _answer({"data": None, "errors": [{"message": TIMEOUT_MESSAGE}]}, 502)
        ctx = _Context(
            self.data,
            self.records,
            self.actors,
            cost,
            functools.partial(self.limits.graphql_window, caller),
            raw_ints=self.raw_ints,
            dry_run=dry,
            private_ok=sees_private(caller, self.data.spec.mode),
        )
        result = execute_sync(
            schema, document, context_value=ctx, variable_values=variables, operation_name=name
        )
        data = result.data
        for path, value in ctx.patches:
            _patch(data, path, value)
        if isinstance(data, dict):
            for key in ctx.blanks:  # a dry run evaluates rateLimit alone
                data[key] = None
        body: dict[str, Any] = {"data": data}
        if result.errors:
            body["errors"] = [github_error(e) for e in result.errors]
        return _answer(body)
