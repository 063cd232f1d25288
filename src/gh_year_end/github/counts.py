"""What a repository holds in the window, counted through GraphQL without reading a record: the
query ``ghye plan`` (and a collect, right after discovery) sends, and how its answer is read.

Per repository, one alias group: five issue searches (``search(type: ISSUE) { issueCount }``)
and two counts of the default branch's history. Searches by qualifiers only — ``repo:O/N``,
``is:pr``/``is:issue``, ``created:<UNTIL``, ``updated:>=SINCE`` — and every value reaches GitHub
as a variable, never spliced into the document; a repository name is a checked one
(:func:`~gh_year_end.storage.paths.is_safe_repo_name`) before it goes into a search.

======================  =====================================  ===============================
count                   search                                 what it is
======================  =====================================  ===============================
``pulls_in_window``     ``is:pr created:<UNTIL updated:>=SINCE``  the pull requests collected
``pulls_updated``       ``is:pr updated:>=SINCE``              what the pulls list walks through
``pulls_total``         ``is:pr``                              the whole pulls list
``issues_in_window``    ``is:issue created:<UNTIL updated:>=SINCE``  the issues collected
``updated``             ``updated:>=SINCE``                    the issues list (pull requests too)
``commits_in_window``   ``history(since: SINCE, until: UNTIL)``  the commits collected
``commits_listed``      ``history(since: SINCE, until: UNTIL+1s)``  the commits list (``until``
                                                               is inclusive there)
======================  =====================================  ===============================

Cost (GitHub's rules, which the fake applies): each search and each history is a connection,
one request each; none selects ``nodes`` or ``edges``, so none needs a ``first`` bound and the
query asks for no node at all. Seven requests per repository; GitHub divides the requests by a
hundred and rounds to the nearest point, so :data:`REPOS_PER_QUERY` repositories cost one point.
``rateLimit { cost … }`` (free) reports what each query was charged.

A repository the query cannot see — ``repository`` null with NOT_FOUND (gone, hidden, blocked)
or its default branch refused with FORBIDDEN — is :class:`Unseen`, never counted as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from gh_year_end.endpoints import Window
from gh_year_end.github.graphql import GraphQLAnswer, GraphQLError
from gh_year_end.storage.paths import is_safe_repo_name

#: (count, its search terms after ``repo:O/N``): see the module docstring.
SEARCHES: Final[tuple[tuple[str, str], ...]] = (
    ("pulls_in_window", "is:pr created:<{until} updated:>={since}"),
    ("pulls_updated", "is:pr updated:>={since}"),
    ("pulls_total", "is:pr"),
    ("issues_in_window", "is:issue created:<{until} updated:>={since}"),
    ("updated", "updated:>={since}"),
)
#: Connections per repository: the searches and the two history counts.
CONNECTIONS_PER_REPO: Final = len(SEARCHES) + 2
#: The most requests GitHub charges one point for (requests / 100, rounded to the nearest).
ONE_POINT: Final = 149
#: Repositories per count query: as many as one point pays for.
REPOS_PER_QUERY: Final = ONE_POINT // CONNECTIONS_PER_REPO
#: REST's commits list takes ``until`` inclusively, GraphQL's history exclusively: a second on.
_INCLUSIVE: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class RepoCounts:
    """One repository's counts (see the module docstring's table)."""

    pulls_in_window: int
    pulls_updated: int
    pulls_total: int
    issues_in_window: int
    updated: int
    commits_in_window: int
    commits_listed: int

    def to_dict(self) -> dict[str, int]:
        """The counts by name (as estimate.json and ``plan --json`` hold them)."""
        return {name: getattr(self, name) for name in COUNT_NAMES}

    @classmethod
    def from_dict(cls, data: Any) -> RepoCounts | None:
        """Counts read back (None when ``data`` is not every count as a whole number >= 0)."""
        if not isinstance(data, dict):
            return None
        values: list[int] = []
        for name in COUNT_NAMES:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return None
            values.append(value)
        return cls(*values)


COUNT_NAMES: Final[tuple[str, ...]] = (
    *(name for name, _ in SEARCHES),
    "commits_in_window",
    "commits_listed",
)


@dataclass(frozen=True)
class Unseen:
    """A repository the count query could not see: ``kind`` NOT_FOUND (gone, hidden, blocked),
    FORBIDDEN (refused to the credential) or ERROR (the query failed; not counted)."""

    kind: str
    reason: str


@dataclass(frozen=True)
class Charged:
    """What one query cost and what GraphQL's budget was after it (``rateLimit``)."""

    points: int
    remaining: int | None
    limit: int | None
    reset_at: str | None


