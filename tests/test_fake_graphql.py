"""The fake GitHub's GraphQL side, over real HTTP with httpx, checked against GitHub's published
schema (tests/vendor/github-graphql-schema) and against the fake's own REST answers."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import parse
from graphql.utilities import get_operation_ast

from gh_year_end.testing.fakegithub import (
    FORBIDDEN_MESSAGE,
    SECONDARY_MESSAGE,
    FakeGitHub,
    FakeSettings,
    settings_from_args,
)
from gh_year_end.testing.fakegithub.graphql_api import fake_schema
from gh_year_end.testing.fakegithub.graphql_cost import query_cost
from github_schema import github_problems, github_schema, subset_problems

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SINCE = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = "created:<2026-01-01T00:00:00Z updated:>=2025-01-01T00:00:00Z"
# repo-002 404, repo-004 451, repo-006 403, repo-008 empty
MIXED = FakeSettings(
    token=TOKEN,
    repos=10,
    pulls=30,
    issues=15,
    reviews_per_pull=2.0,
    commits=25,
    not_found=(2,),
    blocked=(4,),
    forbidden=(6,),
    empty=(8,),
)
REVIEW_FIELDS = """
    id databaseId fullDatabaseId body state url authorAssociation submittedAt
    author { __typename login }
    commit { oid }
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(MIXED) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        yield c


