"""One GraphQL query of pull request reviews: the batches of one or more repositories.

:class:`ReviewBatch` is one repository's part of a query: the first 100 reviews of some of its
pull requests (an alias ``pN: pullRequest(number: N)`` each), a pull request with more reviews
continued after its own cursor. :class:`ReviewQuery` puts the batches of several repositories in
one query (an alias ``rI: repository(…)`` each) and splits GitHub's answer back into each
batch's; up to 100 pull requests cost one point of GraphQL's budget, where REST costs a request
per pull request. What each review is read as: :mod:`.review_shape`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from gh_year_end.github.answers import PageMeta
from gh_year_end.github.graphql import GraphQLAnswer, split_aliases
from gh_year_end.github.review_shape import REVIEW_SELECTION

#: Pull requests per query, and reviews per pull request per query (GitHub's most per page).
MAX_BATCH: Final = 100
REVIEWS_PER_PULL: Final = 100


@dataclass(frozen=True)
class ReviewBatch:
    """One repository's part of a query: the reviews of these pull requests (number, cursor to
    continue after)."""

    owner: str
    name: str
    items: tuple[tuple[int, str | None], ...]

    @property
    def document(self) -> str:
        """The batch as a query of its own (validated against GitHub's schema in the tests)."""
        return ReviewQuery((self,)).document

    @property
    def variables(self) -> dict[str, Any]:
        """The variables of :attr:`document`."""
        return ReviewQuery((self,)).variables

    def halved(self) -> ReviewBatch | None:
        """The first half of the batch (None: a single pull request cannot shrink)."""
        if len(self.items) <= 1:
            return None
        return ReviewBatch(self.owner, self.name, self.items[: len(self.items) // 2])


@dataclass(frozen=True)
class ReviewQuery:
    """One GraphQL query holding the batches of one or more repositories (an alias ``rI`` per
    repository): a hundred pull requests of twenty small repositories cost one point, as a
    hundred of one repository do."""

    batches: tuple[ReviewBatch, ...]

    @property
    def size(self) -> int:
        """Pull requests asked for."""
        return sum(len(b.items) for b in self.batches)

    @property
    def document(self) -> str:
        """The GraphQL document."""
        params: list[str] = []
        blocks: list[str] = []
        for i, batch in enumerate(self.batches):
            params += [f"$o{i}: String!", f"$n{i}: String!"]
            fields: list[str] = []
            for number, after in batch.items:
                paging = f"first: {REVIEWS_PER_PULL}"
                if after is not None:
                    params.append(f"$a{i}_{number}: String!")
                    paging += f", after: $a{i}_{number}"
                fields.append(
                    f"    p{number}: pullRequest(number: {number}) {{\n"
                    f"      reviews({paging}) {{\n"
                    "        pageInfo { hasNextPage endCursor }\n"
                    "        nodes { ...Review }\n"
                    "      }\n"
                    "    }"
                )
            blocks.append(
                f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n" + "\n".join(fields) + "\n  }"
            )
        return (
            f"query Reviews({', '.join(params)}) {{\n"
            + "\n".join(blocks)
            + "\n}\n"
            + REVIEW_SELECTION
            + "\n"
        )

    @property
    def variables(self) -> dict[str, Any]:
        """The query's variables."""
        found: dict[str, Any] = {}
        for i, batch in enumerate(self.batches):
            found[f"o{i}"], found[f"n{i}"] = batch.owner, batch.name
            for number, after in batch.items:
                if after is not None:
                    found[f"a{i}_{number}"] = after
        return found

    def split(self, answer: GraphQLAnswer) -> list[GraphQLAnswer]:
        """Each batch's part of ``answer``, as if it had been asked alone (see
        :func:`~.graphql.split_aliases`)."""
        return split_aliases(answer, len(self.batches))


@dataclass(frozen=True)
class BatchAnswer:
    """A batch and GitHub's answer to it."""

    batch: ReviewBatch
    answer: GraphQLAnswer

    @property
    def meta(self) -> PageMeta:
        """The answer's metadata (request id, rate state), as a page's."""
        return self.answer.meta
