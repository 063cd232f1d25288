"""Deterministic data for the fake GitHub: per-repo skeletons, queries, and the expected ids.

Scale without memory: a repo's items are kept as a skeleton of integer arrays (timestamps,
parents, authors; ids derive from positions), built on first use and cached. Full records are
rendered only for the rows of the page being served (see ``fakerecords``), so a fake holding
500,000+ items costs tens of megabytes, not gigabytes.

Everything follows from :class:`DataSpec` (the seed included): the same spec gives the same
repositories, ids, timestamps and bodies, on every run and every machine.

Id spaces (so ids never collide and grow with creation time inside a repo, as on GitHub)::

    issue id  (issues and the issue side of PRs)   1_000_000_000 + repo_index * 1_000_000 + rank
    pull id                                          2_000_000_000 + …
    issue comment id                                 3_000_000_000 + …
    review comment id                                4_000_000_000 + …
    review id                                        5_000_000_000 + …
"""

from __future__ import annotations

import random
import threading
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from gh_year_end.endpoints import ENDPOINT_NAMES

ENDPOINTS: Final = ENDPOINT_NAMES
"""The endpoint names, as in the checkpoint and the data folders."""

Visibility = Literal["all", "public", "private"]

MAX_REPOS: Final = 1000
MAX_PER_REPO: Final = 999_999
_STRIDE: Final = 1_000_000
_ISSUE_BASE: Final = 1_000_000_000
_PULL_BASE: Final = 2_000_000_000
_ISSUE_COMMENT_BASE: Final = 3_000_000_000
_REVIEW_COMMENT_BASE: Final = 4_000_000_000
_REVIEW_BASE: Final = 5_000_000_000
_REPO_BASE: Final = 600_000_000
_USER_BASE: Final = 7_000_000
_DAY: Final = 86_400
SHA_COMMIT: Final = 0
SHA_HEAD: Final = 1
SHA_BASE: Final = 2
SHA_MERGE: Final = 3
SHA_TREE: Final = 4


TOKEN_USER_LOGIN: Final = "fake-user"  # noqa: S105 - a login, not a secret
TOKEN_USER_ID: Final = 1


