"""The fake GitHub answering ghye's repository health and commit size queries
(``gh_year_end.github.repo_query``) as GitHub does: documents valid for GitHub's schema, health
drawn from the seed, admin rights (``admin_repos``) seen through GraphQL and REST alike, the
window's commit history the same commits as REST lists, 25 repositories a point."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import NoDeprecatedCustomRule, parse, specified_rules, validate
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from gh_year_end.github.repo_query import HealthQuery, HistoryQuery, Repo
from gh_year_end.testing.fakegithub import FakeData, FakeGitHub, FakeSettings, parse_moment
from gh_year_end.testing.fakegithub.graphql_api import fake_schema
from gh_year_end.testing.fakegithub.graphql_cost import query_cost
from gh_year_end.testing.fakegithub.health import LICENSES
from github_schema import github_schema, subset_problems

TOKEN = "test-token"
OTHER_TOKEN = "member-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SINCE, UNTIL = "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
TREES = ("", ".github", "docs", ".github/workflows")
# repo-000 and repo-002 admin (002 protected), repo-004 empty, 005 404, 006 451, 007 403
SETTINGS = FakeSettings(
    token=TOKEN,
    tokens={OTHER_TOKEN: "octo-member"},
    repos=9,
    pulls=4,
    issues=4,
    issue_comments=4,
    review_comments=4,
    reviews_per_pull=1.0,
    commits=600,
    empty=(4,),
    not_found=(5,),
    blocked=(6,),
    forbidden=(7,),
    admin_repos=(0, 2),
)
ANSWERING = [0, 1, 2, 3, 8]  # neither empty nor failing


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        yield c


def repo(i: int, after: str | None = None) -> Repo:
    return Repo("acme", f"repo-{i:03d}", after)


def ask(c: httpx.Client, query: HealthQuery | HistoryQuery) -> dict[str, Any]:
    response = c.post("/graphql", json={"query": query.document, "variables": query.variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def health(c: httpx.Client, *indexes: int) -> dict[str, Any]:
    return ask(c, HealthQuery(tuple(repo(i) for i in indexes), TREES))


def rest_all(c: httpx.Client, url: str, **params: str) -> list[Any]:
    out: list[Any] = []
    response = c.get(url, params={"per_page": "100", **params})
    while True:
        assert response.status_code == 200, response.text
        out += response.json()
        nxt = response.links.get("next")
        if nxt is None:
            return out
        response = c.get(nxt["url"])


def errors_at(body: dict[str, Any], alias: str) -> list[dict[str, Any]]:
    return [e for e in body.get("errors", []) if e.get("path", [None])[0] == alias]


# --- the documents ---------------------------------------------------------------------------


def documents() -> list[str]:
    return [
        HealthQuery((repo(0), repo(1)), TREES).document,
        HistoryQuery((repo(0), repo(1, after="Y3Vyc29yOnYyOjk=")), SINCE, UNTIL).document,
    ]


@pytest.mark.parametrize("document", documents(), ids=["health", "history"])
def test_both_documents_are_valid_for_github_without_a_deprecated_field(document: str) -> None:
    rules = [*specified_rules, NoDeprecatedCustomRule]
    assert [e.message for e in validate(github_schema(), parse(document), rules)] == []
    assert [e.message for e in validate(fake_schema(), parse(document), rules)] == []


def test_the_fake_schema_stays_a_faithful_subset_without_deprecated_commit_fields() -> None:
    assert subset_problems(fake_schema(), github_schema()) == []
    commit = fake_schema().type_map["Commit"]
    assert "changedFiles" not in commit.fields  # type: ignore[attr-defined]
    assert "changedFilesIfAvailable" in commit.fields  # type: ignore[attr-defined]


@pytest.mark.parametrize("schema", [fake_schema, github_schema], ids=["fake", "github"])
def test_25_repositories_cost_one_point_a_query(schema: Any) -> None:
    repos = tuple(repo(i) for i in range(25))
    for query in (
        HealthQuery(repos, TREES),
        HistoryQuery(tuple(repo(i, after="Y3Vyc29yOnYyOjk=") for i in range(25)), SINCE, UNTIL),
    ):
        document = parse(query.document)
        operation = get_operation_ast(document)
        assert operation is not None
        coerced = get_variable_values(
            schema(), operation.variable_definitions or (), query.variables
        )
        assert not isinstance(coerced, list)
        cost = query_cost(schema(), document, operation, coerced)
        assert cost.points == 1, (type(query).__name__, cost)


def test_the_fake_charges_one_point_for_25_repositories() -> None:
    settings = FakeSettings(token=TOKEN, repos=25, commits=30, admin_repos=tuple(range(25)))
    with FakeGitHub(settings) as server:
        with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c:
            repos = tuple(repo(i) for i in range(25))
            before = server.stats()["graphql_points"]
            assert "errors" not in health(c, *range(25))
            assert server.stats()["graphql_points"] == before + 1
            assert "errors" not in ask(c, HistoryQuery(repos, SINCE, UNTIL))
            assert server.stats()["graphql_points"] == before + 2


# --- health ----------------------------------------------------------------------------------


def test_health_agrees_with_the_rest_record_and_the_trees(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    body = health(client, *ANSWERING)
    for alias, i in zip((f"r{k}" for k in range(len(ANSWERING))), ANSWERING, strict=True):
        got = body["data"][alias]
        rest = client.get(f"/repos/acme/repo-{i:03d}").json()
        assert got["nameWithOwner"] == rest["full_name"]
        assert got["isEmpty"] is False
        assert got["defaultBranchRef"]["name"] == rest["default_branch"] in ("main", "master")
        assert [n["topic"]["name"] for n in got["repositoryTopics"]["nodes"]] == rest["topics"]
        edges = got["languages"]["edges"]
        sizes = [e["size"] for e in edges]
        assert 1 <= len(edges) <= 4
        assert sizes == sorted(sizes, reverse=True)
        assert got["languages"]["totalSize"] == sum(sizes)
        assert edges[0]["node"]["name"] == rest["language"]
        licence = got["licenseInfo"]
        assert licence is None or tuple(licence.values()) in {v[:3] for v in LICENSES.values()}
        for ruleset in got["rulesets"]["nodes"]:
            assert ruleset["enforcement"] in ("ACTIVE", "EVALUATE", "DISABLED")
            assert ruleset["target"] in ("BRANCH", "TAG")
        root, github, docs, workflows = (got[f"t{j}"] for j in range(4))
        names = {e["name"]: e["type"] for e in root["entries"]}
        assert names["README.md"] == "blob"
        assert names["src"] == "tree"
        assert ("LICENSE" in names) == (licence is not None)
        assert ("CODE_OF_CONDUCT.md" in names) == (got["codeOfConduct"] is not None)
        assert (github is not None) == (names.get(".github") == "tree")
        assert (docs is not None) == (names.get("docs") == "tree")
        github_names = {e["name"] for e in github["entries"]} if github else set()
        assert (workflows is not None) == ("workflows" in github_names)
        policies = [
            folder
            for folder in (root, github, docs)
            if folder and "SECURITY.md" in {e["name"] for e in folder["entries"]}
        ]
        assert got["isSecurityPolicyEnabled"] is bool(policies)
        url = f"https://github.example/acme/repo-{i:03d}/security/policy"
        assert got["securityPolicyUrl"] == (url if policies else None)
        for folder in (root, github, docs, workflows):
            if folder is not None:
                keys = [e["name"] + ("/" if e["type"] == "tree" else "") for e in folder["entries"]]
                assert keys == sorted(keys)  # git's tree order
                assert {e["type"] for e in folder["entries"]} <= {"blob", "tree"}
        if got["codeOfConduct"] is not None:
            assert got["codeOfConduct"]["key"] == "contributor_covenant"
            assert got["codeOfConduct"]["name"] == "Contributor Covenant"
            assert got["codeOfConduct"]["url"].endswith(
                f"/blob/{rest['default_branch']}/CODE_OF_CONDUCT.md"
            )


def test_objects_resolve_trees_blobs_and_the_head_commit_like_rev_parse(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    query = """query($o: String!, $n: String!) { repository(owner: $o, name: $n) {
      root: object(expression: "HEAD:") { __typename oid ... on Tree { entries { name path
        mode oid type } } }
      readme: object(expression: "HEAD:README.md") { __typename oid }
      head: object(expression: "HEAD") { __typename oid }
      branch: object(expression: "%s:src/") { __typename }
      missing: object(expression: "HEAD:no/such/path") { oid }
      other: object(expression: "no-such-branch:") { oid } } }"""
    info = fake.data.repos[2]
    got = client.post(
        "/graphql",
        json={
            "query": query % info.default_branch,
            "variables": {"o": "acme", "n": info.name},
        },
    ).json()["data"]["repository"]
    newest = rest_all(client, "/repos/acme/repo-002/commits")[0]
    assert got["root"]["__typename"] == "Tree"
    assert got["root"]["oid"] == newest["commit"]["tree"]["sha"]
    entries = {e["name"]: e for e in got["root"]["entries"]}
    assert entries["README.md"]["mode"] == 0o100644
    assert entries["src"]["mode"] == 0o040000
    assert entries["README.md"]["path"] == "README.md"
    assert got["readme"] == {"__typename": "Blob", "oid": entries["README.md"]["oid"]}
    assert got["head"] == {"__typename": "Commit", "oid": newest["sha"]}
    assert got["branch"] == {"__typename": "Tree"}
    assert got["missing"] is None
    assert got["other"] is None


def test_languages_page_and_order_by_size(client: httpx.Client) -> None:
    query = """query($after: String) { repository(owner: "acme", name: "repo-001") {
      desc: languages(first: 1, after: $after, orderBy: {field: SIZE, direction: DESC}) {
        totalCount totalSize pageInfo { hasNextPage endCursor } edges { cursor size } }
      asc: languages(first: 100, orderBy: {field: SIZE, direction: ASC}) { edges { size } } } }"""
    sizes: list[int] = []
    after = None
    while True:
        page = client.post("/graphql", json={"query": query, "variables": {"after": after}})
        got = page.json()["data"]["repository"]
        sizes += [e["size"] for e in got["desc"]["edges"]]
        if not got["desc"]["pageInfo"]["hasNextPage"]:
            break
        after = got["desc"]["pageInfo"]["endCursor"]
    assert len(sizes) == got["desc"]["totalCount"]
    assert sum(sizes) == got["desc"]["totalSize"]
    assert sizes == sorted(sizes, reverse=True)
    assert [e["size"] for e in got["asc"]["edges"]] == sizes[::-1]


def test_admin_rights_show_protection_and_alerts_others_get_null_and_forbidden(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    protected = fake.data.health(fake.data.repos[2]).protection
    assert protected is not None  # the seed gives repo-002 a rule: the test means something
    assert fake.data.health(fake.data.repos[3]).protection is not None  # and repo-003 one
    body = health(client, 0, 3, 2)
    admin = body["data"]["r2"]["defaultBranchRef"]
    rule = admin["branchProtectionRule"]
    assert rule["pattern"] == admin["name"]
    assert set(rule) == {
        "pattern",
        "requiresApprovingReviews",
        "requiredApprovingReviewCount",
        "requiresStatusChecks",
        "requiresCodeOwnerReviews",
        "isAdminEnforced",
        "allowsForcePushes",
        "allowsDeletions",
    }
    assert isinstance(body["data"]["v0"]["hasVulnerabilityAlertsEnabled"], bool)
    assert isinstance(body["data"]["v2"]["hasVulnerabilityAlertsEnabled"], bool)
    # repo-003: protected, but this token has no admin rights on it; the rest is answered
    assert body["data"]["r1"]["defaultBranchRef"]["branchProtectionRule"] is None
    assert body["data"]["r1"]["nameWithOwner"] == "acme/repo-003"
    assert body["data"]["v1"] is None
    (refused,) = errors_at(body, "v1")
    assert refused["type"] == "FORBIDDEN"
    assert refused["path"] == ["v1", "hasVulnerabilityAlertsEnabled"]
    assert refused["message"] == "Must have admin rights to Repository."
    assert [e["path"][0] for e in body["errors"]] == ["v1"]

    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    with httpx.Client(base_url=fake.base_url, headers=other, timeout=10) as member:
        theirs = health(member, 2)
        assert theirs["data"]["r0"]["defaultBranchRef"]["branchProtectionRule"] is None
        assert theirs["data"]["v0"] is None
        assert [e["type"] for e in theirs["errors"]] == ["FORBIDDEN"]
        record = member.get("/repos/acme/repo-002").json()
        assert record["permissions"]["admin"] is False
        assert "security_and_analysis" not in record


def test_rest_records_carry_the_callers_permissions_and_an_admins_security_and_analysis(
    client: httpx.Client,
) -> None:
    listings = {
        "org": rest_all(client, "/orgs/acme/repos"),
        "user": rest_all(client, "/user/repos"),
        # not 404 and 451: every other repo answers its own record (the 403 one too)
        "one": [client.get(f"/repos/acme/repo-{i:03d}").json() for i in (0, 1, 2, 3, 4, 7, 8)],
    }
    for where, records in listings.items():
        by_name = {r["name"]: r for r in records}
        assert len(by_name) == (7 if where == "one" else 9), where
        for name, record in by_name.items():
            admin = name in ("repo-000", "repo-002")
            assert record["permissions"] == {
                "admin": admin,
                "maintain": admin,
                "push": True,
                "triage": True,
                "pull": True,
            }, (where, name)
            if not admin:
                assert "security_and_analysis" not in record, (where, name)
                continue
            analysis = record["security_and_analysis"]
            assert set(analysis) == {
                "advanced_security",
                "secret_scanning",
                "secret_scanning_push_protection",
                "dependabot_security_updates",
            }
            assert {v["status"] for v in analysis.values()} <= {"enabled", "disabled"}


def test_pull_requests_are_based_on_the_default_branch(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    for info in fake.data.repos[:4]:
        if info.status is not None or info.empty:
            continue
        for pull in rest_all(client, f"/repos/{info.full_name}/pulls", state="all"):
            assert pull["base"]["ref"] == info.default_branch
            assert pull["base"]["repo"]["default_branch"] == info.default_branch


def test_an_empty_repository_has_health_but_no_content_and_no_history(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    body = health(client, 4)
    got = body["data"]["r0"]
    assert got["nameWithOwner"] == "acme/repo-004"
    assert got["isEmpty"] is True
    assert got["defaultBranchRef"] is None
    assert got["licenseInfo"] is None
    assert got["codeOfConduct"] is None
    assert got["isSecurityPolicyEnabled"] is False
    assert got["securityPolicyUrl"] is None
    assert got["languages"] == {"totalSize": 0, "edges": []}
    assert [got[f"t{j}"] for j in range(4)] == [None] * 4
    history = ask(client, HistoryQuery((repo(4),), SINCE, UNTIL))
    assert history == {"data": {"r0": {"defaultBranchRef": None}}}
    expected = fake.expected(
        parse_moment(SINCE), parse_moment(UNTIL), extra=("repo_health", "commit_stats")
    )
    assert expected["units"]["acme/repo-004"]["repo_health"] == ["acme/repo-004"]
    assert expected["units"]["acme/repo-004"]["commit_stats"] == []


def test_unavailable_repositories_answer_no_health(client: httpx.Client) -> None:
    body = health(client, 5, 6, 7)
    assert body["data"] == {"r0": None, "v0": None, "r1": None, "v1": None, "r2": None, "v2": None}
    kinds = {(e["path"][0], e["type"]) for e in body["errors"]}
    assert kinds == {
        ("r0", "NOT_FOUND"),
        ("v0", "NOT_FOUND"),
        ("r1", "NOT_FOUND"),
        ("v1", "NOT_FOUND"),
        ("r2", "FORBIDDEN"),
        ("v2", "FORBIDDEN"),
    }


# --- commit history --------------------------------------------------------------------------


def all_history(
    c: httpx.Client, indexes: list[int], since: str = SINCE, until: str = UNTIL
) -> tuple[dict[int, list[dict[str, Any]]], int]:
    """Every commit of each repo's window, paged with one HistoryQuery per round (each repo
    after its own cursor); and the number of rounds."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in indexes}
    cursors: dict[int, str | None] = dict.fromkeys(indexes)
    rounds = 0
    while cursors:
        rounds += 1
        order = list(cursors)
        body = ask(c, HistoryQuery(tuple(repo(i, cursors[i]) for i in order), since, until))
        assert "errors" not in body, body["errors"]
        for k, i in enumerate(order):
            history = body["data"][f"r{k}"]["defaultBranchRef"]["target"]["history"]
            assert len(history["nodes"]) <= 100
            found[i] += history["nodes"]
            if history["pageInfo"]["hasNextPage"]:
                cursors[i] = history["pageInfo"]["endCursor"]
            else:
                del cursors[i]
    return found, rounds


