"""The fake's whole dataset (:class:`FakeData`): the repo list up front, each repo's items built
on first use and cached, and the ids a correct collection of a window holds.

Scale without memory: a repo's items are a skeleton of integer arrays (:mod:`.repos`), and full
records are rendered only for the rows of the page being served (:mod:`.records`), so a fake
holding 500,000+ items costs tens of megabytes, not gigabytes. Everything follows from the
:class:`DataSpec` (the seed included) — and from the mutations applied since (:mod:`.mutate`):
each one bumps :attr:`FakeData.generation` (caches of row lists key on it), may append repos
(:meth:`FakeData.add_repo`) or push one (:meth:`FakeData.push`), and holds :attr:`FakeData.lock`
while it runs, which :meth:`FakeData.expected` and :meth:`FakeData.totals` take too: they may
be asked from another thread than the server's, where mutations run.

Each repo's health (default branch, licence, trees, protection, …: :mod:`.health`) is drawn on
first use from the seed and its index alone, beside its items and without touching their draws;
admin rights on it are ``admin_repos``'.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from array import array
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Final, Literal

from gh_year_end.testing.fakegithub.generate import DAY, build_repo
from gh_year_end.testing.fakegithub.health import RepoHealth, build_health, default_branch
from gh_year_end.testing.fakegithub.repos import REPO_BASE, USER_BASE, RepoData, RepoInfo, Table
from gh_year_end.testing.fakegithub.settings import MAX_REPOS, DataSpec

ENDPOINTS: Final = ("pulls", "issues", "issue_comments", "review_comments", "reviews", "commits")
"""The endpoints of the items (REST lists), as in the checkpoint and the data folders: the keys
of each repo's ``expected`` units and of ``totals``."""
EXTRA_ENDPOINTS: Final = ("repo_health", "commit_stats")
"""What GraphQL alone collects (25 repositories a query), in ``expected`` and ``totals`` when
asked (``extra``): ``repo_health`` — the repo's full name once, for every repo that answers (an
empty one too: ``isEmpty``); ``commit_stats`` — the window's commit shas, as ``commits``."""

Visibility = Literal["all", "public", "private"]

TOKEN_USER_LOGIN: Final = "fake-user"  # noqa: S105 - a login, not a secret
TOKEN_USER_ID: Final = 1
BOTS: Final = (("dependabot", 8_000_001), ("renovate", 8_000_002))
"""The GitHub Apps whose bot accounts author some reviews: (app slug, bot account id). REST
shows the bot as user ``slug[bot]`` of type "Bot"; GraphQL as a ``Bot`` whose login is the
bare slug."""
_BOT_EVERY: Final = 11

_DAY_TEXT: dict[int, str] = {}
_HOUR_MINUTE: Final = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECOND: Final = [f"{sec:02d}Z" for sec in range(60)]


def iso(ts: float) -> str:
    """Epoch seconds → GitHub's timestamp form, 2025-03-04T05:06:07Z.

    Table lookups with a per-day cache: strftime costs more than the rest of a record's fields.
    """
    day, sec = divmod(int(ts), DAY)
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
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


