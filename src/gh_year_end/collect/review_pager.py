"""Reviews through GraphQL (see :mod:`gh_year_end.github.review_query` for the query and
:mod:`gh_year_end.github.review_shape` for the REST shape of its records).

:class:`ReviewBatchPager` is the reviews unit's pager (the :class:`~.pagers.Pager` protocol):
each batch's records and the cursor that says what is left — the index of the next pull request
never asked for, and the pull requests whose reviews continue (number, end cursor) — commit
together, so a kill at any instant resumes at the batch that did not commit, and the id check
drops what a repeated batch brings again. A batch GitHub gives up on (502/504) is halved and
asked again (:meth:`ReviewBatch.halved`); the pager reads what was answered from the answer's
batch, so a halved one leaves the rest for the next query.
"""

from __future__ import annotations

from typing import Any

from gh_year_end.collect.paging import Advance, Request, Seen, new_records
from gh_year_end.endpoints import Endpoint, Window
from gh_year_end.errors import (
    Forbidden,
    GraphQLRefused,
    LoopingList,
    TransientError,
    Unavailable,
)
from gh_year_end.github.answers import Page
from gh_year_end.github.graphql import GraphQLAnswer, GraphQLError
from gh_year_end.github.review_query import MAX_BATCH, BatchAnswer, ReviewBatch
from gh_year_end.github.review_shape import rest_review
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress
from gh_year_end.storage.jsonl import SOURCE_GRAPHQL