DATA_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
DATA_END: Final = datetime(2026, 7, 1, tzinfo=UTC)  # exclusive: items run through 2026-06-30
DEFAULT_BOUNDARIES: Final = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class DataSpec:
    """What the fake's data looks like. Item counts are per repository.

    Repo flags and failures are given as repo indexes (``repo-003`` is index 3); indexes past
    ``repos`` are ignored. ``boundaries`` are moments at which some items are placed exactly
    (and one second before), so a window starting or ending there exercises its edges.
    """

    owner: str = "acme"
    mode: Literal["org", "user"] = "org"
    repos: int = 12
    seed: int = 1
    pulls: int = 20
    issues: int = 20
    issue_comments: int = 40
    review_comments: int = 30
    reviews_per_pull: float = 1.5
    commits: int = 40
    forks: tuple[int, ...] = (3,)
    archived: tuple[int, ...] = (5,)
    private: tuple[int, ...] = (1, 7)
    not_found: tuple[int, ...] = ()
    blocked: tuple[int, ...] = ()
    forbidden: tuple[int, ...] = ()
    empty: tuple[int, ...] = ()
    start: datetime = DATA_START
    end: datetime = DATA_END
    boundaries: tuple[datetime, ...] = DEFAULT_BOUNDARIES

    def __post_init__(self) -> None:
        if self.mode not in ("org", "user"):
            raise ValueError(f"mode must be 'org' or 'user', got {self.mode!r}")
        if not self.owner or "/" in self.owner:
            raise ValueError(f"owner must be a GitHub account name, got {self.owner!r}")
        if not 0 <= self.repos <= MAX_REPOS:
            raise ValueError(f"repos must be between 0 and {MAX_REPOS}, got {self.repos}")
        for name in ("pulls", "issues", "issue_comments", "review_comments", "commits"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_PER_REPO:
                raise ValueError(
                    f"{name} must be between 0 and {MAX_PER_REPO} per repo, got {value}"
                )
        if self.pulls + self.issues > MAX_PER_REPO:
            raise ValueError(
                "pulls + issues must stay below 1,000,000 per repo (they share numbers)"
            )
        most_reviews = self.pulls * round(2 * max(0.0, self.reviews_per_pull))
        if self.reviews_per_pull < 0 or most_reviews > MAX_PER_REPO:
            raise ValueError(
                f"reviews_per_pull {self.reviews_per_pull} would make more than "
                f"{MAX_PER_REPO} reviews per repo"
            )
        if self.start.tzinfo is None or self.end.tzinfo is None or self.start >= self.end:
            raise ValueError("start and end must be aware datetimes with start < end")

    @property
    def start_ts(self) -> int:
        """First second items may carry."""
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        """First second past the data (exclusive)."""
        return int(self.end.timestamp())


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


_DAY_TEXT: dict[int, str] = {}
_HOUR_MINUTE: Final = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECOND: Final = [f"{sec:02d}Z" for sec in range(60)]


def iso(ts: float) -> str:
    """Epoch seconds → GitHub's timestamp form, 2025-03-04T05:06:07Z.

    Table lookups with a per-day cache: strftime costs more than the rest of a record's fields.
    """
    day, sec = divmod(int(ts), _DAY)
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * _DAY))
    return text + _HOUR_MINUTE[sec // 60] + _SECOND[sec % 60]


def parse_moment(text: str) -> datetime:
    """ISO-8601 text (a date, or a timestamp with Z or an offset) → aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)  # ValueError on junk, for the caller to answer 422
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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
    _orders: dict[str, Sequence[int]] = field(default_factory=dict)

    @property
    def tickets(self) -> int:
        """Number of issues + pull requests."""
        return len(self.t_created)

    def issue_id(self, row: int) -> int:
        """The issue id of ticket ``row`` (PRs have one too: it is what /issues lists)."""
        return _ISSUE_BASE + self.index * _STRIDE + row

    def pull_id(self, row: int) -> int:
        """The pull request id of ticket ``row`` (which must be a PR)."""
        return _PULL_BASE + self.index * _STRIDE + self.t_pull_rank[row]

    def issue_comment_id(self, row: int) -> int:
        """Id of issue comment ``row``."""
        return _ISSUE_COMMENT_BASE + self.index * _STRIDE + row

    def review_comment_id(self, row: int) -> int:
        """Id of review comment ``row``."""
        return _REVIEW_COMMENT_BASE + self.index * _STRIDE + row

    def review_id(self, row: int) -> int:
        """Id of review ``row`` (storage row, grouped by PR)."""
        return _REVIEW_BASE + self.index * _STRIDE + self.rv_rank[row]

    def commit_sha(self, seed: int, row: int) -> str:
        """The sha of commit ``row`` (rows ascend by committer date)."""
        return fake_sha(seed, self.index, SHA_COMMIT, row)

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

    def reviews(self, number: int) -> list[int] | None:
        """Review rows of PR ``number``, chronological; None when there is no such PR."""
        row = number - 1
        if not 0 <= row < self.tickets or self.t_pull_rank[row] < 0:
            return None
        start, end = self.rv_start.get(row, (0, 0))
        return list(range(start, end))

    def commits(self, since: float | None, until: float | None) -> list[int]:
        """Commit rows newest first, since <= date <= until (both inclusive, as GitHub)."""
        dates = self.cm_date
        lo = since if since is not None else float("-inf")
        hi = until if until is not None else float("inf")
        return [r for r in range(len(dates) - 1, -1, -1) if lo <= dates[r] <= hi]


class _Clock:
    """Random timestamps inside the data range, with some items pinned to the boundaries."""

    def __init__(self, spec: DataSpec, rng: random.Random) -> None:
        self.rng = rng
        self.start = spec.start_ts
        self.end = spec.end_ts
        # Per boundary: updated exactly at it (in a window starting there), created exactly at
        # it (out of a window ending there), and both one second before.
        self.pins: list[tuple[str, int]] = []
        for moment in spec.boundaries:
            b = int(moment.timestamp())
            if self.start < b < self.end:
                self.pins += [
                    ("updated", b),
                    ("created", b - 1),
                    ("created", b),
                    ("updated", b - 1),
                ]

    def any(self) -> int:
        return self.start + int(self.rng.random() * (self.end - self.start))

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.rng.random() * (max(lo, hi) - lo + 1))

    def later(self, created: int, mean_days: float) -> int:
        return min(self.end - 1, created + int(self.rng.expovariate(1.0 / (mean_days * _DAY))))

    def pinned(self, j: int, n: int) -> tuple[int, int] | None:
        """(created, updated) for the j-th item of a table of n if it is pinned, else None."""
        if j >= len(self.pins) or j >= n // 2:
            return None
        which, b = self.pins[j]
        if which == "updated":
            return max(self.start, b - self.rng.randint(1, 60 * _DAY)), b
        return b, min(self.end - 1, b + self.rng.randint(0, 30 * _DAY))

    def lifetime(self, j: int, n: int, mean_days: float) -> tuple[int, int]:
        pinned = self.pinned(j, n)
        if pinned is not None:
            return pinned
        created = self.any()
        return created, self.later(created, mean_days)


def build_repo(spec: DataSpec, info: RepoInfo, n_users: int) -> RepoData:
    """Generate one repo's skeleton from the seed (about 10 ms per 5,000 items)."""
    data = RepoData(index=info.index)
    if info.empty or info.status is not None:
        return data
    gen = _Generator(spec, data, random.Random(f"ghye-fake:{spec.seed}:{info.index}"), n_users)
    gen.tickets()
    gen.comments()
    gen.reviews()
    gen.commits()
    return data


class _Generator:
    """Fills a :class:`RepoData` table by table; the draw order is part of the data's identity."""

    def __init__(self, spec: DataSpec, data: RepoData, rng: random.Random, n_users: int) -> None:
        self.spec = spec
        self.data = data
        self.rng = rng
        self.n_users = n_users
        self.clock = _Clock(spec, rng)
        self.pull_rows: list[int] = []

    def user(self) -> int:
        """A random author (random() is ~3x cheaper than randrange at this volume)."""
        return int(self.rng.random() * self.n_users)

    def tickets(self) -> None:
        """Issues and PRs interleaved in creation order, sharing numbers."""
        spec, rng, clock, d = self.spec, self.rng, self.clock, self.data
        kinds = [True] * spec.pulls + [False] * spec.issues
        rng.shuffle(kinds)
        seen = {True: 0, False: 0}
        raw: list[tuple[int, int, int, int, int, bool, int]] = []
        for g, is_pull in enumerate(kinds):
            j = seen[is_pull]
            seen[is_pull] += 1
            created, updated = clock.lifetime(j, spec.pulls if is_pull else spec.issues, 25.0)
            closed = merged = 0
            if rng.random() < (0.65 if is_pull else 0.55):
                closed = clock.between(created, updated)
                if is_pull and rng.random() < 0.8:
                    merged = closed
            raw.append((created, g, updated, closed, merged, is_pull, self.user()))
        raw.sort()
        pull_rank = 0
        for created, _g, updated, closed, merged, is_pull, author in raw:
            d.t_created.append(created)
            d.t_updated.append(updated)
            d.t_closed.append(closed)
            d.t_merged.append(merged)
            d.t_pull_rank.append(pull_rank if is_pull else -1)
            pull_rank += is_pull
            d.t_author.append(author)
            d.t_comments.append(0)
        self.pull_rows = [r for r in range(d.tickets) if d.t_pull_rank[r] >= 0]

    def _comments(self, n: int, parents: Sequence[int]) -> list[tuple[int, int, int, int, int]]:
        rng, clock, d = self.rng, self.clock, self.data
        out: list[tuple[int, int, int, int, int]] = []
        if not parents:
            return out
        for j in range(n):
            parent = parents[int(rng.random() * len(parents))]
            pinned = clock.pinned(j, n)
            if pinned is not None:
                created, updated = pinned
            else:
                created = clock.between(d.t_created[parent], d.t_updated[parent])
                updated = created if rng.random() < 0.8 else clock.later(created, 3.0)
            out.append((created, j, updated, parent, self.user()))
        out.sort()
        return out

    def comments(self) -> None:
        """Issue comments on any ticket, review comments on PRs, inside their parent's life."""
        d = self.data
        for created, _j, updated, parent, author in self._comments(
            self.spec.issue_comments, range(d.tickets)
        ):
            d.ic_created.append(created)
            d.ic_updated.append(updated)
            d.ic_parent.append(parent)
            d.ic_author.append(author)
            d.t_comments[parent] += 1
        for created, _j, updated, parent, author in self._comments(
            self.spec.review_comments, self.pull_rows
        ):
            d.rc_created.append(created)
            d.rc_updated.append(updated)
            d.rc_parent.append(parent)
            d.rc_author.append(author)

    def reviews(self) -> None:
        """A few per PR inside its life; a PR alive at a boundary may get one exactly there."""
        rng, clock, d = self.rng, self.clock, self.data
        most = round(2 * self.spec.reviews_per_pull)
        reviews: list[tuple[int, int, int, int]] = []  # (submitted, g, parent, author)
        for row in self.pull_rows:
            lo, hi = d.t_created[row], d.t_updated[row]
            stamps = [clock.between(lo, hi) for _ in range(rng.randint(0, most))]
            for _which, b in clock.pins:
                if stamps and lo <= b <= hi and rng.random() < 0.5:
                    stamps[0] = b
            for stamp in stamps:
                reviews.append((stamp, len(reviews), row, self.user()))
        # ids grow with submission time; storage is grouped by PR, chronological inside one
        rank = {g: i for i, (_s, g, _p, _a) in enumerate(sorted(reviews))}
        reviews.sort(key=lambda rv: (rv[2], rv[0], rank[rv[1]]))
        for i, (submitted, g, parent, author) in enumerate(reviews):
            d.rv_submitted.append(submitted)
            d.rv_parent.append(parent)
            d.rv_rank.append(rank[g])
            d.rv_author.append(author)
            start, _end = d.rv_start.get(parent, (i, i))
            d.rv_start[parent] = (start, i + 1)

    def commits(self) -> None:
        """Committer dates anywhere in the range, some exactly at each boundary and 1 s before."""
        rng, clock, d, n = self.rng, self.clock, self.data, self.spec.commits
        pins = [b for which, b in clock.pins if which == "created"]
        stamps: list[tuple[int, int]] = []
        for j in range(n):
            pinned_at = pins[j] if j < len(pins) and j < n // 2 else None
            stamps.append((clock.any() if pinned_at is None else pinned_at, j))
        stamps.sort()
        for stamp, _j in stamps:
            d.cm_date.append(stamp)
            d.cm_delta.append(rng.randint(0, 3 * _DAY))
            d.cm_author.append(self.user())


def _user_logins(count: int) -> list[str]:
    first = ("amber", "basil", "cedar", "delta", "ember", "fjord", "gamma", "hazel")
    second = ("fox", "owl", "lynx", "wren", "yak", "ibis")
    return [f"{first[i % 8]}-{second[(i // 8) % 6]}{i // 48 or ''}" for i in range(count)]


class FakeData:
    """The fake's whole dataset: repo list up front, repo skeletons built lazily and cached."""

    N_USERS: Final = 48

    def __init__(self, spec: DataSpec) -> None:
        self.spec = spec
        self.logins = _user_logins(self.N_USERS)
        self.user_ids = [_USER_BASE + 7919 * i for i in range(self.N_USERS)]
        self.owner_id = TOKEN_USER_ID if spec.mode == "user" else 9_000_000 + spec.seed % 1000
        self._lock = threading.Lock()
        self._built: dict[int, RepoData] = {}
        status: dict[int, int] = {}
        for codes, code in ((spec.forbidden, 403), (spec.blocked, 451), (spec.not_found, 404)):
            status.update(dict.fromkeys(codes, code))
        repos = []
        for i in range(spec.repos):
            created = spec.start_ts - (spec.repos - i) * _DAY
            repos.append(
                RepoInfo(
                    index=i,
                    id=_REPO_BASE + (spec.seed % 100) * 10_000 + i,
                    name=f"repo-{i:03d}",
                    full_name=f"{spec.owner}/repo-{i:03d}",
                    private=i in spec.private,
                    fork=i in spec.forks,
                    archived=i in spec.archived,
                    status=status.get(i),
                    empty=i in spec.empty,
                    created=created,
                    pushed=created if i in spec.empty else spec.end_ts - 1 - i * 3600,
                )
            )
        self.repos: tuple[RepoInfo, ...] = tuple(repos)
        self._by_name = {r.full_name.lower(): r for r in repos}
        self._by_id = {r.id: r for r in repos}

    def find(self, owner: str, name: str) -> RepoInfo | None:
        """The repo ``owner/name`` (case-insensitive, as GitHub), or None."""
        return self._by_name.get(f"{owner}/{name}".lower())

    def find_id(self, repo_id: int) -> RepoInfo | None:
        """The repo with GitHub id ``repo_id``, or None."""
        return self._by_id.get(repo_id)

    def repo(self, info: RepoInfo) -> RepoData:
        """The repo's skeleton, built on first use (thread-safe: the server and tests share it)."""
        found = self._built.get(info.index)
        if found is not None:
            return found
        with self._lock:
            found = self._built.get(info.index)
            if found is None:
                found = build_repo(self.spec, info, self.N_USERS)
                self._built[info.index] = found
            return found

    def sha(self, info: RepoInfo, row: int) -> str:
        """The sha of commit ``row`` of ``info``."""
        return self.repo(info).commit_sha(self.spec.seed, row)

    def select(
        self, *, include_forks: bool, include_archived: bool, visibility: Visibility
    ) -> list[RepoInfo]:
        """The repos discovery keeps with these filters, by full name."""
        kept = []
        for info in sorted(self.repos, key=lambda r: r.full_name.lower()):
            if (info.fork and not include_forks) or (info.archived and not include_archived):
                continue
            if visibility == "public" and info.private:
                continue
            if visibility == "private" and not info.private:
                continue
            kept.append(info)
        return kept

    def expected(
        self,
        since: datetime,
        until: datetime,
        *,
        include_forks: bool = False,
        include_archived: bool = False,
        visibility: Visibility = "all",
    ) -> dict[str, Any]:
        """What a correct collection of [since, until) holds; see FakeGitHub.expected."""
        s = _aware(since).timestamp()
        u = _aware(until).timestamp()
        repos = self.select(
            include_forks=include_forks, include_archived=include_archived, visibility=visibility
        )
        units: dict[str, dict[str, list[Any]]] = {}
        unavailable: dict[str, int] = {}
        empty: list[str] = []
        for info in repos:
            if info.status is not None:
                unavailable[info.full_name] = info.status
            if info.empty:
                empty.append(info.full_name)
            units[info.full_name] = self._unit_ids(info, s, u)
        return {
            "since": iso(s),
            "until": iso(u),
            "repos": [r.full_name for r in repos],
            "units": units,
            "unavailable": unavailable,
            "empty": empty,
        }

    def _unit_ids(self, info: RepoInfo, s: float, u: float) -> dict[str, list[Any]]:
        d = self.repo(info)

        def keep(created: array[int], updated: array[int]) -> list[int]:
            return [r for r in range(len(created)) if created[r] < u and updated[r] >= s]

        tickets = set(keep(d.t_created, d.t_updated))
        pulls = sorted(r for r in tickets if d.t_pull_rank[r] >= 0)
        window_pulls = set(pulls)
        reviews = sorted(
            d.review_id(r)
            for r in range(len(d.rv_submitted))
            if d.rv_parent[r] in window_pulls and s <= d.rv_submitted[r] < u
        )
        return {
            "pulls": [d.pull_id(r) for r in pulls],
            "issues": [d.issue_id(r) for r in sorted(tickets) if d.t_pull_rank[r] < 0],
            "issue_comments": [d.issue_comment_id(r) for r in keep(d.ic_created, d.ic_updated)],
            "review_comments": [d.review_comment_id(r) for r in keep(d.rc_created, d.rc_updated)],
            "reviews": reviews,
            "commits": [
                d.commit_sha(self.spec.seed, r)
                for r in range(len(d.cm_date))
                if s <= d.cm_date[r] < u
            ],
        }

    def totals(self) -> dict[str, int]:
        """Items per endpoint over every answering repo (what a full, windowless crawl sees)."""
        out = dict.fromkeys(ENDPOINTS, 0)
        for info in self.repos:
            d = self.repo(info)
            n_pulls = sum(1 for r in d.t_pull_rank if r >= 0)
            out["pulls"] += n_pulls
            out["issues"] += d.tickets - n_pulls
            out["issue_comments"] += len(d.ic_created)
            out["review_comments"] += len(d.rc_created)
            out["reviews"] += len(d.rv_submitted)
            out["commits"] += len(d.cm_date)
        return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