def review_bot(review_id: int) -> int | None:
    """The bot (index into :data:`BOTS`) that authored review ``review_id``, or None when a
    person did: about one review in 11, by id alone (no draw: the data stays what it was)."""
    if review_id % _BOT_EVERY != 7:
        return None
    return (review_id // _BOT_EVERY) % len(BOTS)


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
        self.user_ids = [USER_BASE + 7919 * i for i in range(self.N_USERS)]
        self.owner_id = TOKEN_USER_ID if spec.mode == "user" else 9_000_000 + spec.seed % 1000
        self._lock = threading.Lock()
        self.lock = threading.RLock()  # held by a mutation, and by readers off the server loop
        self.generation = 0  # mutations applied so far
        self.mutated_at = 0  # the moment of the last one (epoch seconds)
        self._built: dict[int, RepoData] = {}
        self._health: dict[int, RepoHealth] = {}
        status: dict[int, int] = {}
        for codes, code in ((spec.forbidden, 403), (spec.blocked, 451), (spec.not_found, 404)):
            status.update(dict.fromkeys(codes, code))
        repos = []
        for i in range(spec.repos):
            created = spec.start_ts - (spec.repos - i) * DAY
            repos.append(
                self._repo_info(
                    i,
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

    def _repo_info(self, i: int, **fields: Any) -> RepoInfo:
        name = f"repo-{i:03d}"
        repo_id = REPO_BASE + (self.spec.seed % 100) * 10_000 + i
        return RepoInfo(
            index=i,
            id=repo_id,
            name=name,
            full_name=f"{self.spec.owner}/{name}",
            default_branch=default_branch(self.spec.seed, i),
            **fields,
        )

    def add_repo(self, now: int) -> RepoInfo:
        """A new repository at the end of the list, created and pushed ``now``: public, no fork,
        not archived, answering; its items are generated as every repo's are (from the seed and
        its index), as if its history had been pushed to it now."""
        i = len(self.repos)
        if i >= MAX_REPOS:
            raise ValueError(f"the fake holds at most {MAX_REPOS} repositories")
        info = self._repo_info(
            i,
            private=False,
            fork=False,
            archived=False,
            status=None,
            empty=False,
            created=now,
            pushed=now,
        )
        self._put(info)
        return info

    def push(self, info: RepoInfo, now: int) -> RepoInfo:
        """``info`` pushed to at ``now`` (its pushed_at, and the updated_at the fake ties to it)."""
        pushed = dataclasses.replace(info, pushed=now)
        self._put(pushed)
        return pushed

    def _put(self, info: RepoInfo) -> None:
        """Add or replace a repo; readers holding the old tuple keep a consistent one."""
        repos = list(self.repos)
        if info.index < len(repos):
            repos[info.index] = info
        else:
            repos.append(info)
        self.repos = tuple(repos)
        self._by_name[info.full_name.lower()] = info
        self._by_id[info.id] = info

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

    def health(self, info: RepoInfo) -> RepoHealth:
        """The repo's health (:mod:`.health`), drawn on first use."""
        found = self._health.get(info.index)
        if found is None:
            found = self._health.setdefault(info.index, build_health(self.spec.seed, info.index))
        return found

    def admin(self, info: RepoInfo) -> bool:
        """Whether the primary account has admin rights on the repo (``admin_repos``)."""
        return info.index in self.spec.admin_repos

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
        extra: Collection[str] = (),
    ) -> dict[str, Any]:
        """What a correct collection of [since, until) holds; see FakeGitHub.expected."""
        unknown = sorted(set(extra) - set(EXTRA_ENDPOINTS))
        if unknown:
            raise ValueError(f"extra: unknown {unknown}; known: {', '.join(EXTRA_ENDPOINTS)}")
        s = _aware(since).timestamp()
        u = _aware(until).timestamp()
        units: dict[str, dict[str, list[Any]]] = {}
        unavailable: dict[str, int] = {}
        empty: list[str] = []
        with self.lock:
            repos = self.select(
                include_forks=include_forks,
                include_archived=include_archived,
                visibility=visibility,
            )
            for info in repos:
                if info.status is not None:
                    unavailable[info.full_name] = info.status
                if info.empty:
                    empty.append(info.full_name)
                units[info.full_name] = self._unit_ids(info, s, u)
                if "repo_health" in extra:
                    answers = info.status is None
                    units[info.full_name]["repo_health"] = [info.full_name] if answers else []
                if "commit_stats" in extra:
                    units[info.full_name]["commit_stats"] = list(units[info.full_name]["commits"])
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

        def keep(table: Table, created: array[int], updated: array[int]) -> list[int]:
            gone = d.gone.get(table, ())
            return [
                r
                for r in range(len(created))
                if created[r] < u and updated[r] >= s and r not in gone
            ]

        tickets = set(keep("t", d.t_created, d.t_updated))
        pulls = sorted(r for r in tickets if d.t_pull_rank[r] >= 0)
        window_pulls = set(pulls)
        gone_reviews = d.gone.get("rv", ())
        reviews = sorted(
            d.review_id(r)
            for r in range(len(d.rv_submitted))
            if d.rv_parent[r] in window_pulls
            and s <= d.rv_submitted[r] < u
            and r not in gone_reviews
        )
        ic = keep("ic", d.ic_created, d.ic_updated)
        rc = keep("rc", d.rc_created, d.rc_updated)
        return {
            "pulls": [d.pull_id(r) for r in pulls],
            "issues": [d.issue_id(r) for r in sorted(tickets) if d.t_pull_rank[r] < 0],
            "issue_comments": [d.issue_comment_id(r) for r in ic],
            "review_comments": [d.review_comment_id(r) for r in rc],
            "reviews": reviews,
            "commits": [
                d.commit_sha(self.spec.seed, r)
                for r in range(len(d.cm_date))
                if s <= d.cm_date[r] < u
            ],
        }

    def totals(self, extra: Collection[str] = ()) -> dict[str, int]:
        """Items per endpoint over every answering repo (what a full, windowless crawl sees);
        ``extra`` as for :meth:`expected`."""
        out = dict.fromkeys((*ENDPOINTS, *(e for e in EXTRA_ENDPOINTS if e in extra)), 0)
        with self.lock:
            for info in self.repos:
                d = self.repo(info)
                gone = d.gone.get("t", ())
                alive = [rank >= 0 for r, rank in enumerate(d.t_pull_rank) if r not in gone]
                out["pulls"] += sum(alive)
                out["issues"] += len(alive) - sum(alive)
                out["issue_comments"] += len(d.ic_created) - len(d.gone.get("ic", ()))
                out["review_comments"] += len(d.rc_created) - len(d.gone.get("rc", ()))
                out["reviews"] += len(d.rv_submitted) - len(d.gone.get("rv", ()))
                out["commits"] += len(d.cm_date)
                if "repo_health" in extra:
                    out["repo_health"] += info.status is None
        if "commit_stats" in extra:
            out["commit_stats"] = out["commits"]
        return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
