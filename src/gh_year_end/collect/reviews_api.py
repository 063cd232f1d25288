"""Which API this run reads reviews through: GraphQL when it is there and serves what ghye asks
for, else REST — with one line saying why.

``collection.reviews_via: graphql`` (the default) is a preference, not a demand: before the
first reviews unit runs, one small query asks GitHub's GraphQL API for its budget and for the
fields of ``PullRequestReview``. A GitHub without GraphQL (404), one that refuses it to the
credential (403), or an older GitHub Enterprise Server whose schema lacks a field ghye reads
(``fullDatabaseId``) → reviews go through REST, one request per pull request, and the run says
so. A 401 or a rate limit is not an answer about GraphQL: it is raised or waited out as for any
request.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.plan import Selection
from gh_year_end.config.model import ReviewsVia
from gh_year_end.errors import Forbidden, PermanentError, RetryableError, Unavailable
from gh_year_end.github.client import RestClient
from gh_year_end.github.reviews_graphql import REVIEW_SELECTION

logger = logging.getLogger(__name__)

#: The probe: GraphQL's budget, and the fields a PullRequestReview has on this GitHub.
PROBE: Final = """query Probe {
  rateLimit { limit remaining resetAt }
  __type(name: "PullRequestReview") { fields { name } }
}
"""

#: The PullRequestReview fields the batch queries read (the fragment's own, top level).
NEEDED_FIELDS: Final = frozenset(
    re.findall(r"^  (\w+)", REVIEW_SELECTION.split("{", 1)[1], flags=re.MULTILINE)
)


async def choose_reviews_api(
    ctx: RunContext, client: RestClient, selection: Selection
) -> ReviewsVia:
    """``collection.reviews_via``, or REST when GraphQL cannot serve this run's reviews (see
    the module docstring). Asks only when reviews units are left to run."""
    wanted = ctx.config.collection.reviews_via
    if wanted == "rest" or not any(p.unit.endpoint.name == "reviews" for p in selection.todo):
        return wanted
    why = await _graphql_problem(client)
    if why is None:
        return "graphql"
    ctx.events.message(
        f"reviews: {why} — reading them through REST instead (one request per pull request)"
    )
    return "rest"


async def _graphql_problem(client: RestClient) -> str | None:
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
    kind = answer.data.get("__type") if answer.data is not None else None
    fields = kind.get("fields") if isinstance(kind, dict) else None
    if not isinstance(fields, list):
        detail = "; ".join(e.describe() for e in answer.errors[:2]) or "no PullRequestReview type"
        return f"GitHub's GraphQL API does not describe pull request reviews ({detail})"
    names = {f.get("name") for f in fields if isinstance(f, dict)}
    missing = sorted(NEEDED_FIELDS - names)
    if missing:
        return (
            f"this GitHub's GraphQL PullRequestReview lacks {', '.join(missing)} (an older "
            "GitHub Enterprise Server)"
        )
    return None