class ReviewBatchPager:
    """The reviews unit through GraphQL: see the module docstring."""

    def __init__(
        self,
        repo: str,
        ep: Endpoint,
        window: Window,
        progress: EndpointProgress,
        seen: Seen,
        *,
        parents: list[int],
        api_url: str,
        batch_size: int = MAX_BATCH,
    ) -> None:
        self.repo, self.ep, self.window, self.seen = repo, ep, window, seen
        self.owner, _, self.name = repo.partition("/")
        self.parents = parents
        self.api_url = api_url
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        cursor = progress.cursor
        self.index = cursor.pr_index or 0
        # A REST walk stopped inside a pull request's list (its next URL committed): that pull
        # request is read again from its front here; the id check drops what was written.
        self.continuing: list[tuple[int, str]] = [(n, c) for n, c in cursor.continuing]

    def first(self) -> Request | None:
        """See :class:`~.pagers.Pager`."""
        return self._request()

    def _request(self) -> Request | None:
        items: list[tuple[int, str | None]] = list(self.continuing[: self.batch_size])
        room = self.batch_size - len(items)
        items += [(n, None) for n in self.parents[self.index : self.index + room]]
        if not items:
            return None
        return Request("graphql", graphql=ReviewBatch(self.owner, self.name, tuple(items)))

    def advance(self, page: Page | BatchAnswer | None) -> Advance:
        """See :class:`~.pagers.Pager`: ``page`` is the :class:`BatchAnswer` of the request."""
        if not isinstance(page, BatchAnswer):
            raise TypeError("the GraphQL reviews pager reads BatchAnswers")
        batch, answer = page.batch, page.answer
        repository = self._repository(answer)
        self._no_partial_answer(answer)
        asked = {n for n, _ in batch.items}
        records: list[dict[str, Any]] = []
        continuing = [(n, c) for n, c in self.continuing if n not in asked]
        for number, after in batch.items:
            pull = repository.get(f"p{number}")
            if pull is None:
                self._pull_missing(answer, number)
                continue  # gone since it was listed: nothing to collect
            nodes, next_cursor = self._reviews(pull, number, after)
            records += [self._record(node, number) for node in nodes]
            if next_cursor is not None:
                continuing.append((number, next_cursor))
        self.index += sum(1 for _, after in batch.items if after is None)  # never asked before
        self.continuing = continuing
        kept = new_records(records, self.ep, self.window, self.seen)
        cursor = Cursor(pr_index=self.index, continuing=tuple(continuing))
        return Advance(kept, self._request(), None, cursor, new_pass=True, source=SOURCE_GRAPHQL)

    # --- reading the answer ---------------------------------------------------------------

    def _repository(self, answer: GraphQLAnswer) -> dict[str, Any]:
        data = answer.data
        if data is None:
            # The query failed as a whole (GitHub timed out, or had an error of its own).
            detail = "; ".join(e.describe() for e in answer.errors[:3]) or "no data, no error"
            raise TransientError(
                f"GitHub's GraphQL API answered no data for the reviews of {self.repo} "
                f"({detail}) — `ghye resume` asks again"
            )
        repository = data.get("repository")
        if isinstance(repository, dict):
            return repository
        if repository is None:
            found = _error_at(answer.errors, ("repository",))
            if found is not None and found.type == "NOT_FOUND":
                raise Unavailable(
                    f"{self.repo} is not available through GitHub's GraphQL API "
                    f"({found.message}) — it was removed, or the credential cannot see it",
                    status=404,
                )
            if found is not None and found.type == "FORBIDDEN":
                raise Forbidden(
                    f"GitHub refused the reviews of {self.repo} ({found.message}) — the "
                    "credential lacks a permission this needs",
                    status=403,
                )
        raise _refused(self.repo, answer.errors)

    def _no_partial_answer(self, answer: GraphQLAnswer) -> None:
        """An error inside a pull request's reviews (a review, its author, its commit) means
        that part of the answer is missing or null: the whole batch is refused rather than a
        record written without it. (A pull request gone, NOT_FOUND at its alias, is read by
        :meth:`_pull_missing`.)"""
        deeper = [e for e in answer.errors if len(e.path) > 2 and e.path[0] == "repository"]
        if deeper:
            raise _refused(self.repo, tuple(deeper))

    def _pull_missing(self, answer: GraphQLAnswer, number: int) -> None:
        """A pull request that answered null: gone since it was listed (NOT_FOUND) is fine;
        anything else is the unit's failure."""
        found = _error_at(answer.errors, ("repository", f"p{number}"))
        if found is not None and found.type == "NOT_FOUND":
            return
        raise _refused(self.repo, answer.errors, number)

    def _reviews(
        self, pull: dict[str, Any], number: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The review nodes of one pull request, and the cursor to continue from (None: done)."""
        reviews = pull.get("reviews")
        page_info = reviews.get("pageInfo") if isinstance(reviews, dict) else None
        nodes = reviews.get("nodes") if isinstance(reviews, dict) else None
        if (
            not isinstance(page_info, dict)
            or not isinstance(nodes, list)
            or not all(isinstance(n, dict) for n in nodes)
        ):
            raise self._odd(number, "no list of reviews (or a review that is not an object)")
        if not page_info.get("hasNextPage"):
            return nodes, None
        end = page_info.get("endCursor")
        if not isinstance(end, str) or end == after:
            raise LoopingList(
                f"GitHub's GraphQL reviews of {self.repo}#{number} do not move past cursor "
                f"{after!r} — the list loops, so this unit stops here; "
                "`ghye resume --retry-failed` tries it again"
            )
        return nodes, end

    def _record(self, node: dict[str, Any], number: int) -> dict[str, Any]:
        record = rest_review(node, api_url=self.api_url, repo=self.repo, number=number)
        if record is None:
            raise self._odd(number, "a review without an id (fullDatabaseId)")
        return record

    def _odd(self, number: int, what: str) -> TransientError:
        """An answer of the wrong shape says nothing about the reviews: retryable, as an odd
        REST page is."""
        return TransientError(
            f"GitHub's GraphQL answer for the reviews of {self.repo}#{number} holds {what} — "
            "`ghye resume` asks again"
        )


def _error_at(errors: tuple[GraphQLError, ...], path: tuple[str, ...]) -> GraphQLError | None:
    return next((e for e in errors if e.path == path), None)


def _refused(
    repo: str, errors: tuple[GraphQLError, ...], number: int | None = None
) -> GraphQLRefused:
    what = f"{repo}#{number}" if number is not None else repo
    detail = "; ".join(e.describe() for e in errors[:3]) or "no data and no error"
    return GraphQLRefused(
        f"GitHub's GraphQL API did not answer the reviews of {what} ({detail}) — "
        "`ghye resume --retry-failed` asks again"
    )
