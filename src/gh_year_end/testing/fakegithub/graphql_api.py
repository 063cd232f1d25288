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
* ``defaultBranchRef { name target { ... on Commit { history(since, until, first, after) {
  totalCount pageInfo nodes { oid committedDate additions deletions changedFilesIfAvailable }
  } } } }`` — the commits with committer date in [since, until), newest first: REST's /commits
  of the window, sha for sha (``oid`` = sha, ``committedDate`` = commit.committer.date), paged
  by cursors that name a commit (a page after one stays right when commits arrive); sizes from
  the seed (:meth:`.repos.RepoData.commit_size`). Null ref for an empty repo; the ref's
  ``name`` is the repo's default branch ("main", "master" for some).
* A repository's health — ``isEmpty``, ``licenseInfo``, ``codeOfConduct``,
  ``isSecurityPolicyEnabled``, ``securityPolicyUrl``, ``repositoryTopics``, ``languages``,
  ``rulesets``, ``object(expression:)`` trees and blobs, and the admin-only
  ``Ref.branchProtectionRule`` (null without admin rights) and
  ``hasVulnerabilityAlertsEnabled`` (FORBIDDEN "Must have admin rights to Repository." without
  them) — see :mod:`.graphql_health`.
* ``search(query, type: ISSUE) { issueCount }`` — see :mod:`.search` for the qualifiers;
  anything else is an error, never a count.
* ``rateLimit { cost limit nodeCount remaining resetAt used }`` of the "graphql" window, after
  this query's points are taken.

What it does not model: mutations and subscriptions; ``node``/``nodes``, ``viewer`` and every
type and field not in the fake's schema (a query using them fails validation); commit history
from any commit but the default branch's (an error); ``history(author:, path:)``; a null
``changedFilesIfAvailable`` (GitHub's when it cannot count); review comments, reactions, edits;
search results (``nodes``/``edges``) and every search type but ISSUE; GitHub's own wording of
parse and validation errors (graphql-core's messages, in GitHub's ``message``/``locations``
shape); persisted queries and GET requests (404).

Here: the schema (loaded, resolvers attached) and a query end to end. The resolvers are
:mod:`.graphql_resolvers` (their objects :mod:`.graphql_nodes`, their page rules and cursors
:mod:`.graphql_paging`); errors and answers in GitHub's shape, :mod:`.graphql_answers`.
"""

from __future__ import annotations

import functools
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

from gh_year_end.testing.fakegithub.accounts import (
    ANONYMOUS,
    Account,
    has_admin_rights,
    sees_private,
)
from gh_year_end.testing.fakegithub.data import FakeData
from gh_year_end.testing.fakegithub.graphql_answers import (
    ENDPOINT,
    TIMEOUT_MESSAGE,
    answer,
    errors,
    github_error,
)
from gh_year_end.testing.fakegithub.graphql_cost import MAX_NODES, query_cost
from gh_year_end.testing.fakegithub.graphql_health import HEALTH_RESOLVERS
from gh_year_end.testing.fakegithub.graphql_nodes import build_actors
from gh_year_end.testing.fakegithub.graphql_resolvers import RESOLVERS, Context, typename
from gh_year_end.testing.fakegithub.limits import Limits
from gh_year_end.testing.fakegithub.records import Records
from gh_year_end.testing.fakegithub.settings import FakeSettings
from gh_year_end.testing.fakegithub.wire import (
    GRAPHQL_DOCS_URL,
    Request,
    Response,
    not_found,
)

if TYPE_CHECKING:  # graphql-core 3.3's names; 3.2 passes plain dicts where these are
    from graphql.execution.values import VariableValues

_PACKAGE: Final = __name__.rpartition(".")[0]


@cache
def fake_schema() -> GraphQLSchema:
    """The fake's schema (``schema.graphql``, package data) with its resolvers attached."""
    text = resources.files(_PACKAGE).joinpath("schema.graphql").read_text(encoding="utf-8")
    schema = build_schema(text)
    for (type_name, field_name), resolve in {**RESOLVERS, **HEALTH_RESOLVERS}.items():
        owner = schema.get_type(type_name)
        fields: dict[str, GraphQLField] = getattr(owner, "fields", {})
        fields[field_name].resolve = resolve
    for abstract in ("Actor", "GitObject"):
        interface = schema.get_type(abstract)
        assert isinstance(interface, GraphQLInterfaceType)
        interface.resolve_type = typename
    return schema


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
        self.actors = build_actors(data, records)

    def handle(self, req: Request) -> Response:
        """Answer one authenticated, admitted request to the GraphQL path."""
        if req.method != "POST":
            return not_found(ENDPOINT)
        try:
            payload = orjson.loads(req.body) if req.body else None
        except orjson.JSONDecodeError:
            return answer(
                {"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS_URL}, 400
            )
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return errors(
                [{"message": "A query attribute must be specified and must be a string."}]
            )
        assert isinstance(payload, dict)
        variables = payload.get("variables") or {}
        name = payload.get("operationName") or None
        if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
            return errors([{"message": "variables must be an object, operationName a string"}])
        return self._run(query, variables, name, req.caller or ANONYMOUS)

    def _run(
        self, query: str, variables: dict[str, Any], name: str | None, caller: Account
    ) -> Response:
        schema = self.schema
        try:
            document = parse(query)
        except GraphQLError as exc:
            return errors([github_error(exc)])
        invalid = validate(schema, document)
        if invalid:
            return errors(github_error(e) for e in invalid)
        operation = get_operation_ast(document, name)
        if operation is None:
            message = (
                f'Unknown operation named "{name}".'
                if name
                else "Must provide operation name if query contains multiple operations."
            )
            return errors([{"message": message}])
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return errors(github_error(e) for e in coerced)
        cost = query_cost(schema, document, operation, coerced)
        if cost.nodes > MAX_NODES:
            return errors(
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
            return errors([{"type": "RATE_LIMITED", "message": caller.limit_message}])
        if not dry and self.heavy_nodes is not None and cost.nodes > self.heavy_nodes:
            return answer({"data": None, "errors": [{"message": TIMEOUT_MESSAGE}]}, 502)
        ctx = Context(
            self.data,
            self.records,
            self.actors,
            cost,
            functools.partial(self.limits.graphql_window, caller),
            raw_ints=self.raw_ints,
            dry_run=dry,
            private_ok=sees_private(caller, self.data.spec.mode),
            admin_ok=has_admin_rights(caller),
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
        return answer(body)
