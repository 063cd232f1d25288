"""Generating one repository's items from the seed: creation order, lifetimes, parents and
authors, with some items pinned exactly at the window boundaries (and one second before).

The draw order is part of the data's identity: the same spec gives the same items, on every run
and every machine. About 10 ms per 5,000 items.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

from gh_year_end.testing.fakegithub.repos import RepoData, RepoInfo
from gh_year_end.testing.fakegithub.settings import DataSpec

DAY: Final = 86_400


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
        return min(self.end - 1, created + int(self.rng.expovariate(1.0 / (mean_days * DAY))))

    def pinned(self, j: int, n: int) -> tuple[int, int] | None:
        """(created, updated) for the j-th item of a table of n if it is pinned, else None."""
        if j >= len(self.pins) or j >= n // 2:
            return None
        which, b = self.pins[j]
        if which == "updated":
            return max(self.start, b - self.rng.randint(1, 60 * DAY)), b
        return b, min(self.end - 1, b + self.rng.randint(0, 30 * DAY))

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
            d.cm_delta.append(rng.randint(0, 3 * DAY))
            d.cm_author.append(self.user())
