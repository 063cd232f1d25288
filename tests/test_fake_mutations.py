"""The fake GitHub's data changing while it is served (``FakeGitHub.mutate``, ``POST
/_fake/mutate``): edits, adds, deletes and new repos, seen the same way by every list, the
GraphQL side, the ETags and ``expected``."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gh_year_end.testing.fakegithub import FakeData, FakeGitHub, FakeSettings, parse_moment

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NOW_TEXT = "2026-11-30T12:00:00Z"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)  # sees old records and the mutations alike
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
# repo-001 private, repo-003 answers 404, repo-004 archived: 000, 001 and 002 can change
SETTINGS = FakeSettings(
    token=TOKEN,
    repos=5,
    pulls=15,
    issues=15,
    issue_comments=30,
    review_comments=20,
    reviews_per_pull=2.0,
    commits=20,
    forks=(),
    archived=(4,),
    private=(1,),
    not_found=(3,),
)
CHANGEABLE = ["acme/repo-000", "acme/repo-001", "acme/repo-002"]
NEWEST_FIRST = {"state": "all", "sort": "updated", "direction": "desc", "per_page": "100"}


def clock() -> float:
    return NOW.timestamp()


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS, clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        yield c


def fetch_all(c: httpx.Client, url: str, params: dict[str, str] | None = None) -> list[Any]:
    """Every record of a listing, following Link rel="next"."""
    out: list[Any] = []
    response = c.get(url, params={"per_page": "100", **(params or {})})
    while True:
        assert response.status_code == 200, response.text
        out += response.json()
        nxt = response.links.get("next")
        if nxt is None:
            return out
        response = c.get(nxt["url"])


def ts(text: str) -> datetime:
    return parse_moment(text)


def in_window(record: dict[str, Any]) -> bool:
    return ts(record["created_at"]) < UNTIL and ts(record["updated_at"]) >= SINCE


def crawl(c: httpx.Client, repo: str) -> dict[str, list[Any]]:
    """Everything of a repo over REST, kept by the window rule."""
    pulls = [p for p in fetch_all(c, f"/repos/{repo}/pulls", {"state": "all"}) if in_window(p)]
    return {
        "pulls": sorted(p["id"] for p in pulls),
        "issues": sorted(
            i["id"]
            for i in fetch_all(c, f"/repos/{repo}/issues", {"state": "all"})
            if "pull_request" not in i and in_window(i)
        ),
        "issue_comments": sorted(
            r["id"] for r in fetch_all(c, f"/repos/{repo}/issues/comments") if in_window(r)
        ),
        "review_comments": sorted(
            r["id"] for r in fetch_all(c, f"/repos/{repo}/pulls/comments") if in_window(r)
        ),
        "reviews": sorted(
            r["id"]
            for p in pulls
            for r in fetch_all(c, f"/repos/{repo}/pulls/{p['number']}/reviews")
            if SINCE <= ts(r["submitted_at"]) < UNTIL
        ),
        "commits": sorted(
            x["sha"]
            for x in fetch_all(c, f"/repos/{repo}/commits")
            if SINCE <= ts(x["commit"]["committer"]["date"]) < UNTIL
        ),
    }


def units(expected: dict[str, Any], repo: str) -> dict[str, list[Any]]:
    """``expected``'s ids of ``repo``, each list sorted (commits come in row order)."""
    return {k: sorted(v) for k, v in expected["units"][repo].items()}


def only_repo(summary: dict[str, Any]) -> str:
    (repo,) = summary["repos"]
    return str(repo)


def pull_of_review(c: httpx.Client, repo: str, review_id: int) -> dict[str, Any]:
    """The pull request (REST record) review ``review_id`` belongs to."""
    for pull in fetch_all(c, f"/repos/{repo}/pulls", {"state": "all"}):
        reviews = fetch_all(c, f"/repos/{repo}/pulls/{pull['number']}/reviews")
        if any(r["id"] == review_id for r in reviews):
            return dict(pull)
    raise AssertionError(f"no pull request of {repo} has review {review_id}")