def rest_window(c: httpx.Client, i: int, since: str = SINCE, until: str = UNTIL) -> list[Any]:
    """REST's commits of [since, until): its ``until`` is inclusive, the window's end is not."""
    listed = rest_all(c, f"/repos/acme/repo-{i:03d}/commits", since=since, until=until)
    end = parse_moment(until)
    return [r for r in listed if parse_moment(r["commit"]["committer"]["date"]) < end]


def test_history_lists_the_windows_rest_commits_in_order_page_by_page(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    found, rounds = all_history(client, [0, 1, 3])
    assert rounds >= 3  # 600 commits over 2.5 years: more than 200 in the window
    window = (parse_moment(SINCE), parse_moment(UNTIL))
    expected = fake.expected(*window, include_forks=True, extra=("commit_stats",))
    for i, nodes in found.items():
        rest = rest_window(client, i)
        assert [n["oid"] for n in nodes] == [r["sha"] for r in rest]
        dates = [r["commit"]["committer"]["date"] for r in rest]
        assert [n["committedDate"] for n in nodes] == dates
        units = expected["units"][f"acme/repo-{i:03d}"]
        assert sorted(n["oid"] for n in nodes) == sorted(units["commit_stats"])
        assert units["commit_stats"] == units["commits"]
        for node in nodes:
            assert 0 <= node["additions"] <= 500
            assert 0 <= node["deletions"] <= 300
            assert 1 <= node["changedFilesIfAvailable"] <= 20
    # the boundary commits: one exactly at since is in, one exactly at until is not
    dates = [n["committedDate"] for n in found[0]]
    assert SINCE in dates
    assert UNTIL not in dates


def test_history_of_a_repo_with_an_empty_window_is_one_empty_page(client: httpx.Client) -> None:
    body = ask(client, HistoryQuery((repo(0),), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"))
    history = body["data"]["r0"]["defaultBranchRef"]["target"]["history"]
    assert history == {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}


def test_history_follows_new_commits_and_old_cursors_stay_right() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    settings = FakeSettings(token=TOKEN, repos=3, commits=1200, admin_repos=())
    since, until = "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"
    with (
        FakeGitHub(settings, clock=now.timestamp) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
    ):
        first = ask(c, HistoryQuery((repo(0),), since, until))
        page = first["data"]["r0"]["defaultBranchRef"]["target"]["history"]
        cursor = page["pageInfo"]["endCursor"]
        summary = server.mutate(seed=3, adds=2, kinds=("commits",))
        added = summary["repos"]["acme/repo-000"]["commits"]["added"]
        assert len(added) == 2
        rest = rest_window(c, 0, since, until)
        found, _rounds = all_history(c, [0], since, until)
        assert [n["oid"] for n in found[0]] == [r["sha"] for r in rest]
        assert {n["oid"] for n in found[0][:2]} == set(added)
        assert found[0][0]["committedDate"] == "2026-11-30T12:00:00Z"
        after = ask(c, HistoryQuery((repo(0, cursor),), since, until))
        nodes = after["data"]["r0"]["defaultBranchRef"]["target"]["history"]["nodes"]
        shas = [r["sha"] for r in rest]
        start = shas.index(page["nodes"][-1]["oid"]) + 1
        assert page["pageInfo"]["hasNextPage"]
        assert start == 102
        assert [n["oid"] for n in nodes] == shas[start : start + 100]  # still "after that one"


# --- determinism and expected ------------------------------------------------------------------


def test_health_and_commit_sizes_are_the_same_on_every_run() -> None:
    kept = ("default_branch", "language", "topics", "permissions", "security_and_analysis")

    def answers(settings: FakeSettings) -> tuple[Any, ...]:
        with (
            FakeGitHub(settings) as server,
            httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c,
        ):
            return (
                health(c, 0, 1, 2, 3),
                ask(c, HistoryQuery((repo(0), repo(2)), SINCE, UNTIL)),
                {k: v for k, v in c.get("/repos/acme/repo-000").json().items() if k in kept},
            )

    small = FakeSettings(token=TOKEN, repos=4, commits=80)
    assert answers(small) == answers(small)
    other = answers(FakeSettings(token=TOKEN, repos=4, commits=80, seed=2))
    assert other[0] != answers(small)[0]


def test_health_does_not_depend_on_the_other_settings_or_change_the_items() -> None:
    few, many = FakeData(FakeSettings(repos=3)), FakeData(FakeSettings(repos=30, commits=5))
    for i in range(3):
        assert few.health(few.repos[i]) == many.health(many.repos[i])
        assert few.repos[i].default_branch == many.repos[i].default_branch
    assert {r.default_branch for r in many.repos} == {"main", "master"}


def test_expected_lists_health_and_commit_stats_only_when_asked(fake: FakeGitHub) -> None:
    window = (parse_moment(SINCE), parse_moment(UNTIL))
    plain = fake.expected(*window, include_forks=True, include_archived=True)
    assert all("repo_health" not in u and "commit_stats" not in u for u in plain["units"].values())
    extra = fake.expected(
        *window, include_forks=True, include_archived=True, extra=("repo_health", "commit_stats")
    )
    for name, units in extra["units"].items():
        answers = name not in extra["unavailable"]
        assert units["repo_health"] == ([name] if answers else [])
        assert units["commit_stats"] == units["commits"]
    assert fake.data.totals() == fake.data.totals(())
    totals = fake.data.totals(("repo_health", "commit_stats"))
    assert totals["repo_health"] == 6
    assert totals["commit_stats"] == totals["commits"]
    with pytest.raises(ValueError, match="unknown"):
        fake.expected(*window, extra=("repo_sizes",))


def test_the_control_routes_take_extra(fake: FakeGitHub) -> None:
    with httpx.Client(base_url=fake.origin, timeout=10) as c:
        got = c.get(
            "/_fake/expected",
            params={"since": SINCE, "until": UNTIL, "extra": "repo_health,commit_stats"},
        ).json()
        assert got["units"]["acme/repo-000"]["repo_health"] == ["acme/repo-000"]
        totals = c.get("/_fake/totals", params={"extra": "commit_stats"}).json()
        assert totals["commit_stats"] == totals["commits"]
        assert "repo_health" not in totals
        refused = c.get("/_fake/expected", params={"since": SINCE, "until": UNTIL, "extra": "x"})
        assert refused.status_code == 400


def test_admin_repos_is_a_command_line_setting() -> None:
    from gh_year_end.testing.fakegithub import settings_from_args

    assert settings_from_args(["--admin-repos", "1,3"])[0].admin_repos == (1, 3)
    assert settings_from_args([])[0].admin_repos == (0, 2)
    assert settings_from_args(["--admin-repos", ""])[0].admin_repos == ()
