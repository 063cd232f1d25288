"""Which API this run reads reviews through: GraphQL when it is there and serves what ghye asks
for, else REST — with one line saying why.

``collection.reviews_via: graphql`` (the default) is a preference, not a demand: before the
first reviews unit runs, one small query asks GitHub's GraphQL API for the fields of every type
the reviews query reads. A GitHub without GraphQL (404), one that refuses it to the
credential (403), or an older GitHub Enterprise Server whose schema lacks a field ghye reads
(``fullDatabaseId``) → reviews go through REST, one request per pull request, and the run says
so. A 401 or a rate limit is not an answer about GraphQL: it is raised or waited out as for any
request.
"""

from __future__ import annotations

import logging
from typing import Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    SelectionSetNode,
    parse,
)

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.plan import Selection
from gh_year_end.config.model import ReviewsVia
from gh_year_end.errors import Forbidden, PermanentError, RetryableError, Unavailable
from gh_year_end.github.client import RestClient
from gh_year_end.github.review_shape import REVIEW_SELECTION

logger = logging.getLogger(__name__)


def needed_fields(selection: str = REVIEW_SELECTION) -> dict[str, frozenset[str]]:
    """The fields each GraphQL type must have for ``selection`` (the reviews fragment):
    PullRequestReview's own, the author's (Actor's, and each ``... on User { … }``), the
    commit's. Read from the fragment itself, so the probe and the query never disagree."""
    fragment = parse(selection).definitions[0]
    assert isinstance(fragment, FragmentDefinitionNode)
    found: dict[str, set[str]] = {}
    nested = {"author": "Actor", "commit": "Commit"}

    def walk(on: str, node: SelectionSetNode) -> None:
        for item in node.selections:
            if isinstance(item, FieldNode):
                name = item.name.value
                if name.startswith("__"):
                    continue
                found.setdefault(on, set()).add(name)
                if item.selection_set is not None:
                    walk(nested.get(name, name), item.selection_set)
            elif isinstance(item, InlineFragmentNode) and item.type_condition is not None:
                walk(item.type_condition.name.value, item.selection_set)

    walk(fragment.type_condition.name.value, fragment.selection_set)
    return {kind: frozenset(names) for kind, names in found.items()}


#: The fields of every type the reviews query reads.
NEEDED: Final = needed_fields()
#: The probe: the fields each of those types has on this GitHub.
PROBE: Final = (
    "query Probe {\n"
    + "\n".join(
        f'  t{i}: __type(name: "{kind}") {{ fields {{ name }} }}' for i, kind in enumerate(NEEDED)
    )
    + "\n}\n"
)


async def choose_reviews_api(
    ctx: RunContext, client: RestClient, selection: Selection, *, refreshing: bool = False
) -> ReviewsVia:
    """``collection.reviews_via``, or REST when GraphQL cannot serve this run's reviews (see
    the module docstring). Asks only when reviews units are left to run, or are to be refreshed
    (``refreshing``)."""
    wanted = ctx.config.collection.reviews_via
    left = any(p.unit.endpoint.name == "reviews" for p in selection.todo)
    if wanted == "rest" or not (left or (refreshing and ctx.config.collection.enable.reviews)):
        return wanted
    why = await graphql_problem(client)
    if why is None:
        return "graphql"
    ctx.events.message(
        f"reviews: {why} — reading them through REST instead (one request per pull request)"
    )
    return "rest"


async def graphql_problem(client: RestClient) -> str | None:
    """What keeps GraphQL from serving reviews, in words; None when nothing does."""
    try:
        answer = await client.graphql(PROBE, {})
    except Unavailable as exc:
        return f"this GitHub has no GraphQL API ({exc.status} at {exc.url})"
    except Forbidden as exc:
        return f"GitHub refuses its GraphQL API to this credential ({exc})"
    except PermanentError as exc:
        return f"GitHub's GraphQL API did not answer ({exc})"
    except RetryableError as exc:
        # Says nothing about GraphQL being there: its batches retry (and fail for a resume)
        # as any request does.
        logger.info("the GraphQL probe failed (%s); reading reviews through GraphQL", exc)
        return None
    data = answer.data or {}
    for i, (kind, names) in enumerate(NEEDED.items()):
        described = data.get(f"t{i}")
        fields = described.get("fields") if isinstance(described, dict) else None
        if not isinstance(fields, list):
            detail = "; ".join(e.describe() for e in answer.errors[:2]) or f"no type {kind}"
            return f"GitHub's GraphQL API does not describe {kind} ({detail})"
        have = {f.get("name") for f in fields if isinstance(f, dict)}
        missing = sorted(names - have)
        if missing:
            return (
                f"this GitHub's GraphQL {kind} lacks {', '.join(missing)} (an older GitHub "
                "Enterprise Server)"
            )
    return None