def graphql(
    c: httpx.Client, query: str, variables: dict[str, Any] | None = None, *, path: str = "/graphql"
) -> httpx.Response:
    """POST one query (``path`` from the origin's root: GHES puts GraphQL outside /api/v3)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    origin = str(c.base_url).removesuffix("/").rsplit("/api/v3", 1)[0]
    return c.post(origin + path, json=body)


def rest_all(c: httpx.Client, url: str, **params: str) -> list[Any]:
    """Every record of a REST listing, following Link rel="next"."""
    out: list[Any] = []
    response = c.get(url, params={"per_page": 100, **params})
    while True:
        assert response.status_code == 200, response.text
        out += response.json()
        nxt = response.links.get("next")
        if nxt is None:
            return out
        response = c.get(nxt["url"])


def reviews_query(number: int, extra: str = "first: 100") -> str:
    return f"""
        query($owner: String!, $name: String!, $after: String) {{
          repository(owner: $owner, name: $name) {{
            pullRequest(number: {number}) {{
              reviews({extra}, after: $after) {{
                totalCount
                pageInfo {{ hasNextPage endCursor hasPreviousPage startCursor }}
                edges {{ cursor node {{ fullDatabaseId }} }}
                nodes {{ {REVIEW_FIELDS} }}
              }}
            }}
          }}
        }}
    """


def all_reviews_via_graphql(c: httpx.Client, repo: str, number: int) -> list[dict[str, Any]]:
    """Every review of a PR, paged through ``first: 100`` / ``after`` cursors."""
    owner, name = repo.split("/")
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        answer = graphql(c, reviews_query(number), {"owner": owner, "name": name, "after": after})
        assert answer.status_code == 200
        body = answer.json()
        assert "errors" not in body, body["errors"]
        connection = body["data"]["repository"]["pullRequest"]["reviews"]
        out += connection["nodes"]
        assert [e["node"]["fullDatabaseId"] for e in connection["edges"]] == [
            n["fullDatabaseId"] for n in connection["nodes"]
        ]
        if not connection["pageInfo"]["hasNextPage"]:
            assert len(out) == connection["totalCount"]
            return out
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


def pull_numbers(c: httpx.Client, repo: str) -> list[int]:
    return sorted(p["number"] for p in rest_all(c, f"/repos/{repo}/pulls", state="all"))


# --- the schema ---------------------------------------------------------------------------


def test_fake_schema_is_a_faithful_subset_of_githubs() -> None:
    assert subset_problems(fake_schema(), github_schema()) == []
    mine = fake_schema().type_map
    for name in ("User", "Bot", "Mannequin", "Organization", "EnterpriseUserAccount"):
        assert "Actor" in {i.name for i in getattr(mine[name], "interfaces", [])}
    review = github_schema().type_map["PullRequestReview"]
    assert "databaseId" in getattr(review, "fields", {})


def test_subset_check_names_what_differs_from_github() -> None:
    from graphql import build_schema

    drifted = build_schema(
        """
        type Query { repository(owner: String!, name: String!, followRenames: Boolean = false):
          Repository rateLimit: Int }
        type Repository { name: String pullRequest: PullRequest }
        type PullRequest { number: Int! }
        """
    )
    assert subset_problems(drifted, github_schema()) == [
        "Query.repository(followRenames): Boolean = false, GitHub's is Boolean = true",
        "Query.rateLimit: Int, GitHub's is RateLimit",
        "Repository.name: String, GitHub's is String!",
        "Repository.pullRequest: leaves out GitHub's required argument number",
    ]


def test_every_query_these_tests_send_is_valid_for_github() -> None:
    for query in (reviews_query(1), reviews_query(1, "last: 5")):
        assert github_problems(query) == []
    assert github_problems("{ viewer { loginn } }") == [
        "Cannot query field 'loginn' on type 'User'. Did you mean 'login'?"
    ]


# --- reviews, as REST serves them ------------------------------------------------------------


def test_a_review_through_graphql_is_the_rest_review_field_by_field(
    client: httpx.Client,
) -> None:
    repo = "acme/repo-000"
    bots = 0
    compared = 0
    for number in pull_numbers(client, repo):
        rest = rest_all(client, f"/repos/{repo}/pulls/{number}/reviews")
        via_graphql = all_reviews_via_graphql(client, repo, number)
        assert len(via_graphql) == len(rest)
        for r, g in zip(rest, via_graphql, strict=True):  # the same order, too
            assert g["fullDatabaseId"] == str(r["id"])  # a BigInt: a string
            assert g["databaseId"] == r["id"]  # over 2^31-1: sent whole ("raw")
            assert g["id"] == r["node_id"]
            assert g["body"] == r["body"]
            assert g["state"] == r["state"]
            assert g["url"] == r["html_url"]
            assert g["authorAssociation"] == r["author_association"]
            assert g["submittedAt"] == r["submitted_at"]
            assert g["commit"]["oid"] == r["commit_id"]
            user, author = r["user"], g["author"]
            if user["type"] == "Bot":
                bots += 1
                assert author["__typename"] == "Bot"
                assert user["login"] == author["login"] + "[bot]"  # GraphQL has no suffix
            else:
                assert (author["__typename"], author["login"]) == ("User", user["login"])
            compared += 1
    assert compared > 40
    assert bots > 0  # a client meets both shapes


def test_some_rest_reviews_are_a_bots(client: httpx.Client) -> None:
    repo = "acme/repo-000"
    users = [
        review["user"]
        for number in pull_numbers(client, repo)
        for review in rest_all(client, f"/repos/{repo}/pulls/{number}/reviews")
    ]
    bots = [u for u in users if u["type"] == "Bot"]
    assert bots
    assert {u["login"] for u in bots} <= {"dependabot[bot]", "renovate[bot]"}
    for bot in bots:
        slug = bot["login"].removesuffix("[bot]")
        assert bot["url"].endswith(f"/users/{slug}%5Bbot%5D")
        assert bot["html_url"].endswith(f"/apps/{slug}")
        assert bot["node_id"].startswith("BOT_")
    assert len(bots) < len(users) / 5  # most reviews are still people's


def test_a_pull_request_with_more_than_100_reviews_pages_by_cursor() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, pulls=4, issues=0, reviews_per_pull=150)
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        rest = rest_all(c, "/repos/acme/repo-000/pulls/4/reviews")
        assert len(rest) > 200  # three pages of GraphQL
        via_graphql = all_reviews_via_graphql(c, "acme/repo-000", 4)
        assert [g["fullDatabaseId"] for g in via_graphql] == [str(r["id"]) for r in rest]

        # backwards: the last 10 before the 11th from the end
        first = graphql(c, reviews_query(4), {"owner": "acme", "name": "repo-000"}).json()
        page = first["data"]["repository"]["pullRequest"]["reviews"]
        assert page["pageInfo"]["hasPreviousPage"] is False
        assert len(page["nodes"]) == 100
        query = reviews_query(4, "last: 10").replace("after: $after", "before: $before")
        query = query.replace("$after: String", "$before: String")
        before = page["edges"][50]["cursor"]
        back = graphql(c, query, {"owner": "acme", "name": "repo-000", "before": before})
        nodes = back.json()["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
        assert [n["fullDatabaseId"] for n in nodes] == [str(r["id"]) for r in rest[40:50]]


def test_reviews_filtered_by_state(client: httpx.Client) -> None:
    repo, number = "acme/repo-000", pull_numbers(client, "acme/repo-000")[0]
    rest = rest_all(client, f"/repos/{repo}/pulls/{number}/reviews")
    query = reviews_query(number, "first: 100, states: [APPROVED]").replace(", after: $after", "")
    query = query.replace(", $after: String", "")
    answer = graphql(client, query, {"owner": "acme", "name": "repo-000"}).json()
    nodes = answer["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
    assert [n["fullDatabaseId"] for n in nodes] == [
        str(r["id"]) for r in rest if r["state"] == "APPROVED"
    ]


def test_a_bad_cursor_is_a_field_error(client: httpx.Client) -> None:
    body = graphql(
        client, reviews_query(1), {"owner": "acme", "name": "repo-000", "after": "not-a-cursor"}
    ).json()
    assert body["data"]["repository"]["pullRequest"]["reviews"] is None
    (error,) = body["errors"]
    assert error["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert error["path"] == ["repository", "pullRequest", "reviews"]


def test_database_id_over_32_bits_is_never_a_wrong_number() -> None:
    query = '{ repository(owner: "acme", name: "repo-000") { pullRequest(number: %d) {' + (
        " reviews(first: 5) { nodes { databaseId fullDatabaseId } } } } }"
    )
    for overflow in ("raw", "error"):
        settings = FakeSettings(
            token=TOKEN,
            repos=1,
            pulls=5,
            issues=0,
            reviews_per_pull=3,
            graphql_int_overflow=overflow,
        )
        with (
            FakeGitHub(settings) as server,
            httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
        ):
            number = next(
                n
                for n in range(1, 6)
                if len(server.data.repo(server.data.repos[0]).reviews(n) or [])
            )
            body = graphql(c, query % number).json()
        nodes = body["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
        assert nodes
        for node in nodes:
            assert int(node["fullDatabaseId"]) > 2**31 - 1
            if overflow == "raw":  # as GitHub has been seen to: the whole number
                assert node["databaseId"] == int(node["fullDatabaseId"])
            else:  # as the GraphQL spec asks: null and an error
                assert node["databaseId"] is None
        if overflow == "error":
            assert len(body["errors"]) == len(nodes)
            first = body["errors"][0]
            whole = nodes[0]["fullDatabaseId"]
            assert (
                first["message"] == f"Int cannot represent non 32-bit signed integer value: {whole}"
            )
            assert first["path"] == [
                "repository",
                "pullRequest",
                "reviews",
                "nodes",
                0,
                "databaseId",
            ]
        else:
            assert "errors" not in body


# --- errors in a 200, as GitHub sends them -------------------------------------------------------


def test_unknown_repos_and_pull_requests_are_null_with_not_found(client: httpx.Client) -> None:
    query = """{
      gone: repository(owner: "acme", name: "no-such-repo") { id }
      missing: repository(owner: "acme", name: "repo-002") { id }
      blocked: repository(owner: "acme", name: "repo-004") { id }
      here: repository(owner: "acme", name: "repo-000") {
        nameWithOwner
        pr999: pullRequest(number: 999) { number }
        issue: pullRequest(number: %d) { number }
      }
    }"""
    issues = rest_all(client, "/repos/acme/repo-000/issues", state="all")
    issue_number = next(i["number"] for i in issues if "pull_request" not in i)
    answer = graphql(client, query % issue_number)
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == {
        "gone": None,
        "missing": None,
        "blocked": None,
        "here": {"nameWithOwner": "acme/repo-000", "pr999": None, "issue": None},
    }
    by_path = {tuple(e["path"]): e for e in body["errors"]}
    assert by_path[("gone",)]["type"] == "NOT_FOUND"
    assert by_path[("gone",)]["message"] == (
        "Could not resolve to a Repository with the name 'acme/no-such-repo'."
    )
    assert by_path[("missing",)]["type"] == by_path[("blocked",)]["type"] == "NOT_FOUND"
    assert by_path[("here", "pr999")]["message"] == (
        "Could not resolve to a PullRequest with the number of 999."
    )
    assert by_path[("here", "issue")]["type"] == "NOT_FOUND"
    assert by_path[("here", "issue")]["locations"] == [{"line": 8, "column": 9}]


def test_a_forbidden_repo_resolves_but_its_data_is_forbidden(client: httpx.Client) -> None:
    query = """{ repository(owner: "acme", name: "repo-006") {
      nameWithOwner pullRequest(number: 1) { number } defaultBranchRef { name } } }"""
    body = graphql(client, query).json()
    assert body["data"]["repository"] == {
        "nameWithOwner": "acme/repo-006",
        "pullRequest": None,
        "defaultBranchRef": None,
    }
    assert {tuple(e["path"]) for e in body["errors"]} == {
        ("repository", "pullRequest"),
        ("repository", "defaultBranchRef"),
    }
    for error in body["errors"]:
        assert error["type"] == "FORBIDDEN"
        assert error["message"] == FORBIDDEN_MESSAGE
        assert error["extensions"] == {"saml_failure": False}


def test_parse_and_validation_errors_are_a_200_with_errors_only(client: httpx.Client) -> None:
    broken = graphql(client, "{ repository(owner: ")
    assert broken.status_code == 200
    (error,) = broken.json()["errors"]
    assert set(broken.json()) == {"errors"}
    assert set(error) == {"message", "locations"}
    unknown = graphql(client, '{ repository(owner: "acme", name: "repo-000") { stars } }')
    assert unknown.status_code == 200
    assert unknown.json() == {
        "errors": [
            {
                "locations": [{"line": 1, "column": 49}],
                "message": "Cannot query field 'stars' on type 'Repository'.",
            }
        ]
    }
    assert client.post("/graphql", json={"variables": {}}).json() == {
        "errors": [{"message": "A query attribute must be specified and must be a string."}]
    }
    not_json = client.post("/graphql", content=b"{nope", headers={"content-type": "text/plain"})
    assert not_json.status_code == 400
    assert not_json.json()["message"] == "Problems parsing JSON"
    assert client.get("/graphql").status_code == 404


# --- page and node limits ------------------------------------------------------------------------


def test_page_bounds_are_githubs(client: httpx.Client) -> None:
    big = graphql(client, reviews_query(1, "first: 101"), {"owner": "acme", "name": "repo-000"})
    (error,) = big.json()["errors"]
    assert error["type"] == "EXCESSIVE_PAGINATION"
    assert error["message"] == (
        "Requesting 101 records on the `reviews` connection exceeds the `first` limit of 100 "
        "records."
    )
    assert error["path"] == ["repository", "pullRequest", "reviews"]
    assert big.json()["data"]["repository"]["pullRequest"]["reviews"] is None

    unbounded = '{ repository(owner: "acme", name: "repo-000") { pullRequest(number: 1) {' + (
        " reviews { %s } } } }"
    )
    (error,) = graphql(client, unbounded % "nodes { id }").json()["errors"]
    assert error["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert error["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `reviews` connection."
    )
    counted = graphql(client, unbounded % "totalCount").json()  # a count needs no bound
    assert "errors" not in counted
    assert isinstance(counted["data"]["repository"]["pullRequest"]["reviews"]["totalCount"], int)


def test_more_than_500000_nodes_is_refused_before_anything_is_spent(fake: FakeGitHub) -> None:
    nested = "reviews(first: 100) { nodes { pullRequest { %s } } }"
    inner = nested % (nested % "reviews(first: 100) { totalCount }")
    query = '{ repository(owner: "acme", name: "repo-000") { pullRequest(number: 1) { %s } } }'
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        before = fake.stats()["graphql_points"]
        answer = graphql(c, query % inner)
    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": "This query requests up to 1,010,100 possible nodes which exceeds "
                "the maximum limit of 500,000.",
            }
        ]
    }
    assert fake.stats()["graphql_points"] == before


def test_a_query_over_graphql_heavy_nodes_answers_502() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, issues=0, graphql_heavy_nodes=50)
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        variables = {"owner": "acme", "name": "repo-000"}
        heavy = graphql(c, reviews_query(1, "first: 51"), variables)
        assert heavy.status_code == 502
        (error,) = heavy.json()["errors"]
        assert error["message"].startswith("Something went wrong while executing your query.")
        assert "timeout" in error["message"]
        light = graphql(c, reviews_query(1, "first: 50"), variables)
        assert light.status_code == 200
        assert "errors" not in light.json()


# --- cost and budget -----------------------------------------------------------------------------


def test_cost_follows_githubs_documented_examples() -> None:
    schema = github_schema()
    examples = {  # GitHub's "Rate limits and node limits for the GraphQL API"
        "{ viewer { repositories(first: 50) { edges { repository: node { name issues(first: 10)"
        " { totalCount edges { node { title bodyHTML } } } } } } } }": (550, 1),
        "{ viewer { repositories(first: 50) { edges { repository: node { name pullRequests("
        "first: 20) { edges { pullRequest: node { title comments(first: 10) { edges { comment:"
        " node { bodyHTML } } } } } } issues(first: 20) { totalCount edges { issue: node { title"
        " bodyHTML comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }"
        " followers(first: 10) { edges { follower: node { login } } } } }": (22_060, 21),
        "{ viewer { login repositories(first: 100) { edges { node { id issues(first: 50) {"
        " edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }": (
            305_100,
            51,  # 1 + 100 + 5,000 requests, / 100, rounded: the documented score
        ),
        "{ rateLimit { cost remaining } }": (0, 1),  # the minimum
    }
    for query, (nodes, points) in examples.items():
        assert github_problems(query) == []
        document = parse(query)
        operation = get_operation_ast(document)
        assert operation is not None
        cost = query_cost(schema, document, operation)
        assert (cost.nodes, cost.points) == (nodes, points), query


def test_a_hundred_aliased_pull_requests_cost_one_point() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, pulls=100, issues=0, graphql_rate_limit=5000)
    aliases = " ".join(
        f"pr{n}: pullRequest(number: {n}) {{ reviews(first: 100) {{ nodes {{ id }} }} }}"
        for n in range(1, 101)
    )
    query = (
        f'{{ rateLimit {{ cost nodeCount remaining used limit resetAt }} repository(owner: "acme",'
        f' name: "repo-000") {{ {aliases} }} }}'
    )
    assert github_problems(query) == []
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        answer = graphql(c, query)
        stats = server.stats()
    body = answer.json()
    assert "errors" not in body
    assert body["data"]["rateLimit"] == {
        "cost": 1,
        "nodeCount": 10_000,
        "remaining": 4999,
        "used": 1,
        "limit": 5000,
        "resetAt": body["data"]["rateLimit"]["resetAt"],
    }
    reset = int(answer.headers["x-ratelimit-reset"])
    assert body["data"]["rateLimit"]["resetAt"] == datetime.fromtimestamp(reset, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert answer.headers["x-ratelimit-used"] == "1"
    assert answer.headers["x-ratelimit-resource"] == "graphql"
    assert stats["graphql_points"] == 1


def test_the_graphql_budget_is_its_own_and_past_it_is_a_200_rate_limited() -> None:
    now = [1_700_000_000.5]
    settings = FakeSettings(token=TOKEN, repos=1, rate_limit=100, graphql_rate_limit=3)
    cheap = '{ repository(owner: "acme", name: "repo-000") { name } }'
    with (
        FakeGitHub(settings, clock=lambda: now[0]) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        answers = [graphql(c, cheap) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 200]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert {a.headers["x-ratelimit-resource"] for a in answers} == {"graphql"}
        assert answers[2].json() == {"data": {"repository": {"name": "repo-000"}}}
        assert answers[3].json() == {
            "errors": [
                {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            ]
        }
        reset = math.ceil(now[0] + settings.rate_window)
        assert answers[3].headers["x-ratelimit-reset"] == str(reset)
        rest = c.get("/user")  # REST's budget is untouched
        assert rest.headers["x-ratelimit-resource"] == "core"
        assert rest.headers["x-ratelimit-remaining"] == "99"
        resources = c.get("/rate_limit").json()["resources"]
        assert resources["graphql"]["remaining"] == 0
        assert resources["graphql"]["used"] == 3
        assert server.stats()["rate_limited"] == 1
        assert server.stats()["graphql_points"] == 3
        now[0] = reset  # a new window
        assert graphql(c, cheap).headers["x-ratelimit-remaining"] == "2"


def test_a_query_costing_more_than_what_remains_is_refused_though_some_remains() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, pulls=150, issues=0, graphql_rate_limit=2)
    aliases = " ".join(
        f"p{n}: pullRequest(number: {n}) {{ reviews(first: 1) {{ totalCount }} }}"
        for n in range(1, 151)
    )
    costly = f'{{ repository(owner: "acme", name: "repo-000") {{ {aliases} }} }}'  # 2 points
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        assert "errors" not in graphql(c, "{ rateLimit { cost } }").json()  # 1 point
        refused = graphql(c, costly)
        assert refused.json()["errors"][0]["type"] == "RATE_LIMITED"
        assert refused.headers["x-ratelimit-remaining"] == "1"  # the body says it, not the header
        assert server.stats()["graphql_points"] == 1


def test_a_dry_run_costs_nothing_and_evaluates_nothing_but_rate_limit() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, pulls=10, issues=0, graphql_rate_limit=10)
    query = """{
      rateLimit(dryRun: true) { cost nodeCount used remaining }
      repository(owner: "acme", name: "repo-000") { pullRequest(number: 1) {
        reviews(first: 100) { nodes { id } } } }
      search(query: "repo:acme/repo-000 is:pr", type: ISSUE) { issueCount }
    }"""
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        body = graphql(c, query).json()
        assert server.stats()["graphql_points"] == 0
    assert body == {
        "data": {
            "rateLimit": {"cost": 1, "nodeCount": 100, "used": 0, "remaining": 10},
            "repository": None,
            "search": None,
        }
    }


# --- search and history counts -------------------------------------------------------------------


def test_search_and_history_counts_equal_the_expected_window(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    expected = fake.expected(SINCE, UNTIL, include_forks=True, include_archived=True)
    query = """query($pulls: String!, $issues: String!, $owner: String!, $name: String!) {
      pulls: search(query: $pulls, type: ISSUE) { issueCount }
      issues: search(query: $issues, type: ISSUE) { issueCount }
      repository(owner: $owner, name: $name) {
        defaultBranchRef { target { ... on Commit {
          history(since: "2025-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z") { totalCount }
        } } }
      }
    }"""
    assert github_problems(query) == []
    for repo, units in expected["units"].items():
        owner, name = repo.split("/")
        variables = {
            "pulls": f"repo:{repo} is:pr {WINDOW}",
            "issues": f"repo:{repo} is:issue {WINDOW}",
            "owner": owner,
            "name": name,
        }
        body = graphql(client, query, variables).json()
        data = body["data"]
        assert data["pulls"]["issueCount"] == len(units["pulls"]), repo
        assert data["issues"]["issueCount"] == len(units["issues"]), repo
        if repo in expected["unavailable"]:
            assert data["repository"] is None or data["repository"]["defaultBranchRef"] is None
            continue
        branch = data["repository"]["defaultBranchRef"]
        if repo in expected["empty"]:
            assert branch is None
            continue
        assert branch["target"]["history"]["totalCount"] == len(units["commits"]), repo


def test_search_qualifiers_in_every_accepted_form(client: httpx.Client) -> None:
    def count(text: str) -> int:
        query = "query($q: String!) { search(query: $q, type: ISSUE) { issueCount } }"
        body = graphql(client, query, {"q": text}).json()
        assert "errors" not in body, body
        return int(body["data"]["search"]["issueCount"])

    base = "repo:acme/repo-000"
    both = count(f"{base} {WINDOW}")
    assert both == count(f"{base} is:pr {WINDOW}") + count(f"{base} is:issue {WINDOW}")
    assert count(f"{base} type:pr {WINDOW}") == count(
        f"REPO:acme/REPO-000 is:pull-request {WINDOW}"
    )
    dates = f"{base} created:<2026-01-01 updated:>=2025-01-01"
    assert count(dates) == both  # a date is that day's first second
    offsets = f"{base} created:<2026-01-01T01:00:00+01:00 updated:>=2025-01-01T00:00:00Z"
    assert count(offsets) == both
    assert count(f"{base} created:>2025-06-30") == count(f"{base} created:>=2025-07-01")
    assert count(f"{base} created:<=2025-06-30") == count(f"{base} created:<2025-07-01")
    assert count("repo:acme/no-such-repo is:pr") == 0


@pytest.mark.parametrize(
    "text",
    [
        "repo:acme/repo-000 is:open",
        "repo:acme/repo-000 label:bug",
        "repo:acme/repo-000 created:2025-01-01..2025-02-01",
        "repo:acme/repo-000 some words",
        "is:pr created:<2026-01-01",
        "repo:acme/repo-000 repo:acme/repo-001",
        "repo:acme/repo-000 created:<2026-13-01",
    ],
)
def test_unmodelled_search_qualifiers_are_an_error_never_a_count(
    client: httpx.Client, text: str
) -> None:
    query = "query($q: String!) { search(query: $q, type: ISSUE) { issueCount } }"
    body = graphql(client, query, {"q": text}).json()
    assert body["data"] is None  # search is non-null: its error nulls the whole answer
    assert body["errors"][0]["path"] == ["search"]


def test_search_types_other_than_issue_are_refused(client: httpx.Client) -> None:
    query = '{ search(query: "repo:acme/repo-000", type: REPOSITORY) { repositoryCount } }'
    body = graphql(client, query).json()
    assert body["data"] is None
    assert "ISSUE" in body["errors"][0]["message"]


# --- routes, switches, the secondary limit, faults, stats ---------------------------------------


def test_github_enterprise_serves_graphql_at_api_graphql() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, prefix="/api/v3")
    query = '{ repository(owner: "acme", name: "repo-000") { nameWithOwner } }'
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        assert server.base_url.endswith("/api/v3")
        answer = graphql(c, query, path="/api/graphql")
        assert answer.status_code == 200
        assert answer.json() == {"data": {"repository": {"nameWithOwner": "acme/repo-000"}}}
        assert answer.headers["x-ratelimit-resource"] == "graphql"
        assert graphql(c, query, path="/graphql").status_code == 404
        assert graphql(c, query, path="/api/v3/graphql").status_code == 404


def test_graphql_off_answers_404_as_a_server_without_it() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, graphql=False)
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        answer = graphql(c, "{ rateLimit { cost } }")
        assert answer.status_code == 404
        assert answer.json()["message"] == "Not Found"
        assert c.get("/user").status_code == 200


def test_bad_credentials_are_a_401_as_for_rest(fake: FakeGitHub) -> None:
    answer = httpx.post(
        fake.url("/graphql"), json={"query": "{ rateLimit { cost } }"}, headers={}, timeout=10
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"
    assert answer.headers["x-ratelimit-resource"] == "graphql"


def test_secondary_limit_applies_to_graphql_requests() -> None:
    settings = FakeSettings(
        token=TOKEN, repos=1, max_concurrent=2, latency=0.2, secondary_retry_after=7
    )
    body = {"query": "{ rateLimit { cost } }"}

    async def burst(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as c:
            return await asyncio.gather(*(c.post(url, json=body) for _ in range(4)))

    with FakeGitHub(settings) as server:
        answers = asyncio.run(burst(server.url("/graphql")))
        stats = server.stats()
    assert sorted(a.status_code for a in answers) == [200, 200, 403, 403]
    limited = [a for a in answers if a.status_code == 403]
    assert {a.headers["retry-after"] for a in limited} == {"7"}
    assert {a.json()["message"] for a in limited} == {SECONDARY_MESSAGE}
    assert {a.headers["x-ratelimit-resource"] for a in answers} == {"graphql"}
    assert stats["secondary_limited"] == 2
    assert stats["graphql_points"] == 2


def test_faults_apply_to_graphql_and_server_errors_spend_nothing() -> None:
    settings = FakeSettings(token=TOKEN, repos=1)
    query = "{ rateLimit { used } }"
    with (
        FakeGitHub(settings) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        server.inject("502", match="/graphql")
        assert graphql(c, query).status_code == 502
        assert server.stats()["graphql_points"] == 0  # refused before it ran
        server.inject("empty", match="/graphql")
        empty = graphql(c, query)
        assert (empty.status_code, empty.content) == (200, b"")
        assert server.stats()["graphql_points"] == 1  # it ran; the answer was lost
        server.inject("stuck", match="/graphql")  # no page to be stuck on: answers as is
        assert graphql(c, query).json() == {"data": {"rateLimit": {"used": 2}}}
        assert server.stats()["faults"] == {"502": 1, "empty": 1, "stuck": 1}


def test_graphql_requests_are_counted_and_logged(fake: FakeGitHub, client: httpx.Client) -> None:
    fake.reset_stats()
    graphql(client, "{ rateLimit { cost } }")
    graphql(client, "{ rateLimit { cost } }")
    client.get("/user")
    stats = client.get(f"{fake.origin}/_fake/stats").json()
    assert stats["by_endpoint"] == {"graphql": 2, "user": 1}
    assert stats["graphql_points"] == 2
    log = fake.log()[-3:]
    assert [e["endpoint"] for e in log] == ["graphql", "graphql", "user"]
    assert [e["method"] for e in log] == ["POST", "POST", "GET"]
    assert log[0]["body_digest"] == log[1]["body_digest"]  # the same query, the same digest
    assert "body_digest" not in log[2]
    graphql(client, "{ rateLimit { used } }")
    assert fake.log()[-1]["body_digest"] != log[0]["body_digest"]


def test_graphql_settings_have_command_line_flags() -> None:
    settings, _ = settings_from_args(
        [
            "--no-graphql",
            "--graphql-rate-limit",
            "5",
            "--graphql-heavy-nodes",
            "10",
            "--graphql-int-overflow",
            "error",
        ]
    )
    assert (
        settings.graphql,
        settings.graphql_rate_limit,
        settings.graphql_heavy_nodes,
        settings.graphql_int_overflow,
    ) == (False, 5, 10, "error")
    with pytest.raises(ValueError, match="graphql_rate_limit"):
        FakeSettings(graphql_rate_limit=-1)
