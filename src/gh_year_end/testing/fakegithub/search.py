"""GitHub's issue search, the part a collection planner counts with: ``search(type: ISSUE)``'s
``issueCount`` for a query of qualifiers, counted from the fake's data.

Qualifiers, separated by spaces, each at most once (``created``/``updated`` may repeat):

``repo:OWNER/NAME``                 required; a repo the fake lacks (or that answers 404, 451,
                                    403 or is empty) has nothing to find: 0
``is:pr`` ``is:pull-request``       pull requests only
``type:pr``
``is:issue`` ``type:issue``         issues only (neither: both)
``created:OP MOMENT``               OP one of ``<``, ``<=``, ``>``, ``>=``; MOMENT an ISO 8601
``updated:OP MOMENT``               timestamp (``2025-01-01T00:00:00Z``, or with an offset) or a
                                    date (``2025-01-01``: a whole UTC day, so ``>D`` starts the
                                    next day and ``<=D`` ends with D)

A window [since, until) counted by the rule the REST side and :meth:`.FakeData.expected` apply
to issues and pull requests — created before ``until``, updated at or after ``since`` — is
``repo:o/r is:pr created:<UNTIL updated:>=SINCE``. Anything else (free text, another
qualifier, a range ``a..b``, ``-`` negation) is refused with :class:`SearchError`: the fake
never answers a count it does not model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from gh_year_end.testing.fakegithub.data import FakeData, parse_moment

_KINDS: Final[dict[str, Literal["pr", "issue"]]] = {
    "is:pr": "pr",
    "is:pull-request": "pr",
    "type:pr": "pr",
    "is:issue": "issue",
    "type:issue": "issue",
}
_COMPARISON: Final = re.compile(r"(created|updated):(<=|>=|<|>)(\S+)")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY: Final = 86_400


class SearchError(ValueError):
    """A search query the fake does not model (its message says what)."""


@dataclass(frozen=True, slots=True)
class Bound:
    """``field`` compared with ``op`` to ``moment`` (epoch seconds)."""

    field: Literal["created", "updated"]
    op: Literal["<", "<=", ">", ">="]
    moment: float

    def holds(self, value: int) -> bool:
        """Whether a timestamp ``value`` satisfies the bound."""
        match self.op:
            case "<":
                return value < self.moment
            case "<=":
                return value <= self.moment
            case ">":
                return value > self.moment
        return value >= self.moment


@dataclass(frozen=True, slots=True)
class IssueSearch:
    """A parsed issue-search query."""

    owner: str
    name: str
    kind: Literal["pr", "issue"] | None
    bounds: tuple[Bound, ...]


def parse_issue_search(text: str) -> IssueSearch:
    """The qualifiers of ``text``; :class:`SearchError` for anything the fake does not model."""
    repo: tuple[str, str] | None = None
    kind: Literal["pr", "issue"] | None = None
    bounds: list[Bound] = []
    for token in text.split():
        lowered = token.lower()
        if lowered.startswith("repo:"):
            owner, slash, name = token[5:].partition("/")
            if repo is not None or not slash or not owner or not name or "/" in name:
                raise SearchError(f"the fake GitHub takes one repo:OWNER/NAME, not {token!r}")
            repo = (owner, name)
        elif lowered in _KINDS:
            if kind is not None:
                raise SearchError("the fake GitHub takes one of is:pr / is:issue, once")
            kind = _KINDS[lowered]
        elif (found := _COMPARISON.fullmatch(token)) is not None:
            bounds.append(_bound(found.group(1), found.group(2), found.group(3)))
        else:
            raise SearchError(f"the fake GitHub does not model the search term {token!r}")
    if repo is None:
        raise SearchError("the fake GitHub counts within one repository: give repo:OWNER/NAME")
    return IssueSearch(repo[0], repo[1], kind, tuple(bounds))


def _bound(name: str, op: str, text: str) -> Bound:
    field: Literal["created", "updated"] = "created" if name == "created" else "updated"
    if _DATE.fullmatch(text):
        day = date.fromisoformat(text)
        start = (day - date(1970, 1, 1)).days * _DAY
        # a date is a whole UTC day: > and <= take it whole
        match op:
            case "<":
                return Bound(field, "<", start)
            case ">=":
                return Bound(field, ">=", start)
            case ">":
                return Bound(field, ">=", start + _DAY)
        return Bound(field, "<", start + _DAY)
    if "T" not in text:
        raise SearchError(f"{name}:{op}{text}: give a date (YYYY-MM-DD) or a full timestamp")
    try:
        moment = parse_moment(text).timestamp()
    except ValueError:
        raise SearchError(f"{name}:{op}{text} is not an ISO 8601 date or timestamp") from None
    ops: dict[str, Literal["<", "<=", ">", ">="]] = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
    return Bound(field, ops[op], moment)


def issue_count(data: FakeData, search: IssueSearch) -> int:
    """How many issues and/or pull requests of the repo satisfy every qualifier."""
    info = data.find(search.owner, search.name)
    if info is None or info.status is not None or info.empty:
        return 0
    d = data.repo(info)
    created, updated, rank = d.t_created, d.t_updated, d.t_pull_rank
    on_created = [b for b in search.bounds if b.field == "created"]
    on_updated = [b for b in search.bounds if b.field == "updated"]
    gone = d.gone.get("t", ())
    count = 0
    for row in range(d.tickets):
        if row in gone:
            continue
        is_pull = rank[row] >= 0
        if (search.kind == "pr" and not is_pull) or (search.kind == "issue" and is_pull):
            continue
        if all(b.holds(created[row]) for b in on_created) and all(
            b.holds(updated[row]) for b in on_updated
        ):
            count += 1
    return count