def graphql(c: httpx.Client, origin: str, query: str) -> dict[str, Any]:
    response = c.post(origin + "/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


# --- edits -------------------------------------------------------------------------------------


def test_an_edited_issue_moves_to_the_front_of_the_updated_desc_list_and_changes_its_etag(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    url = "/repos/acme/repo-000/issues"
    before = client.get(url, params=NEWEST_FIRST)
    summary = fake.mutate(seed=1, edits=1, kinds=("issues",))
    (edited,) = summary["repos"]["acme/repo-000"]["issues"]["edited"]
    after = client.get(url, params=NEWEST_FIRST)

    front = after.json()[0]
    old = next(i for i in before.json() if i["id"] == edited)
    assert before.json()[0]["id"] != edited
    assert front["id"] == edited
    assert "pull_request" not in front
    assert (front["number"], front["created_at"]) == (old["number"], old["created_at"])
    assert front["updated_at"] == NOW_TEXT
    assert front["title"] == old["title"] + " (edit 1)"
    assert front["body"] == old["body"] + " (edit 1)"
    assert after.headers["etag"] != before.headers["etag"]
    stale = client.get(url, params=NEWEST_FIRST, headers={"If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200
    fresh = client.get(url, params=NEWEST_FIRST, headers={"If-None-Match": after.headers["etag"]})
    assert fresh.status_code == 304
    assert summary["endpoints"]["issues"]["edited"] == sorted(
        i for r in summary["repos"].values() for i in r["issues"]["edited"]
    )


def test_a_list_the_mutation_did_not_change_keeps_its_etag(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    targets = [
        f"/repos/{repo}/{path}"
        for repo in CHANGEABLE
        for path in ("issues?state=all", "commits", "pulls/comments")
    ]
    tags = {t: client.get(t).headers["etag"] for t in targets}
    repo = only_repo(fake.mutate(seed=2, edits=1, repos=1, kinds=("issues",)))
    for target, tag in tags.items():
        changed = target == f"/repos/{repo}/issues?state=all"
        status = client.get(target, headers={"If-None-Match": tag}).status_code
        assert status == (200 if changed else 304), target


def test_since_finds_edited_and_added_comments(fake: FakeGitHub, client: httpx.Client) -> None:
    summary = fake.mutate(
        seed=3, edits=2, adds=1, repos=1, kinds=("issue_comments", "review_comments")
    )
    repo = only_repo(summary)
    for endpoint, path in (("issue_comments", "issues"), ("review_comments", "pulls")):
        changes = summary["repos"][repo][endpoint]
        found = fetch_all(client, f"/repos/{repo}/{path}/comments", {"since": NOW_TEXT})
        assert sorted(c["id"] for c in found) == sorted(changes["edited"] + changes["added"])
        for comment in found:
            assert comment["updated_at"] == NOW_TEXT
            if comment["id"] in changes["edited"]:
                assert comment["body"].endswith("(edit 1)")
                assert ts(comment["created_at"]) < NOW
            else:
                assert comment["created_at"] == NOW_TEXT
    # a new comment is activity on its issue or pull request: it moved too
    moved = fetch_all(client, f"/repos/{repo}/issues", {"state": "all", "since": NOW_TEXT})
    bumped = summary["bumped"]["issues"] + summary["bumped"]["pulls"]
    assert moved
    assert len(moved) == len(bumped)


def test_an_edited_review_changes_its_body_and_bumps_its_pull_request(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    summary = fake.mutate(seed=4, edits=1, repos=1, kinds=("reviews",))
    repo = only_repo(summary)
    (review_id,) = summary["repos"][repo]["reviews"]["edited"]
    pull = pull_of_review(client, repo, review_id)
    assert pull["updated_at"] == NOW_TEXT
    assert summary["bumped"]["pulls"] == [pull["id"]]
    reviews = fetch_all(client, f"/repos/{repo}/pulls/{pull['number']}/reviews")
    review = next(r for r in reviews if r["id"] == review_id)
    assert review["body"].endswith("(edit 1)")
    assert ts(review["submitted_at"]) < NOW  # REST has no updated_at for a review


def test_commits_are_immutable_and_pull_requests_and_commits_are_not_deleted(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    totals = fake.data.totals()
    tag = client.get("/repos/acme/repo-000/commits").headers["etag"]
    summary = fake.mutate(seed=5, edits=2, deletes=2, kinds=("pulls", "commits"))
    assert summary["endpoints"]["commits"] == {"edited": [], "added": [], "deleted": []}
    assert summary["endpoints"]["pulls"]["deleted"] == []
    assert len(summary["endpoints"]["pulls"]["edited"]) == 2 * len(CHANGEABLE)
    assert len(summary["not_modelled"]) == 3
    assert any("immutable" in note for note in summary["not_modelled"])
    assert fake.data.totals() == totals
    commits = client.get("/repos/acme/repo-000/commits", headers={"If-None-Match": tag})
    assert commits.status_code == 304


# --- deletes -------------------------------------------------------------------------------------


def test_a_deleted_comment_is_gone_from_lists_and_expected(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    totals = fake.data.totals()
    expected_before = fake.expected(*EVER)
    comments = fetch_all(client, "/repos/acme/repo-000/issues/comments")
    counts = {
        i["number"]: i["comments"]
        for i in fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    }

    summary = fake.mutate(seed=6, deletes=2, kinds=("issue_comments", "review_comments"))

    for endpoint, path in (("issue_comments", "issues"), ("review_comments", "pulls")):
        deleted = set(summary["endpoints"][endpoint]["deleted"])
        assert len(deleted) == 2 * len(CHANGEABLE)
        assert fake.data.totals()[endpoint] == totals[endpoint] - len(deleted)
        for repo in CHANGEABLE:
            listed = {c["id"] for c in fetch_all(client, f"/repos/{repo}/{path}/comments")}
            assert listed
            assert not listed & deleted
            before = set(expected_before["units"][repo][endpoint])
            after = set(fake.expected(*EVER)["units"][repo][endpoint])
            assert after == before - deleted
    gone = set(summary["repos"]["acme/repo-000"]["issue_comments"]["deleted"])
    lost: Counter[int] = Counter()
    for comment in comments:
        if comment["id"] in gone:
            lost[int(comment["issue_url"].rsplit("/", 1)[1])] += 1
    now = {
        i["number"]: i["comments"]
        for i in fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    }
    assert now == {n: c - lost[n] for n, c in counts.items()}


def test_a_deleted_issue_takes_its_comments_with_it(fake: FakeGitHub, client: httpx.Client) -> None:
    comments = fetch_all(client, "/repos/acme/repo-000/issues/comments")
    summary = fake.mutate(seed=7, deletes=1, kinds=("issues",))
    changes = summary["repos"]["acme/repo-000"]
    (issue_id,) = changes["issues"]["deleted"]
    issues = fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    assert issue_id not in {i["id"] for i in issues}
    numbers = {i["number"] for i in issues}
    missing = next(n for n in range(1, max(numbers) + 1) if n not in numbers)
    with_it = sorted(c["id"] for c in comments if int(c["issue_url"].rsplit("/", 1)[1]) == missing)
    assert changes["issue_comments"]["deleted"] == with_it
    left = {c["id"] for c in fetch_all(client, "/repos/acme/repo-000/issues/comments")}
    assert not left & set(with_it)
    units = fake.expected(*EVER)["units"]["acme/repo-000"]
    assert issue_id not in units["issues"]
    assert not set(units["issue_comments"]) & set(with_it)


# --- adds ----------------------------------------------------------------------------------------


def test_added_items_take_ids_above_every_other_and_the_next_numbers(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    before = fake.expected(*EVER)["units"]["acme/repo-000"]
    tickets = fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    last_number = max(t["number"] for t in tickets)
    ticket_ids = [t["id"] for t in tickets]
    listing = client.get("/orgs/acme/repos")  # every repo's listing record made before

    summary = fake.mutate(seed=8, adds=2)
    added = {k: v["added"] for k, v in summary["repos"]["acme/repo-000"].items()}

    assert sorted(summary["repos"]) == CHANGEABLE  # never the 404 or the archived repo
    assert min(added["issues"]) > max(ticket_ids)
    for endpoint in ("pulls", "issue_comments", "review_comments", "reviews"):
        assert len(added[endpoint]) == 2
        assert min(added[endpoint]) > max(before[endpoint]), endpoint
    issues = {
        i["id"]: i for i in fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    }
    new_tickets = [issues[i] for i in added["issues"]] + [
        p
        for p in fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "all"})
        if p["id"] in added["pulls"]
    ]
    assert sorted(t["number"] for t in new_tickets) == list(range(last_number + 1, last_number + 5))
    for ticket in new_tickets:
        assert (ticket["created_at"], ticket["state"]) == (NOW_TEXT, "open")
    commits = client.get("/repos/acme/repo-000/commits").json()
    assert {c["sha"] for c in commits[:2]} == set(added["commits"])  # newest first
    assert {c["commit"]["committer"]["date"] for c in commits[:2]} == {NOW_TEXT}
    repo = client.get("/repos/acme/repo-000").json()
    assert repo["pushed_at"] == repo["updated_at"] == NOW_TEXT  # commits were pushed
    assert summary["pushed"] == CHANGEABLE
    listed = {r["full_name"]: r["pushed_at"] for r in fetch_all(client, "/orgs/acme/repos")}
    assert sorted(name for name, pushed in listed.items() if pushed == NOW_TEXT) == CHANGEABLE
    stale = client.get("/orgs/acme/repos", headers={"If-None-Match": listing.headers["etag"]})
    assert stale.status_code == 200


@pytest.mark.parametrize("bump", [True, False])
def test_a_new_review_bumps_its_pull_request_unless_told_not_to(
    fake: FakeGitHub, client: httpx.Client, bump: bool
) -> None:
    summary = fake.mutate(seed=9, adds=1, repos=1, kinds=("reviews",), bump_pull_on_review=bump)
    repo = only_repo(summary)
    (review_id,) = summary["repos"][repo]["reviews"]["added"]
    pull = pull_of_review(client, repo, review_id)
    reviews = fetch_all(client, f"/repos/{repo}/pulls/{pull['number']}/reviews")
    assert reviews[-1]["id"] == review_id  # chronological: the newest last
    assert reviews[-1]["submitted_at"] == NOW_TEXT
    assert (pull["updated_at"] == NOW_TEXT) is bump
    assert summary["bumped"]["pulls"] == ([pull["id"]] if bump else [])
    window = fake.expected(SINCE, UNTIL)["units"][repo]
    assert (review_id in window["reviews"]) is (pull["id"] in window["pulls"])


def test_a_new_repo_appears_in_the_org_listing_and_expected(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    public = client.get("/orgs/acme").json()["public_repos"]
    summary = fake.mutate(new_repos=1)
    assert summary["new_repos"] == ["acme/repo-005"]

    newest = client.get("/orgs/acme/repos").json()[0]  # sorted by created, newest first
    assert newest["full_name"] == "acme/repo-005"
    assert newest["created_at"] == newest["pushed_at"] == NOW_TEXT
    assert client.get("/orgs/acme").json()["public_repos"] == public + 1
    expected = fake.expected(SINCE, UNTIL)
    assert "acme/repo-005" in expected["repos"]
    new = units(expected, "acme/repo-005")
    assert all(new.values())
    assert new == crawl(client, "acme/repo-005")
    over_http = client.get(
        fake.origin + "/_fake/expected",
        params={"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"},
    ).json()
    assert over_http == expected
    # its items are those a fake with one more repo would have had
    twin = FakeData(FakeSettings(**{**SETTINGS.__dict__, "repos": 6}))
    assert units(twin.expected(SINCE, UNTIL), "acme/repo-005") == new
    data = graphql(
        client, fake.origin, '{ repository(owner: "acme", name: "repo-005") { databaseId } }'
    )
    assert data["repository"]["databaseId"] == newest["id"]


# --- GraphQL ------------------------------------------------------------------------------------


def test_graphql_serves_reviews_added_by_a_mutation(fake: FakeGitHub, client: httpx.Client) -> None:
    summary = fake.mutate(seed=10, adds=2, edits=1, deletes=1, repos=1, kinds=("reviews",))
    repo = only_repo(summary)
    owner, name = repo.split("/")
    changes = summary["repos"][repo]["reviews"]
    numbers = {
        pull_of_review(client, repo, r)["number"] for r in changes["added"] + changes["edited"]
    }
    for number in sorted(numbers):
        rest = fetch_all(client, f"/repos/{repo}/pulls/{number}/reviews")
        data = graphql(
            client,
            fake.origin,
            f'{{ repository(owner: "{owner}", name: "{name}") {{ pullRequest(number: {number}) '
            "{ reviews(first: 100) { totalCount nodes { fullDatabaseId body submittedAt "
            "updatedAt } } } } }",
        )
        reviews = data["repository"]["pullRequest"]["reviews"]
        assert reviews["totalCount"] == len(rest)
        nodes = reviews["nodes"]
        assert [int(n["fullDatabaseId"]) for n in nodes] == [r["id"] for r in rest]
        assert [n["body"] for n in nodes] == [r["body"] for r in rest]
        for node, record in zip(nodes, rest, strict=True):
            rid = record["id"]
            assert node["submittedAt"] == record["submitted_at"]
            assert (node["updatedAt"] == NOW_TEXT) is (rid in changes["edited"] + changes["added"])
    deleted = set(changes["deleted"])
    assert not deleted & {r for n in numbers for r in changes["added"]}


def test_graphql_counts_follow_the_changed_data(fake: FakeGitHub, client: httpx.Client) -> None:
    summary = fake.mutate(seed=11, edits=2, adds=2, deletes=2)
    expected = fake.expected(SINCE, UNTIL)["units"]
    for pull_id in summary["repos"]["acme/repo-002"]["pulls"]["added"]:
        rest = next(
            p
            for p in fetch_all(client, "/repos/acme/repo-002/pulls", {"state": "all"})
            if p["id"] == pull_id
        )
        data = graphql(
            client,
            fake.origin,
            '{ repository(owner: "acme", name: "repo-002") { pullRequest(number: '
            f"{rest['number']}) {{ id number reviews(first: 5) {{ totalCount }} }} }} }}",
        )
        pull = data["repository"]["pullRequest"]
        assert (pull["id"], pull["number"]) == (rest["node_id"], rest["number"])
    window = "created:<2027-01-01T00:00:00Z updated:>=2026-01-01T00:00:00Z"
    for repo in CHANGEABLE:
        owner, name = repo.split("/")
        data = graphql(
            client,
            fake.origin,
            f'{{ pulls: search(query: "repo:{repo} is:pr {window}", type: ISSUE) {{ issueCount }}'
            f' issues: search(query: "repo:{repo} is:issue {window}", type: ISSUE) {{ issueCount }}'
            f' repository(owner: "{owner}", name: "{name}") {{ defaultBranchRef {{ target {{'
            ' ... on Commit { oid history(since: "2026-01-01T00:00:00Z", '
            'until: "2027-01-01T00:00:00Z") { totalCount } } } } } }',
        )
        assert data["pulls"]["issueCount"] == len(expected[repo]["pulls"])
        assert data["issues"]["issueCount"] == len(expected[repo]["issues"])
        target = data["repository"]["defaultBranchRef"]["target"]
        assert target["history"]["totalCount"] == len(expected[repo]["commits"])
        assert target["oid"] == client.get(f"/repos/{repo}/commits").json()[0]["sha"]


# --- the whole dataset --------------------------------------------------------------------------


def test_expected_matches_a_crawl_after_a_mixed_mutation(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    summary = fake.mutate(seed=12, edits=3, adds=2, deletes=2, new_repos=2)
    assert summary["new_repos"] == ["acme/repo-005", "acme/repo-006"]
    expected = fake.expected(SINCE, UNTIL)
    listed = fetch_all(client, "/orgs/acme/repos")
    assert expected["repos"] == sorted(r["full_name"] for r in listed if not r["archived"])
    for repo in expected["repos"]:
        if repo in expected["unavailable"]:
            continue
        assert units(expected, repo) == crawl(client, repo), repo
    every = fake.expected(*EVER, include_forks=True, include_archived=True)
    counted = {k: sum(len(u[k]) for u in every["units"].values()) for k in fake.data.totals()}
    assert client.get(fake.origin + "/_fake/totals").json() == counted


def test_mutate_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        fake = FakeGitHub(SETTINGS, clock=clock)  # not started: mutate runs in place
        summary = fake.mutate(seed=seed, edits=2, adds=1, deletes=1, new_repos=1, repos=2)
        return summary, fake.expected(SINCE, UNTIL)

    first, again, other = run(13), run(13), run(14)
    assert first == again
    assert first[0]["repos"] != other[0]["repos"]


def test_ids_are_never_reused_after_a_delete(fake: FakeGitHub) -> None:
    every_id = set(fake.expected(*EVER)["units"]["acme/repo-000"]["issue_comments"])
    fake.mutate(seed=15, deletes=len(every_id), kinds=("issue_comments",))  # all of them
    assert fake.expected(*EVER)["units"]["acme/repo-000"]["issue_comments"] == []
    added = fake.mutate(seed=15, adds=3, kinds=("issue_comments",))["endpoints"]
    assert min(added["issue_comments"]["added"]) > max(every_id)


# --- the control route, the clock, threads --------------------------------------------------------


def test_the_control_route_mutates_and_answers_the_summary(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    query = "seed=16&edits=1&adds=1&repos=2&kinds=issues,%20reviews&bump_pull_on_review=false"
    answer = client.post(fake.origin + f"/_fake/mutate?{query}")
    assert answer.status_code == 200, answer.text
    twin = FakeGitHub(SETTINGS, clock=clock)
    assert answer.json() == twin.mutate(
        seed=16, edits=1, adds=1, repos=2, kinds=("issues", "reviews"), bump_pull_on_review=False
    )
    assert answer.json()["bumped"]["pulls"] == []
    under_prefix = client.post(fake.url("/_fake/mutate?seed=17&edits=1"))
    assert under_prefix.status_code == 200


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("edits=two", "edits"),
        ("edits=-1", "edits"),
        ("kinds=issues,gists", "gists"),
        ("bump_pull_on_review=maybe", "bump_pull_on_review"),
        ("edit=1", "edit"),
    ],
)
def test_the_control_route_refuses_what_it_cannot_read(
    fake: FakeGitHub, client: httpx.Client, query: str, word: str
) -> None:
    answer = client.post(fake.origin + f"/_fake/mutate?{query}")
    assert answer.status_code == 400
    assert word in answer.json()["message"]
    assert fake.data.generation == 0


def test_mutations_happen_at_now_never_before_the_data_or_the_last_one() -> None:
    moments = iter([datetime(2026, 3, 1, tzinfo=UTC), NOW, datetime(2026, 11, 1, tzinfo=UTC)])
    now = [next(moments)]

    def moving() -> float:  # the clock reads whatever moment the test has set
        return now[0].timestamp()

    with FakeGitHub(SETTINGS, clock=moving) as fake:
        answer = httpx.post(fake.origin + "/_fake/mutate?edits=1")
        assert answer.status_code == 400
        assert "before its data's end" in answer.json()["message"]
        now[0] = next(moments)
        assert fake.mutate(edits=1)["at"] == NOW_TEXT
        now[0] = next(moments)  # the clock went back
        with pytest.raises(ValueError, match="last mutation"):
            fake.mutate(edits=1)
        assert fake.data.generation == 1


def test_mutate_from_the_test_thread_while_requests_are_served(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def hammer() -> None:
        with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
            while not stop.is_set():
                for path in ("issues", "pulls", "issues/comments", "commits"):
                    statuses.append(
                        c.get(f"/repos/acme/repo-000/{path}", params=NEWEST_FIRST).status_code
                    )

    def served(more: int) -> None:
        """Wait until the worker has had ``more`` answers (the mutations interleave with them)."""
        goal = len(statuses) + more
        deadline = time.monotonic() + 10
        while len(statuses) < goal and time.monotonic() < deadline:
            time.sleep(0.001)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for seed in range(20, 30):
            served(4)
            fake.mutate(seed=seed, edits=1, adds=1, deletes=1, repos=1)
        served(4)
    finally:
        stop.set()
        worker.join()
    assert len(statuses) >= 44
    assert set(statuses) == {200}
    expected = fake.expected(SINCE, UNTIL)
    for repo in CHANGEABLE:
        assert units(expected, repo) == crawl(client, repo), repo
