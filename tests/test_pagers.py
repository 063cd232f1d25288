"""The pagers' decisions, one transport at a time: what is asked first, what a page means —
records kept, what the checkpoint commits, what comes next (no I/O; pages are built here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gh_year_end.collect.pagers import (
    CLOCK_SLACK,
    CatchUpPager,
    KeysetPager,
    ListPager,
    PerParentPager,
    pager_for,
)
from gh_year_end.collect.paging import Seen
from gh_year_end.endpoints import BY_NAME, Window
from gh_year_end.github.answers import Page, PageMeta
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress

WINDOW = Window(since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPO = "acme/web"


def page(records: list[dict[str, Any]], next_url: str | None = None, url: str = "u") -> Page:
    return Page(records, next_url, PageMeta(200, url, None, None))


def item(
    n: int, updated: str = "2025-06-01T00:00:00Z", created: str = "2025-01-02T00:00:00Z"
) -> dict[str, Any]:
    return {"id": n, "number": n, "created_at": created, "updated_at": updated}


def review(n: int, submitted: str = "2025-06-01T00:00:00Z") -> dict[str, Any]:
    return {"id": n, "submitted_at": submitted}


def test_a_list_starts_at_its_front_with_its_query_and_follows_next_links() -> None:
    pager = ListPager(REPO, BY_NAME["issues"], WINDOW, EndpointProgress(), Seen())
    first = pager.first()
    assert first is not None
    assert first.url == "/repos/acme/web/issues"
    assert first.params == {
        "state": "all",
        "since": "2025-01-01T00:00:00Z",
        "sort": "updated",
        "direction": "asc",
        "per_page": "100",
    }
    step = pager.advance(page([item(1), item(2)], next_url="https://api/x?page=2"))
    assert [r["id"] for r in step.kept] == [1, 2]
    assert step.next is not None
    assert (step.next.url, step.next.params) == ("https://api/x?page=2", None)
    assert step.resume_url == "https://api/x?page=2"
    last = pager.advance(page([item(2), item(3)]))  # a record the list shifted onto this page
    assert [r["id"] for r in last.kept] == [3]
    assert last.next is None


def test_a_list_resumes_at_the_committed_url_or_is_only_marked_complete() -> None:
    resumed = ListPager(
        REPO, BY_NAME["commits"], WINDOW, EndpointProgress(next_url="https://api/c?page=3"), Seen()
    )
    first = resumed.first()
    assert first is not None
    assert (first.url, first.params, first.key, first.empty_on_409) == (
        "https://api/c?page=3",
        None,
        "sha",
        True,
    )
    done = ListPager(REPO, BY_NAME["commits"], WINDOW, EndpointProgress(pages_collected=2), Seen())
    assert done.first() is None  # every page committed, only the mark was missing


def test_records_outside_the_window_are_not_kept() -> None:
    pager = ListPager(REPO, BY_NAME["issues"], WINDOW, EndpointProgress(), Seen())
    step = pager.advance(
        page([item(1, updated="2024-12-31T23:59:59Z"), item(2, created="2026-01-01T00:00:00Z")])
    )
    assert step.kept == []


def test_keyset_continues_from_the_last_records_update_time() -> None:
    pager = KeysetPager(REPO, BY_NAME["issue_comments"], WINDOW, EndpointProgress(), Seen())
    step = pager.advance(
        page(
            [item(1, updated="2025-02-01T00:00:00Z"), item(2, updated="2025-03-01T00:00:00Z")],
            next_url="https://api/ic?page=2",
        )
    )
    assert step.next is not None
    parts = urlsplit(step.next.url)
    assert parts.path == "/repos/acme/web/issues/comments"
    assert parse_qs(parts.query)["since"] == ["2025-03-01T00:00:00Z"]
    # A page that all shares one moment cannot advance by time: GitHub's next link is followed.
    same = pager.advance(page([item(3), item(4)], next_url="https://api/ic?page=3"))
    assert same.next is not None
    assert same.next.url == "https://api/ic?page=3"


def test_catch_up_notes_when_it_began_and_ends_a_long_walk_with_a_pass_from_the_front() -> None:
    pager = CatchUpPager(
        REPO, BY_NAME["pulls"], WINDOW, EndpointProgress(), Seen(), now=lambda: NOW
    )
    began = (NOW - CLOCK_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ")
    one = pager.advance(page([item(1), item(2)], next_url="https://api/p?page=2"))
    assert one.cursor == Cursor(started_at=began)
    two = pager.advance(page([item(3)]))  # the last page of the first pass
    assert two.new_pass
    assert two.cursor == Cursor(started_at=began, catch_up_from=began)
    assert two.next is not None
    assert two.next.url.startswith("/repos/acme/web/pulls?")
    assert two.resume_url == two.next.url  # a resume continues the catch-up pass
    # The pass reads down to the moment the walk began, then the unit ends.
    three = pager.advance(page([item(9, updated="2026-02-01T00:00:00Z"), item(1)]))
    assert [r["id"] for r in three.kept] == [9]
    assert three.next is None


def test_a_one_page_walk_needs_no_catch_up() -> None:
    pager = CatchUpPager(
        REPO, BY_NAME["pulls"], WINDOW, EndpointProgress(), Seen(), now=lambda: NOW
    )
    assert pager.advance(page([item(1)])).next is None


def test_a_newest_first_list_stops_once_a_page_ends_before_the_window() -> None:
    pager = CatchUpPager(
        REPO, BY_NAME["pulls"], WINDOW, EndpointProgress(), Seen(), now=lambda: NOW
    )
    step = pager.advance(
        page([item(1), item(2, updated="2024-06-01T00:00:00Z")], next_url="https://api/p?page=2")
    )
    assert step.next is None


def test_an_empty_page_never_drops_a_next_link() -> None:
    pager = CatchUpPager(
        REPO, BY_NAME["pulls"], WINDOW, EndpointProgress(), Seen(), now=lambda: NOW
    )
    step = pager.advance(page([], next_url="https://api/p?page=2"))
    assert step.next is not None
    assert step.next.url == "https://api/p?page=2"


def test_per_parent_walks_each_parents_list_and_a_parent_gone_has_nothing() -> None:
    pager = PerParentPager(
        REPO, BY_NAME["reviews"], WINDOW, EndpointProgress(), Seen(), parents=[5, 8, 9]
    )
    first = pager.first()
    assert first is not None
    assert (first.url, first.params, first.gone_is_empty) == (
        "/repos/acme/web/pulls/5/reviews",
        {"per_page": "100"},
        True,
    )
    more = pager.advance(page([review(1)], next_url="https://api/r5?page=2"))
    assert more.next is not None
    assert (more.next.url, more.resume_url, more.cursor, more.new_pass) == (
        "https://api/r5?page=2",
        "https://api/r5?page=2",
        Cursor(pr_index=0),
        False,
    )
    done5 = pager.advance(page([review(2)]))
    assert done5.next is not None
    assert (done5.next.url, done5.resume_url, done5.cursor, done5.new_pass) == (
        "/repos/acme/web/pulls/8/reviews",
        None,
        Cursor(pr_index=1),
        True,
    )
    gone8 = pager.advance(None)  # pull request 8 was deleted since it was listed
    assert gone8.kept == []
    assert gone8.cursor == Cursor(pr_index=2)
    last = pager.advance(page([review(3, submitted="2024-01-01T00:00:00Z")]))
    assert last.kept == []  # submitted before the window
    assert last.next is None


def test_per_parent_resumes_at_its_parent_and_committed_url() -> None:
    progress = EndpointProgress(next_url="https://api/r8?page=2", cursor=Cursor(pr_index=1))
    pager = pager_for(REPO, BY_NAME["reviews"], WINDOW, progress, Seen(), parents=[5, 8])
    first = pager.first()
    assert first is not None
    assert first.url == "https://api/r8?page=2"
    done = pager_for(
        REPO, BY_NAME["reviews"], WINDOW, EndpointProgress(cursor=Cursor(pr_index=2)), Seen(),
        parents=[5, 8],
    )  # fmt: skip
    assert done.first() is None


def test_the_endpoint_table_refuses_a_rule_its_pager_would_ignore() -> None:
    import dataclasses

    import pytest

    pulls, reviews = BY_NAME["pulls"], BY_NAME["reviews"]
    with pytest.raises(ValueError, match="catch-up pager only"):
        dataclasses.replace(BY_NAME["issues"], stop_early=pulls.stop_early)
    with pytest.raises(ValueError, match="has a parent"):
        dataclasses.replace(reviews, depends_on=None)


def _catch_up() -> CatchUpPager:
    return CatchUpPager(REPO, BY_NAME["pulls"], WINDOW, EndpointProgress(), Seen(), now=lambda: NOW)
