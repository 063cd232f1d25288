"""Data that changes between runs: :class:`Mutation` — what to change — and :func:`apply`,
which changes the fake's data while it is served and says what it changed.

``FakeGitHub.mutate(**params)`` and ``POST /_fake/mutate?<params>`` (same names, query values)
take, all optional:

``seed``        which repos and items are chosen (the same seed on the same data: the same
                choice, the same ids); default 0
``edits``       items edited per chosen repo and kind; default 0
``adds``        items added per chosen repo and kind; default 0
``deletes``     items deleted per chosen repo and kind; default 0
``new_repos``   repositories added at the end of the owner's list; default 0
``repos``       how many existing repos are changed, chosen by ``seed``; default all. Only a
                repo that answers, is not empty and is not archived (GitHub makes an archived
                repo read-only) can be chosen
``kinds``       which kinds (a comma list): issues, pulls, issue_comments, review_comments,
                reviews, commits; default all
``bump_pull_on_review``  a review added (or edited) bumps its pull request's ``updated_at``, as
                GitHub usually does; false models the case where it does not. Default true

Everything happens at one moment, the fake's clock's "now" (its ``clock``, real time by
default), which must not be earlier than the end of the generated data (``DataSpec.end``) nor
than the last mutation: GitHub cannot create an item before the ones it already has. What each
change does to an item is :mod:`.changes`'s. Per chosen repo the deletes come first, then the
edits (of items that existed before), then the adds, each kind in the order above:

* **edits** — issues, pull requests, issue comments, review comments: ``updated_at`` = now, a
  revision in their title/body, the id kept. Reviews: the body only (REST has no review
  ``updated_at``; GraphQL's ``updatedAt`` moves), and the pull request bumped when
  ``bump_pull_on_review``. Commits are immutable: an edit of one does nothing (the summary's
  ``not_modelled`` says so).
* **adds** — issues and pull requests (the next numbers; a new pull request pushes the repo:
  its head branch is the repo's), comments on issues/pull requests that existed before this
  mutation (bumping them), reviews of such pull requests submitted now (bumping them when
  ``bump_pull_on_review``), commits dated now heading the commits list (pushing the repo:
  ``pushed_at`` and ``updated_at`` = now). Ids are above every existing one of their space.
* **deletes** — issues (with their comments), issue comments, review comments, reviews (on
  GitHub only a pending review can be deleted; the fake allows any, to model a review that is
  gone): gone from every list, count and ``expected``. Pull requests cannot be deleted by a
  user, and deleting commits (a force-push) is not modelled: deletes skip both and
  ``not_modelled`` says so.
* **new_repos** — ``repo-NNN`` after the last, public, created and pushed now, its items
  generated as every repo's are (from the seed and its index: the same as a fake with more
  ``repos`` would have) — consistent over REST, GraphQL and ``expected``.

The summary (JSON): ``at`` (the moment), ``endpoints`` {endpoint: {"edited", "added",
"deleted": [ids; shas for commits]}} over all repos, ``repos`` {full_name: the same} for each
repo changed, ``bumped`` {"pulls", "issues": ids whose ``updated_at`` moved for a comment or
review, not an edit of their own}, ``pushed`` (full names whose ``pushed_at`` moved),
``new_repos`` (full names) and ``not_modelled`` (what was asked but not done, and why).

Everything derived follows: the data's :attr:`.FakeData.generation` moves (the REST row-list
cache starts over), each changed repo's cached orders are dropped, the repo's listing record
is re-rendered when pushed, and the ETags (:mod:`.etags`) of the pages that changed with them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, TypedDict, cast

from gh_year_end.testing.fakegithub.changes import RepoChanges
from gh_year_end.testing.fakegithub.data import FakeData, iso
from gh_year_end.testing.fakegithub.repos import RepoData, RepoInfo, Table
from gh_year_end.testing.fakegithub.settings import MAX_REPOS

KINDS: Final = ("issues", "pulls", "issue_comments", "review_comments", "reviews", "commits")
_TABLES: Final[dict[str, Table]] = {
    "issue_comments": "ic",
    "review_comments": "rc",
    "reviews": "rv",
}
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off")


class MutationArgs(TypedDict, total=False):
    """The parameters of :class:`Mutation`, as keyword arguments of ``FakeGitHub.mutate``."""

    seed: int
    edits: int
    adds: int
    deletes: int
    new_repos: int
    repos: int | None
    kinds: tuple[str, ...]
    bump_pull_on_review: bool


@dataclass(frozen=True, slots=True)
class Mutation:
    """What to change (see the module docstring for each parameter)."""

    seed: int = 0
    edits: int = 0
    adds: int = 0
    deletes: int = 0
    new_repos: int = 0
    repos: int | None = None
    kinds: tuple[str, ...] = KINDS
    bump_pull_on_review: bool = True

    def __post_init__(self) -> None:
        for name in ("edits", "adds", "deletes", "new_repos"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more")
        if self.repos is not None and self.repos < 0:
            raise ValueError("repos must be 0 or more")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")


def query_args(params: Mapping[str, str]) -> MutationArgs:
    """The arguments a ``POST /_fake/mutate`` query gives (its values are text); ValueError
    for a parameter it does not know or a value it cannot read (:class:`Mutation` checks the
    rest)."""
    known = {f.name for f in fields(Mutation)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; known: {', '.join(sorted(known))}")
    args: dict[str, Any] = {}
    for name in ("seed", "edits", "adds", "deletes", "new_repos", "repos"):
        if params.get(name):
            try:
                args[name] = int(params[name])
            except ValueError:
                raise ValueError(f"{name} must be a whole number") from None
    if params.get("kinds"):
        args["kinds"] = tuple(k.strip() for k in params["kinds"].split(",") if k.strip())
    bump = params.get("bump_pull_on_review", "").lower()
    if bump:
        if bump not in _TRUE + _FALSE:
            raise ValueError("bump_pull_on_review must be true or false")
        args["bump_pull_on_review"] = bump in _TRUE
    return cast("MutationArgs", args)


def apply(data: FakeData, mutation: Mutation, now: float) -> dict[str, Any]:
    """Change ``data`` as ``mutation`` says, at the moment ``now``; the summary of the changes.

    Call it where nothing reads ``data`` meanwhile (the server's loop: ``FakeGitHub.mutate``
    takes care of that); it holds :attr:`.FakeData.lock` against readers on other threads.
    Nothing is changed when it raises ValueError (the clock is early, an id space is full)."""
    moment = int(now)
    if moment < data.spec.end_ts or moment < data.mutated_at:
        raise ValueError(
            f"the fake's clock ({iso(moment)}) is before its data's end or its last mutation "
            f"({iso(max(data.spec.end_ts, data.mutated_at))}): mutations happen at now"
        )
    with data.lock:
        return _Mutator(data, mutation, moment).run()


class _Mutator:
    """One mutation under way: its choices (one seeded draw sequence) and its report."""

    def __init__(self, data: FakeData, mutation: Mutation, moment: int) -> None:
        self.data = data
        self.m = mutation
        self.moment = moment
        self.rng = random.Random(f"ghye-fake-mutate:{data.spec.seed}:{mutation.seed}")
        self.report = _Report(moment)

    def run(self) -> dict[str, Any]:
        data, m, rng = self.data, self.m, self.rng
        if len(data.repos) + m.new_repos > MAX_REPOS:
            raise ValueError(f"the fake holds at most {MAX_REPOS} repositories")
        eligible = [r for r in data.repos if r.status is None and not r.empty and not r.archived]
        chosen = eligible
        if m.repos is not None and m.repos < len(eligible):
            chosen = sorted(rng.sample(eligible, m.repos), key=lambda r: r.index)
        editors = [
            (info, RepoChanges(data.repo(info), self.moment, rng, data.N_USERS)) for info in chosen
        ]
        for _info, changes in editors:  # all or nothing: the id spaces are checked first
            for table in ("t", "ic", "rc", "rv"):
                changes.room(table, m.adds * (2 if table == "t" else 1))
        for info, changes in editors:
            self._change(info, changes)
        for _ in range(m.new_repos):
            self.report.new_repos.append(data.add_repo(self.moment).full_name)
        data.mutated_at = self.moment
        data.generation += 1
        return self.report.document()

    def _change(self, info: RepoInfo, changes: RepoChanges) -> None:
        """Deletes, then edits, then adds in one repo; the repo pushed when a commit or a pull
        request was added."""
        m, rng, report, d = self.m, self.rng, self.report, changes.d
        note = report.of(info, d, self.data.spec.seed)
        for kind in m.kinds if m.deletes else ():
            if kind == "issues":
                for row in _pick(rng, changes.tickets(pulls=False), m.deletes):
                    for comment in changes.delete_issue(row):
                        note("issue_comments", "deleted", comment)
                    note(kind, "deleted", row)
            elif kind in _TABLES:
                for row in _pick(rng, changes.alive(_TABLES[kind]), m.deletes):
                    changes.delete(_TABLES[kind], row)
                    note(kind, "deleted", row)
            else:
                report.not_modelled.add(
                    "deletes of pulls: GitHub does not let a pull request be deleted"
                    if kind == "pulls"
                    else "deletes of commits: removing commits (a force-push) is not modelled"
                )
        for kind in m.kinds if m.edits else ():
            if kind == "commits":
                report.not_modelled.add("edits of commits: a commit is immutable, nothing changed")
                continue
            table: Table = _TABLES.get(kind, "t")
            rows = changes.tickets(pulls=kind == "pulls") if table == "t" else changes.alive(table)
            for row in _pick(rng, rows, m.edits):
                changes.edit(table, row)
                note(kind, "edited", row)
                if kind == "reviews" and m.bump_pull_on_review:
                    changes.bump(d.rv_parent[row])
                    report.bumped(d, d.rv_parent[row])
        pushed = False
        # a new comment or review goes to an issue or pull request that was there before
        tickets, pulls = changes.alive("t"), changes.tickets(pulls=True)
        for kind in m.kinds if m.adds else ():
            for _ in range(m.adds):
                added = self._add(kind, changes, tickets if kind == "issue_comments" else pulls)
                if added is not None:
                    note(kind, "added", added)
                    pushed = pushed or kind in ("pulls", "commits")
        if pushed:
            self.data.push(info, self.moment)
            report.pushed.append(info.full_name)
        d.changed()

    def _add(self, kind: str, changes: RepoChanges, parents: list[int]) -> int | None:
        """One item of ``kind`` added (its row; a comment or review to one of ``parents``), or
        None when there is no parent for it."""
        if kind in ("issues", "pulls"):
            return changes.add_ticket(pull=kind == "pulls")
        if kind == "commits":
            return changes.add_commit()
        if not parents:
            return None
        parent = parents[int(self.rng.random() * len(parents))]
        if kind == "issue_comments":
            row = changes.add_issue_comment(parent)
        elif kind == "review_comments":
            row = changes.add_review_comment(parent)
        else:
            row = changes.add_review(parent)
            if not self.m.bump_pull_on_review:
                return row
            changes.bump(parent)
        self.report.bumped(changes.d, parent)
        return row


def _pick(rng: random.Random, rows: list[int], count: int) -> list[int]:
    """``count`` of ``rows`` (all when fewer), chosen by ``rng``, in row order."""
    return sorted(rng.sample(rows, min(count, len(rows))))


class _Report:
    """The summary of one mutation, filled as it goes."""

    def __init__(self, moment: int) -> None:
        self.moment = moment
        self.repos: dict[str, dict[str, dict[str, list[Any]]]] = {}
        self._bumped: dict[str, set[int]] = {"pulls": set(), "issues": set()}
        self.pushed: list[str] = []
        self.new_repos: list[str] = []
        self.not_modelled: set[str] = set()

    def of(self, info: RepoInfo, d: RepoData, seed: int) -> Callable[[str, str, int], None]:
        """A recorder of one repo's changes: ``note(kind, what, row)``."""

        def note(kind: str, what: str, row: int) -> None:
            entry = self.repos.setdefault(info.full_name, _blank())
            entry[kind][what].append(_identify(kind, d, row, seed))

        return note

    def bumped(self, d: RepoData, ticket: int) -> None:
        """Ticket ``ticket`` was bumped by activity on it."""
        if d.t_pull_rank[ticket] >= 0:
            self._bumped["pulls"].add(d.pull_id(ticket))
        else:
            self._bumped["issues"].add(d.issue_id(ticket))

    def document(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        totals = _blank()
        for entry in self.repos.values():
            for kind, whats in entry.items():
                for what, ids in whats.items():
                    ids.sort()
                    totals[kind][what] += ids
        for whats in totals.values():
            for ids in whats.values():
                ids.sort()
        return {
            "at": iso(self.moment),
            "endpoints": totals,
            "repos": self.repos,
            "bumped": {k: sorted(v) for k, v in self._bumped.items()},
            "pushed": self.pushed,
            "new_repos": self.new_repos,
            "not_modelled": sorted(self.not_modelled),
        }


def _blank() -> dict[str, dict[str, list[Any]]]:
    return {kind: {"edited": [], "added": [], "deleted": []} for kind in KINDS}


def _identify(kind: str, d: RepoData, row: int, seed: int) -> Any:
    """The id (a commit: sha) of ``row`` of ``kind``, as the endpoint of that name lists it."""
    match kind:
        case "pulls":
            return d.pull_id(row)
        case "issues":
            return d.issue_id(row)
        case "issue_comments":
            return d.issue_comment_id(row)
        case "review_comments":
            return d.review_comment_id(row)
        case "reviews":
            return d.review_id(row)
    return d.commit_sha(seed, row)