@dataclass(frozen=True)
class CountQuery:
    """One query: the counts of up to :data:`REPOS_PER_QUERY` repositories in ``window``."""

    repos: tuple[str, ...]
    window: Window

    def __post_init__(self) -> None:
        unsafe = [name for name in self.repos if not is_safe_repo_name(name)]
        if unsafe:
            raise ValueError(f"not GitHub repository names: {unsafe!r}")

    @property
    def document(self) -> str:
        """The GraphQL document (validated against GitHub's schema in the tests)."""
        params = ["$since: GitTimestamp!", "$until: GitTimestamp!", "$through: GitTimestamp!"]
        fields: list[str] = []
        for i in range(len(self.repos)):
            params += [f"$o{i}: String!", f"$n{i}: String!"]
            fields.append(
                f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n"
                "    defaultBranchRef {\n"
                "      target {\n"
                "        ... on Commit {\n"
                "          inWindow: history(since: $since, until: $until) { totalCount }\n"
                "          listed: history(since: $since, until: $through) { totalCount }\n"
                "        }\n"
                "      }\n"
                "    }\n"
                "  }"
            )
            for name, _ in SEARCHES:
                params.append(f"$q{i}_{name}: String!")
                fields.append(
                    f"  s{i}_{name}: search(query: $q{i}_{name}, type: ISSUE) {{ issueCount }}"
                )
        return (
            f"query Counts({', '.join(params)}) {{\n"
            + "\n".join(fields)
            + "\n  rateLimit { cost limit remaining resetAt }\n}\n"
        )

    @property
    def variables(self) -> dict[str, Any]:
        """The query's variables: the window and, per repository, its name and searches."""
        since, until = self.window.since_param, self.window.until_param
        through = Window(self.window.since, self.window.until + _INCLUSIVE).until_param
        found: dict[str, Any] = {"since": since, "until": until, "through": through}
        for i, full_name in enumerate(self.repos):
            owner, _, name = full_name.partition("/")
            found[f"o{i}"], found[f"n{i}"] = owner, name
            for count, terms in SEARCHES:
                found[f"q{i}_{count}"] = (
                    f"repo:{full_name} " + terms.format(since=since, until=until)
                ).strip()
        return found

    def read(self, answer: GraphQLAnswer) -> tuple[dict[str, RepoCounts | Unseen], Charged | None]:
        """Each repository's counts (or why it could not be counted), and what the query cost.

        An answer without data (the query failed as a whole) leaves every repository ERROR."""
        data = answer.data
        found: dict[str, RepoCounts | Unseen] = {}
        for i, repo in enumerate(self.repos):
            if data is None:
                found[repo] = Unseen("ERROR", _describe(answer.errors) or "no data")
                continue
            found[repo] = _repo(data, answer.errors, i)
        return found, _charged(data)


def _repo(data: dict[str, Any], errors: tuple[GraphQLError, ...], i: int) -> RepoCounts | Unseen:
    alias = f"r{i}"
    repository = data.get(alias)
    if not isinstance(repository, dict):
        error = _error_at(errors, (alias,))
        if error is not None and error.type == "NOT_FOUND":
            return Unseen("NOT_FOUND", error.message)
        return Unseen("ERROR", error.describe() if error else "no repository in the answer")
    branch = repository.get("defaultBranchRef")
    in_window: int | None
    listed: int | None
    if branch is None:
        refused = _error_at(errors, (alias, "defaultBranchRef"))
        if refused is not None:
            kind = "FORBIDDEN" if refused.type == "FORBIDDEN" else "ERROR"
            return Unseen(kind, refused.message)
        in_window = listed = 0  # an empty repository: no branch, no commits
    else:
        target = branch.get("target") if isinstance(branch, dict) else None
        in_window = _total(target, "inWindow")
        listed = _total(target, "listed")
        if in_window is None or listed is None:
            return Unseen("ERROR", _describe(_errors_under(errors, alias)) or "no history count")
    counts: dict[str, int] = {}
    for name, _ in SEARCHES:
        result = data.get(f"s{i}_{name}")
        value = result.get("issueCount") if isinstance(result, dict) else None
        if not isinstance(value, int):
            why = _describe(_errors_under(errors, f"s{i}_{name}")) or "no issueCount"
            return Unseen("ERROR", f"search {name}: {why}")
        counts[name] = value
    return RepoCounts(**counts, commits_in_window=in_window or 0, commits_listed=listed or 0)


def _total(target: Any, alias: str) -> int | None:
    history = target.get(alias) if isinstance(target, dict) else None
    value = history.get("totalCount") if isinstance(history, dict) else None
    return value if isinstance(value, int) else None


def _charged(data: dict[str, Any] | None) -> Charged | None:
    rate = data.get("rateLimit") if data is not None else None
    if not isinstance(rate, dict) or not isinstance(rate.get("cost"), int):
        return None
    remaining, limit, reset_at = rate.get("remaining"), rate.get("limit"), rate.get("resetAt")
    return Charged(
        rate["cost"],
        remaining if isinstance(remaining, int) else None,
        limit if isinstance(limit, int) else None,
        reset_at if isinstance(reset_at, str) else None,
    )


def _error_at(errors: tuple[GraphQLError, ...], path: tuple[str, ...]) -> GraphQLError | None:
    return next((e for e in errors if e.path == path), None)


def _errors_under(errors: tuple[GraphQLError, ...], alias: str) -> tuple[GraphQLError, ...]:
    return tuple(e for e in errors if e.path[:1] == (alias,))


def _describe(errors: tuple[GraphQLError, ...]) -> str:
    return "; ".join(e.describe() for e in errors[:2])


def batches(repos: list[str], size: int = REPOS_PER_QUERY) -> list[tuple[str, ...]]:
    """``repos`` in query-sized groups, in order."""
    return [tuple(repos[i : i + size]) for i in range(0, len(repos), size)]
