"""Reviews through GraphQL: the documents ghye sends are GitHub's, the records keep REST's shape,
and the batch pager commits exactly what is left (no fake server: answers are built here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import NoDeprecatedCustomRule, parse, specified_rules, validate

from gh_year_end.collect.pagers import PerParentPager, pager_for
from gh_year_end.collect.paging import Request, Seen
from gh_year_end.collect.review_pager import ReviewBatchPager
from gh_year_end.collect.review_probe import NEEDED, PROBE
from gh_year_end.endpoints import BY_NAME, Window
from gh_year_end.errors import GraphQLRefused, LoopingList, TransientError, Unavailable
from gh_year_end.github.answers import PageMeta
from gh_year_end.github.graphql import GraphQLAnswer, GraphQLError
from gh_year_end.github.review_query import MAX_BATCH, BatchAnswer, ReviewBatch, ReviewQuery
from gh_year_end.github.review_shape import (
    NOT_SUPPLIED,
    REVIEW_FIELDS,
    REVIEW_SELECTION,
    USER_FIELDS,
    rest_review,
    rest_user,
)
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress
from gh_year_end.storage.jsonl import SOURCE_GRAPHQL
from github_schema import github_problems, github_schema

API = "https://api.github.com"
REPO = "acme/web"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "reviews.md"


def _window() -> Window:
    return Window(since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))


# --- the documents --------------------------------------------------------------------------


def _documents() -> list[str]:
    return [
        ReviewBatch("acme", "web", ((1, None),)).document,
        ReviewBatch("acme", "web", ((1, "Y3Vyc29yOnYyOpHOAAAB"), (2, None))).document,
        ReviewBatch("acme", "web", tuple((n, None) for n in range(1, MAX_BATCH + 1))).document,
        ReviewQuery(
            tuple(ReviewBatch("acme", f"r{i}", ((1, None), (2, "x"))) for i in range(50))
        ).document,
        PROBE,
    ]


@pytest.mark.parametrize("document", _documents())
def test_every_document_ghye_sends_is_valid_for_githubs_published_schema(document: str) -> None:
    assert github_problems(document) == []


@pytest.mark.parametrize("document", _documents())
def test_no_document_reads_a_field_github_marks_deprecated(document: str) -> None:
    errors = validate(github_schema(), parse(document), [*specified_rules, NoDeprecatedCustomRule])
    assert [e.message for e in errors] == []


def test_a_reviews_id_comes_from_full_database_id_since_database_id_cannot_hold_it() -> None:
    review = github_schema().type_map["PullRequestReview"]
    fields = review.fields  # type: ignore[attr-defined]
    assert fields["databaseId"].deprecation_reason  # GitHub deprecated it: an Int, 32 bits
    assert str(fields["fullDatabaseId"].type) == "BigInt"
    assert "fullDatabaseId" in NEEDED["PullRequestReview"]
    assert not re.search(r"^\s*databaseId\b", REVIEW_SELECTION.split("author", 1)[0], re.M)
    # A BigInt arrives as a string: today's review ids are past 2**31.
    node = _node(5_000_000_123)
    assert rest_review(node, api_url=API, repo=REPO, number=7)["id"] == 5_000_000_123  # type: ignore[index]


def test_a_batch_asks_each_pull_request_once_and_continues_only_those_with_a_cursor() -> None:
    batch = ReviewBatch("acme", "web", ((5, "abc"), (9, None)))
    assert "p5: pullRequest(number: 5)" in batch.document
    assert "reviews(first: 100, after: $a0_5)" in batch.document
    assert "p9: pullRequest(number: 9) {\n      reviews(first: 100)" in batch.document
    assert batch.variables == {"o0": "acme", "n0": "web", "a0_5": "abc"}
    assert batch.halved() == ReviewBatch("acme", "web", ((5, "abc"),))
    assert ReviewBatch("acme", "web", ((5, None),)).halved() is None


def test_one_query_holds_several_repositories_and_each_gets_its_own_answer() -> None:
    web = ReviewBatch("acme", "web", ((1, None),))
    api = ReviewBatch("acme", "api", ((7, "c7"),))
    query = ReviewQuery((web, api))
    assert github_problems(query.document) == []
    assert query.size == 2
    assert query.variables == {"o0": "acme", "n0": "web", "o1": "acme", "n1": "api", "a1_7": "c7"}
    meta = PageMeta(200, f"{API}/graphql", None, None)
    answer = GraphQLAnswer(
        {"r0": {"p1": None}, "r1": {"p7": {"reviews": {}}}},
        (
            GraphQLError("NOT_FOUND", "gone", ("r0", "p1")),
            GraphQLError(None, "whole query", ()),
        ),
        meta,
    )
    first, second = query.split(answer)
    assert first.data == {"repository": {"p1": None}}
    assert [e.path for e in first.errors] == [("repository", "p1"), ()]
    assert second.data == {"repository": {"p7": {"reviews": {}}}}
    assert [e.message for e in second.errors] == ["whole query"]


# --- the REST shape ---------------------------------------------------------------------------


def _author(kind: str = "User", login: str = "octocat", uid: int = 583231) -> dict[str, Any]:
    author: dict[str, Any] = {
        "__typename": kind,
        "login": login,
        "avatarUrl": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "url": f"https://github.com/{login}",
        "databaseId": uid,
        "id": "MDQ6VXNlcjU4MzIzMQ==",
    }
    if kind == "User":
        author["isSiteAdmin"] = False
    return author


def _node(
    rid: int, *, submitted: str | None = "2025-06-01T10:00:00Z", **extra: Any
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": f"PRR_kwDO{rid}",
        "fullDatabaseId": str(rid),
        "author": _author(),
        "authorAssociation": "MEMBER",
        "body": "Looks good",
        "state": "APPROVED",
        "url": f"https://github.com/acme/web/pull/7#pullrequestreview-{rid}",
        "submittedAt": submitted,
        "commit": {"oid": "a" * 40},
    }
    node.update(extra)
    return node


def test_a_graphql_review_has_every_key_of_rests_in_its_order() -> None:
    record = rest_review(_node(11), api_url=API, repo=REPO, number=7)
    assert record is not None
    assert list(record) == [key for key, _ in REVIEW_FIELDS]
    assert record["pull_request_url"] == "https://api.github.com/repos/acme/web/pulls/7"
    assert record["_links"] == {
        "html": {"href": record["html_url"]},
        "pull_request": {"href": record["pull_request_url"]},
    }
    assert list(record["user"]) == [key for key, _ in USER_FIELDS]
    assert record["user"]["url"] == "https://api.github.com/users/octocat"
    assert record["user"]["following_url"] == (
        "https://api.github.com/users/octocat/following{/other_user}"
    )


def test_a_bots_login_gets_the_bot_suffix_rest_shows() -> None:
    user = rest_user(_author("Bot", "dependabot", 49699333), api_url=API)
    assert user is not None
    assert (user["login"], user["type"], user["site_admin"]) == ("dependabot[bot]", "Bot", False)


def test_a_review_without_author_or_commit_or_submission_keeps_rests_nulls() -> None:
    record = rest_review(
        _node(12, submitted=None, author=None, commit=None), api_url=API, repo=REPO, number=7
    )
    assert record is not None
    assert record["user"] is None
    assert record["commit_id"] is None
    assert "submitted_at" not in record  # REST leaves it out while a review is pending


def test_a_review_without_a_usable_id_is_no_record() -> None:
    assert rest_review(_node(13, fullDatabaseId=None), api_url=API, repo=REPO, number=7) is None


def test_the_docs_show_the_mapping_table_the_code_applies() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for key, source in (*REVIEW_FIELDS, *USER_FIELDS):
        assert f"| `{key}` | {source} |" in text, key
    flat = " ".join(text.split())
    for what, why in NOT_SUPPLIED:
        assert f"**{what}**: {why}" in flat.replace("`", ""), what


# --- the pager ----------------------------------------------------------------------------------


def _answer(
    batch: ReviewBatch,
    reviews: dict[int, list[int]],
    *,
    more: dict[int, str] | None = None,
    gone: tuple[int, ...] = (),
    errors: tuple[GraphQLError, ...] = (),
) -> BatchAnswer:
    """GitHub's answer to ``batch``: ``reviews`` per pull request, ``more`` the end cursor of
    those with a next page, ``gone`` answered null with NOT_FOUND."""
    repository: dict[str, Any] = {}
    found_errors = list(errors)
    for number, _ in batch.items:
        if number in gone:
            repository[f"p{number}"] = None
            found_errors.append(
                GraphQLError("NOT_FOUND", "Could not resolve", ("repository", f"p{number}"))
            )
            continue
        end = (more or {}).get(number)
        repository[f"p{number}"] = {
            "reviews": {
                "pageInfo": {"hasNextPage": end is not None, "endCursor": end},
                "nodes": [_node(rid) for rid in reviews.get(number, [])],
            }
        }
    meta = PageMeta(200, f"{API}/graphql", "REQ", None)
    return BatchAnswer(batch, GraphQLAnswer({"repository": repository}, tuple(found_errors), meta))


def _batch(request: Request | None) -> ReviewBatch:
    """The GraphQL batch a pager asks for (failing the test when it asks for none)."""
    assert request is not None
    assert request.graphql is not None
    return request.graphql


def _pager(
    parents: list[int], cursor: Cursor | None = None, seen: Seen | None = None
) -> ReviewBatchPager:
    progress = EndpointProgress(cursor=cursor or Cursor())
    return ReviewBatchPager(
        REPO, BY_NAME["reviews"], _window(), progress, seen if seen is not None else Seen(),
        parents=parents, api_url=API,
    )  # fmt: skip


def test_pull_requests_are_asked_a_hundred_at_a_time_and_the_cursor_counts_them() -> None:
    pager = _pager(list(range(1, 251)))
    first = _batch(pager.first())
    assert [n for n, _ in first.items] == list(range(1, 101))
    advance = pager.advance(_answer(first, {1: [1001], 100: [1100]}))
    assert [r["id"] for r in advance.kept] == [1001, 1100]
    assert advance.cursor == Cursor(pr_index=100)
    assert advance.source == SOURCE_GRAPHQL
    assert advance.resume_url is None
    second = _batch(advance.next)
    assert [n for n, _ in second.items] == list(range(101, 201))
    third = _batch(pager.advance(_answer(second, {})).next)
    assert [n for n, _ in third.items] == list(range(201, 251))
    last = pager.advance(_answer(third, {}))
    assert last.next is None
    assert last.cursor == Cursor(pr_index=250)


def test_a_pull_request_with_more_than_a_page_of_reviews_continues_after_its_cursor() -> None:
    pager = _pager([1, 2, 3])
    first = _batch(pager.first())
    advance = pager.advance(_answer(first, {2: [2001]}, more={2: "c2"}))
    assert advance.cursor == Cursor(pr_index=3, continuing=((2, "c2"),))
    nxt = _batch(advance.next)
    assert nxt.items == ((2, "c2"),)
    done = pager.advance(_answer(nxt, {2: [2002]}))
    assert [r["id"] for r in done.kept] == [2002]
    assert done.next is None
    assert done.cursor == Cursor(pr_index=3)


def test_a_resumed_walk_asks_the_continuing_pull_requests_first_then_the_next_ones() -> None:
    pager = _pager([1, 2, 3, 4], Cursor(pr_index=2, continuing=((1, "c1"),)))
    first = _batch(pager.first())
    assert first.items == ((1, "c1"), (3, None), (4, None))


def test_a_halved_batch_leaves_what_it_did_not_ask_for_the_next_query() -> None:
    pager = _pager([1, 2, 3, 4], Cursor(pr_index=1, continuing=((1, "c1"),)))
    first = _batch(pager.first())
    half = first.halved()
    assert half is not None
    assert half.items == ((1, "c1"), (2, None))
    advance = pager.advance(_answer(half, {1: [1002]}))
    assert advance.cursor == Cursor(pr_index=2)
    nxt = _batch(advance.next)
    assert nxt.items == ((3, None), (4, None))


def test_a_pull_request_gone_since_it_was_listed_has_no_reviews() -> None:
    pager = _pager([1, 2])
    first = _batch(pager.first())
    advance = pager.advance(_answer(first, {2: [2001]}, gone=(1,)))
    assert [r["id"] for r in advance.kept] == [2001]
    assert advance.next is None


def test_a_repository_graphql_cannot_find_fails_the_unit_as_unavailable() -> None:
    pager = _pager([1])
    first = _batch(pager.first())
    meta = PageMeta(200, f"{API}/graphql", None, None)
    error = GraphQLError("NOT_FOUND", "Could not resolve to a Repository", ("repository",))
    answer = BatchAnswer(first, GraphQLAnswer({"repository": None}, (error,), meta))
    with pytest.raises(Unavailable, match="not available through GitHub's GraphQL API"):
        pager.advance(answer)


def test_any_other_error_fails_the_unit_naming_it() -> None:
    pager = _pager([1])
    first = _batch(pager.first())
    meta = PageMeta(200, f"{API}/graphql", None, None)
    error = GraphQLError("INTERNAL", "Something went wrong", ("repository", "p1"))
    answer = BatchAnswer(first, GraphQLAnswer({"repository": {"p1": None}}, (error,), meta))
    with pytest.raises(GraphQLRefused, match=r"INTERNAL at repository\.p1: Something went wrong"):
        pager.advance(answer)


def test_a_cursor_that_does_not_move_is_a_looping_list() -> None:
    pager = _pager([1], Cursor(pr_index=1, continuing=((1, "same"),)))
    first = _batch(pager.first())
    with pytest.raises(LoopingList):
        pager.advance(_answer(first, {}, more={1: "same"}))


def test_records_already_written_or_outside_the_window_are_not_kept_again() -> None:
    pager = _pager([1], seen=Seen({1001: None}))
    first = _batch(pager.first())
    answer = _answer(first, {1: [1001, 1002]})
    nodes = answer.answer.data["repository"]["p1"]["reviews"]["nodes"]  # type: ignore[index]
    nodes.append(_node(1003, submitted="2024-12-31T23:59:59Z"))
    assert [r["id"] for r in pager.advance(answer).kept] == [1002]


def test_switching_apis_between_runs_rereads_only_the_pull_request_left_half_done() -> None:
    # GraphQL → REST: the pull requests GraphQL was continuing are read again from their front.
    rest = pager_for(
        REPO, BY_NAME["reviews"], _window(),
        EndpointProgress(cursor=Cursor(pr_index=3, continuing=((2, "c2"),))), Seen(),
        parents=[1, 2, 3, 4],
    )  # fmt: skip
    assert isinstance(rest, PerParentPager)
    first = rest.first()
    assert first is not None
    assert first.url == "/repos/acme/web/pulls/2/reviews"
    # REST → GraphQL: the pull request REST was inside is asked again from its front.
    graphql = pager_for(
        REPO, BY_NAME["reviews"], _window(),
        EndpointProgress(next_url=f"{API}/repos/acme/web/pulls/2/reviews?page=2",
                         cursor=Cursor(pr_index=1)), Seen(),
        parents=[1, 2, 3], via_graphql=API,
    )  # fmt: skip
    asked = _batch(graphql.first())
    assert asked.items == ((2, None), (3, None))


def test_an_error_inside_a_pull_requests_reviews_refuses_the_batch_not_a_field() -> None:
    pager = _pager([1])
    first = _batch(pager.first())
    answer = _answer(
        first,
        {1: [1001]},
        errors=(GraphQLError("FORBIDDEN", "no", ("repository", "p1", "reviews", "nodes", 0)),),
    )
    answer.answer.data["repository"]["p1"]["reviews"]["nodes"][0]["author"] = None  # type: ignore[index]
    with pytest.raises(GraphQLRefused, match=r"FORBIDDEN at repository\.p1\.reviews\.nodes\.0"):
        pager.advance(answer)


def test_a_null_review_is_an_odd_answer_asked_again_never_a_record_dropped() -> None:
    pager = _pager([1])
    first = _batch(pager.first())
    answer = _answer(first, {1: [1001]})
    answer.answer.data["repository"]["p1"]["reviews"]["nodes"].append(None)  # type: ignore[index]
    with pytest.raises(TransientError, match="a review that is not an object"):
        pager.advance(answer)


def test_an_answer_without_data_is_asked_again() -> None:
    pager = _pager([1])
    first = _batch(pager.first())
    meta = PageMeta(200, f"{API}/graphql", None, None)
    timeout = GraphQLError(None, "Something went wrong … may be the result of a timeout", ())
    with pytest.raises(TransientError, match="answered no data"):
        pager.advance(BatchAnswer(first, GraphQLAnswer(None, (timeout,), meta)))
