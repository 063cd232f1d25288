"""One repository as listed (:class:`RepoInfo`) and its items as integer columns
(:class:`RepoData`), with the queries the API lists them by; ids and shas derive from positions.

Id spaces (so ids never collide and grow with creation time inside a repo, as on GitHub)::

    issue id  (issues and the issue side of PRs)   1_000_000_000 + repo_index * 1_000_000 + rank
    pull id                                          2_000_000_000 + …
    issue comment id                                 3_000_000_000 + …
    review comment id                                4_000_000_000 + …
    review id                                        5_000_000_000 + …

Rows are only ever appended, so a row — and the id derived from it — is never reused. Mutations
(:mod:`.mutate`, :mod:`.changes`) keep their state sparse beside the columns, so an untouched repo
pays nothing: the rows deleted per table (:attr:`RepoData.gone`), the edits per table
(:attr:`RepoData.edits`: row → (revision, when)), and the reviews appended to a pull request
after generation (:attr:`RepoData.rv_more`: storage keeps a PR's generated reviews contiguous).
Every query below leaves deleted rows out.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from gh_year_end.testing.fakegithub.settings import MAX_REPOS

Table = Literal["t", "ic", "rc", "rv"]
"""A table of :class:`RepoData`: tickets, issue comments, review comments, reviews."""

STRIDE: Final = 1_000_000
_ISSUE_BASE: Final = 1_000_000_000
_PULL_BASE: Final = 2_000_000_000
_ISSUE_COMMENT_BASE: Final = 3_000_000_000
_REVIEW_COMMENT_BASE: Final = 4_000_000_000
_REVIEW_BASE: Final = 5_000_000_000
REPO_BASE: Final = 600_000_000
USER_BASE: Final = 7_000_000
SHA_COMMIT: Final = 0
SHA_HEAD: Final = 1
SHA_BASE: Final = 2
SHA_MERGE: Final = 3
SHA_TREE: Final = 4
_UNEDITED: Final = (0, 0)
_ORDER_TABLES: Final[dict[str, Table]] = {"tickets": "t", "ic": "ic", "rc": "rc"}


@dataclass(frozen=True, slots=True)
class RepoInfo:
    """One repository as listed: cheap, known for every repo without building its items."""

    index: int
    id: int
    name: str
    full_name: str
    private: bool
    fork: bool
    archived: bool
    status: int | None  # 404, 451 or 403 on every sub-resource; None when the repo answers
    empty: bool  # no items; commits answer 409 "Git Repository is empty."
    created: int
    pushed: int
    default_branch: str = "main"  # drawn with its health (:func:`.health.default_branch`)


def _q() -> array[int]:
    return array("q")


@dataclass(eq=False)
class RepoData:
    """A repo's items as integer columns; row order is creation order (so id order too).

    tickets = issues and pull requests together (they share numbers: number = row + 1).
    """

    index: int
    t_created: array[int] = field(default_factory=_q)
    t_updated: array[int] = field(default_factory=_q)
    t_closed: array[int] = field(default_factory=_q)  # 0 = open
    t_merged: array[int] = field(default_factory=_q)  # 0 = not merged
    t_pull_rank: array[int] = field(default_factory=_q)  # -1 = an issue, else index among PRs
    t_comments: array[int] = field(default_factory=_q)
    t_author: array[int] = field(default_factory=_q)
    ic_created: array[int] = field(default_factory=_q)
    ic_updated: array[int] = field(default_factory=_q)
    ic_parent: array[int] = field(default_factory=_q)
    ic_author: array[int] = field(default_factory=_q)
    rc_created: array[int] = field(default_factory=_q)
    rc_updated: array[int] = field(default_factory=_q)
    rc_parent: array[int] = field(default_factory=_q)
    rc_author: array[int] = field(default_factory=_q)
    # reviews are stored grouped by pull request (chronological inside a PR); ids by time
    rv_submitted: array[int] = field(default_factory=_q)
    rv_parent: array[int] = field(default_factory=_q)
    rv_rank: array[int] = field(default_factory=_q)
    rv_author: array[int] = field(default_factory=_q)
    rv_start: dict[int, tuple[int, int]] = field(default_factory=dict)  # ticket row → slice
    cm_date: array[int] = field(default_factory=_q)  # committer date, ascending
    cm_delta: array[int] = field(default_factory=_q)  # author date = committer date - delta
    cm_author: array[int] = field(default_factory=_q)
    rv_more: dict[int, list[int]] = field(default_factory=dict)  # ticket row → added rows
    gone: dict[Table, set[int]] = field(default_factory=dict)  # deleted rows per table
    edits: dict[Table, dict[int, tuple[int, int]]] = field(default_factory=dict)
    _orders: dict[str, Sequence[int]] = field(default_factory=dict)

    @property
    def tickets(self) -> int:
        """Number of issues + pull requests."""
        return len(self.t_created)

    def issue_id(self, row: int) -> int:
        """The issue id of ticket ``row`` (PRs have one too: it is what /issues lists)."""
        return _ISSUE_BASE + self.index * STRIDE + row

    def pull_id(self, row: int) -> int:
        """The pull request id of ticket ``row`` (which must be a PR)."""
        return _PULL_BASE + self.index * STRIDE + self.t_pull_rank[row]

    def issue_comment_id(self, row: int) -> int:
        """Id of issue comment ``row``."""
        return _ISSUE_COMMENT_BASE + self.index * STRIDE + row

    def review_comment_id(self, row: int) -> int:
        """Id of review comment ``row``."""
        return _REVIEW_COMMENT_BASE + self.index * STRIDE + row

    def review_id(self, row: int) -> int:
        """Id of review ``row`` (storage row, grouped by PR)."""
        return _REVIEW_BASE + self.index * STRIDE + self.rv_rank[row]

    def commit_sha(self, seed: int, row: int) -> str:
        """The sha of commit ``row`` (rows ascend by committer date)."""
        return fake_sha(seed, self.index, SHA_COMMIT, row)

    def commit_size(self, seed: int, row: int) -> tuple[int, int, int]:
        """(additions, deletions, changed files) of commit ``row``: from (seed, repo, row)
        alone, so a commit added by a mutation has its size too. Mostly small: additions
        0–499, deletions 0–299, files 1–20."""
        return commit_size(seed, self.index, row)

    def revision(self, table: Table, row: int) -> tuple[int, int]:
        """(times edited, when last edited) of ``row`` of ``table``; (0, 0) when never edited."""
        found = self.edits.get(table)
        return found.get(row, _UNEDITED) if found else _UNEDITED

    def changed(self) -> None:
        """Forget the cached orders: a mutation moved, added or deleted rows."""
        self._orders.clear()

    # --- orders and queries (row lists, in the order GitHub would list them) ---------------

    def order(self, key: str) -> Sequence[int]:
        """Rows ascending by (field, id); cached, since every page of a listing sorts the same."""
        found = self._orders.get(key)
        if found is not None:
            return found
        columns: dict[str, tuple[array[int], int]] = {
            "tickets.updated": (self.t_updated, self.tickets),
            "tickets.comments": (self.t_comments, self.tickets),
            "ic.updated": (self.ic_updated, len(self.ic_created)),
            "rc.updated": (self.rc_updated, len(self.rc_created)),
        }
        if key in columns:
            col, n = columns[key]
            result: Sequence[int] = sorted(range(n), key=lambda r: (col[r], r))
        elif key == "tickets.created":
            result = range(self.tickets)
        elif key == "ic.created":
            result = range(len(self.ic_created))
        elif key == "rc.created":
            result = range(len(self.rc_created))
        else:
            raise KeyError(key)
        gone = self.gone.get(_ORDER_TABLES[key.partition(".")[0]])
        if gone:
            result = [r for r in result if r not in gone]
        self._orders[key] = result
        return result

    def pulls(self, state: str, sort: str, desc: bool) -> list[int]:
        """Ticket rows of the pull requests, as /pulls lists them."""
        rows = self.order("tickets.updated" if sort == "updated" else "tickets.created")
        it = reversed(rows) if desc else rows
        rank, closed = self.t_pull_rank, self.t_closed
        if state == "open":
            return [r for r in it if rank[r] >= 0 and not closed[r]]
        if state == "closed":
            return [r for r in it if rank[r] >= 0 and closed[r]]
        return [r for r in it if rank[r] >= 0]

    def issues(self, state: str, since: float | None, sort: str, desc: bool) -> list[int]:
        """Ticket rows as /issues lists them (pull requests included)."""
        key = {"updated": "tickets.updated", "comments": "tickets.comments"}.get(
            sort, "tickets.created"
        )
        rows = self.order(key)
        it: Iterable[int] = reversed(rows) if desc else rows
        closed, upd = self.t_closed, self.t_updated
        if since is not None:
            it = (r for r in it if upd[r] >= since)
        if state == "open":
            return [r for r in it if not closed[r]]
        if state == "closed":
            return [r for r in it if closed[r]]
        return list(it)

    def comments(
        self, kind: Literal["ic", "rc"], since: float | None, sort: str, desc: bool
    ) -> list[int]:
        """Issue-comment ("ic") or review-comment ("rc") rows as the repo listing gives them."""
        rows = self.order(f"{kind}.updated" if sort == "updated" else f"{kind}.created")
        it = reversed(rows) if desc else rows
        if since is None:
            return list(it)
        upd = self.ic_updated if kind == "ic" else self.rc_updated
        return [r for r in it if upd[r] >= since]

    def pull_row(self, number: int) -> int | None:
        """The ticket row of pull request ``number``; None when it is no PR (or is deleted)."""
        row = number - 1
        if not 0 <= row < self.tickets or self.t_pull_rank[row] < 0:
            return None
        return None if row in self.gone.get("t", ()) else row

    def reviews(self, number: int) -> list[int] | None:
        """Review rows of PR ``number``, chronological; None when there is no such PR."""
        row = self.pull_row(number)
        if row is None:
            return None
        start, end = self.rv_start.get(row, (0, 0))
        rows = [*range(start, end), *self.rv_more.get(row, ())]
        gone = self.gone.get("rv")
        return [r for r in rows if r not in gone] if gone else rows

    def commits(self, since: float | None, until: float | None) -> list[int]:
        """Commit rows newest first, since <= date <= until (both inclusive, as GitHub)."""
        dates = self.cm_date
        lo = since if since is not None else float("-inf")
        hi = until if until is not None else float("inf")
        return [r for r in range(len(dates) - 1, -1, -1) if lo <= dates[r] <= hi]


_SHA_MUL: Final = 0x9E3779B97F4A7C15F39CC0605CEDC8341082276B  # odd: a bijection mod 2**112
_SHA_ROW_MUL: Final = 0x9E3779B97F4B  # odd: a bijection mod 2**48
_SHA_PREFIX: dict[tuple[int, int, int], str] = {}


def fake_sha(seed: int, repo_index: int, kind: int, row: int) -> str:
    """40 hex digits that look random, one per (seed, repo, kind, row), without hashing.

    28 digits from (seed, repo, kind) — cached — and 12 from the row (rows < 2**48): a sha per
    record costs a dict lookup and a multiplication, not a sha1 of a string.
    """
    prefix = _SHA_PREFIX.get((seed, repo_index, kind))
    if prefix is None:
        key = ((seed & 0xFFFFFFFF) * MAX_REPOS + repo_index) * 8 + kind
        prefix = f"{((key + 0x5BD1E995) * _SHA_MUL) & ((1 << 112) - 1):028x}"
        _SHA_PREFIX[(seed, repo_index, kind)] = prefix
    return f"{prefix}{((row + 1) * _SHA_ROW_MUL) & 0xFFFFFFFFFFFF:012x}"


_MASK64: Final = (1 << 64) - 1


def commit_size(seed: int, repo_index: int, row: int) -> tuple[int, int, int]:
    """See :meth:`RepoData.commit_size` (a splitmix64 of the three, cut into three draws)."""
    x = (seed * 0x9E3779B97F4A7C15 + repo_index * 0xD1B54A32D192ED03 + row + 1) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    x ^= x >> 31
    additions = (x % 1000) ** 2 // 2004
    deletions = ((x >> 20) % 775) ** 2 // 2002
    files = 1 + ((x >> 40) % 400) ** 2 // 8000
    return additions, deletions, files
