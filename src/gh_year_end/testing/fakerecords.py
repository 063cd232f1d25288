"""GitHub-shaped JSON records for the fake, rendered per page from per-repo templates.

Building a 45-key dict per pull request and serialising it costs ~25 µs; the server must turn
out several hundred 100-record pages a second. So each record kind has a *skeleton* per repo —
the record as a dict whose varying parts are holes — serialised once and cut into static
pieces. Rendering a record is then one join over those pieces and a dozen
small strings.

Holes: :func:`value` stands for a whole JSON value (the caller passes JSON text: ``"\\"x\\""``,
``"12"``, ``"null"``); :func:`inline` stands for raw text inside a JSON string (URL-safe
characters only: numbers, hex, logins). Approximate sizes: PR ~5.8 KB, issue ~3 KB, issue
comment ~2 KB, review comment ~2.3 KB, review ~1.6 KB, commit ~3.4 KB (each embeds full user
objects, as GitHub's do).
"""

from __future__ import annotations

import operator
import random
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Final

import orjson

from gh_year_end.testing.fakedata import (
    SHA_BASE,
    SHA_HEAD,
    SHA_MERGE,
    SHA_TREE,
    TOKEN_USER_ID,
    TOKEN_USER_LOGIN,
    FakeData,
    RepoData,
    RepoInfo,
    fake_sha,
    iso,
)

REVIEW_STATES: Final = ("APPROVED", "COMMENTED", "CHANGES_REQUESTED", "COMMENTED")
HTML_BASE: Final = "https://github.example"

RecordBuilder = Callable[[RepoInfo, RepoData, int], str]
"""(repo, skeleton, row) → one record's JSON text."""

# Private-use characters: orjson writes them as they are, and no real text contains them.
_VALUE_OPEN, _VALUE_CLOSE = "\ue002", "\ue003"
_INLINE_OPEN, _INLINE_CLOSE = "\ue000", "\ue001"
_VALUE_HOLE: Final = re.compile(f'"{_VALUE_OPEN}(\\d+){_VALUE_CLOSE}"')
_INLINE_HOLE: Final = re.compile(f"{_INLINE_OPEN}(\\d+){_INLINE_CLOSE}")


def value(k: int) -> str:
    """Hole ``k`` for a whole JSON value."""
    return f"{_VALUE_OPEN}{k}{_VALUE_CLOSE}"


def inline(k: int) -> str:
    """Hole ``k`` for raw text inside a JSON string."""
    return f"{_INLINE_OPEN}{k}{_INLINE_CLOSE}"


class Template:
    """A skeleton serialised once; ``render(*parts)`` fills hole k with ``parts[k]``.

    Kept as the static pieces between holes plus the hole order, and rendered by slice
    assignment and one join: ``str.format`` would re-parse kilobytes of template per record.
    """

    def __init__(self, skeleton: Any) -> None:
        text = orjson.dumps(skeleton).decode()
        text = _VALUE_HOLE.sub(lambda m: f"{_INLINE_OPEN}{m.group(1)}{_INLINE_CLOSE}", text)
        split = _INLINE_HOLE.split(text)  # static, hole, static, hole, …, static
        self._pieces = split[0::2]
        holes = [int(k) for k in split[1::2]]
        if len(holes) < 2:
            raise ValueError("a template needs at least two holes")
        self._pick = operator.itemgetter(*holes)
        self._size = 2 * len(holes) + 1

    def render(self, *parts: str) -> str:
        """The record's JSON text with hole k replaced by ``parts[k]``."""
        buf: list[str] = [""] * self._size
        buf[0::2] = self._pieces
        buf[1::2] = self._pick(parts)
        return "".join(buf)


def _when(ts: int) -> str:
    return f'"{iso(ts)}"'


def _when_or_null(ts: int) -> str:
    return f'"{iso(ts)}"' if ts else "null"


_PROSE: Final = (
    "the collector pages through pull requests issues comments and reviews while a checkpoint "
    "records each committed page so that an interrupted run resumes exactly where it stopped "
    "without losing or duplicating a record rate limits secondary limits and transient server "
    "errors are retried with backoff tests fixtures refactor migrate deprecate benchmark cache "
    "latency throughput memory schema version release changelog documentation typo config "
    "parser validator endpoint pagination cursor window boundary timezone offset encoding "
    "unicode newline buffer flush fsync rename atomic journal snapshot compaction lock owner"
)
_WORDS: Final = _PROSE.split()


@cache
def corpus() -> str:
    """~200 KB of deterministic markdown-ish prose that bodies are sliced from."""
    rng = random.Random("ghye-fake-corpus")
    parts: list[str] = []
    size = 0
    while size < 200_000:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18)))
        sentence = sentence.capitalize() + rng.choice(
            (". ", ". ", "? ", ".\n\n", ".\n\n- ", ": `x`. ")
        )
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


def text(key: int, lo: int, hi: int) -> str:
    """A deterministic slice of the corpus of length in [lo, hi), chosen by ``key``."""
    body = corpus()
    h = (key * 2654435761 + 97) & 0xFFFFFFFF
    length = lo + h % max(1, hi - lo)
    offset = (h >> 5) % (len(body) - hi - 1)
    return body[offset : offset + length]


@cache
def _corpus_json() -> str:
    # the corpus has no quote, backslash or control character but the newline
    return corpus().replace("\n", "\\n")


def text_json(key: int, lo: int, hi: int) -> str:
    """Like :func:`text`, as a JSON string literal (sliced from a pre-escaped corpus)."""
    body = _corpus_json()
    h = (key * 2654435761 + 97) & 0xFFFFFFFF
    end = (h >> 5) % (len(body) - hi - 1) + lo + h % max(1, hi - lo)
    start = (h >> 5) % (len(body) - hi - 1)
    piece = body[start:end]
    if piece.endswith("\\"):  # do not cut an escape in half
        piece = piece[:-1]
    return f'"{piece}"'


@cache
def _corpus_line() -> str:
    return corpus().replace("\n", " ")


def _title_json(key: int) -> str:
    line = _corpus_line()
    h = (key * 2246822519 + 31) & 0xFFFFFFFF
    start = h % (len(line) - 80)
    return '"' + line[start : start + 20 + h % 50].strip().capitalize() + '"'


class Records:
    """Renders GitHub-shaped records for one server (its base URL is in every url)."""

    def __init__(self, data: FakeData, api: str, html: str = HTML_BASE) -> None:
        self.data = data
        self.api = api
        self.html = html
        self._users = [
            self._account(login, uid, "User")
            for login, uid in zip(data.logins, data.user_ids, strict=True)
        ]
        self._users_json = [orjson.dumps(u).decode() for u in self._users]
        self._people = [
            (login.replace("-", " ").title(), f"{login}@example.com") for login in data.logins
        ]
        kind = "Organization" if data.spec.mode == "org" else "User"
        self._owner = self._account(data.spec.owner, data.owner_id, kind)
        self._label_pool = self._make_labels()
        self._labels_json = [orjson.dumps(self.labels(k)).decode() for k in range(12)]
        self._templates: dict[tuple[str, int], Template] = {}
        self._prefixes: dict[int, tuple[str, str]] = {}
        self._repos_json: dict[int, str] = {}

    # --- shared sub-objects --------------------------------------------------------------

    def user(self, k: int) -> dict[str, Any]:
        """User ``k`` of the pool."""
        return self._users[k]

    def owner(self) -> dict[str, Any]:
        """The org or user that owns every repo."""
        return self._owner

    def token_user(self) -> dict[str, Any]:
        """The account the token belongs to (the owner in user mode)."""
        if self.data.spec.mode == "user":
            return self._owner
        return self._account(TOKEN_USER_LOGIN, TOKEN_USER_ID, "User")

    def _account(self, login: str, uid: int, kind: str) -> dict[str, Any]:
        u = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": f"MDQ6VXNlcj{uid:x}",
            "avatar_url": f"https://avatars.github.example/u/{uid}?v=4",
            "gravatar_id": "",
            "url": u,
            "html_url": f"{self.html}/{login}",
            "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}",
            "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs",
            "repos_url": f"{u}/repos",
            "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _make_labels(self) -> list[dict[str, Any]]:
        names = ("bug", "enhancement", "documentation", "good first issue", "performance", "ci")
        return [
            {
                "id": 4_000_000 + i,
                "node_id": f"LA_kwDOfake{i}",
                "url": f"{self.api}/labels/{name.replace(' ', '%20')}",
                "name": name,
                "color": f"{(i * 2654435) & 0xFFFFFF:06x}",
                "default": i < 3,
                "description": text(i, 10, 40),
            }
            for i, name in enumerate(names)
        ]

    def labels(self, key: int) -> list[dict[str, Any]]:
        """0–3 labels from a small pool, chosen by ``key`` (depends on key % 12 only)."""
        pool = self._label_pool
        return [pool[(key + i) % len(pool)] for i in range(key % 4)]

    def stub(self, info: RepoInfo) -> dict[str, Any]:
        """The repo stub embedded in a PR's head and base."""
        return {
            "id": info.id,
            "node_id": f"R_kgDO{info.id:x}",
            "name": info.name,
            "full_name": info.full_name,
            "private": info.private,
            "html_url": f"{self.html}/{info.full_name}",
            "url": f"{self.api}/repos/{info.full_name}",
            "fork": info.fork,
            "default_branch": "main",
            "visibility": "private" if info.private else "public",
        }

    def prefixes(self, info: RepoInfo) -> tuple[str, str]:
        """(API url, html url) of the repo."""
        found = self._prefixes.get(info.index)
        if found is None:
            found = (f"{self.api}/repos/{info.full_name}", f"{self.html}/{info.full_name}")
            self._prefixes[info.index] = found
        return found

    def sha(self, info: RepoInfo, kind: int, row: int) -> str:
        """A stable sha for a PR's head/base/merge commit or a commit's tree."""
        return fake_sha(self.data.spec.seed, info.index, kind, row)

    def _template(self, kind: str, info: RepoInfo, make: Callable[[RepoInfo], Any]) -> Template:
        found = self._templates.get((kind, info.index))
        if found is None:
            found = Template(make(info))
            self._templates[(kind, info.index)] = found
        return found

    # --- repositories -----------------------------------------------------------------------

    def repository(self, info: RepoInfo) -> dict[str, Any]:
        """A repo as the listings show it."""
        r = f"{self.api}/repos/{info.full_name}"
        return {
            **self.stub(info),
            "owner": self._owner,
            "description": text(info.id, 30, 120),
            "archive_url": f"{r}/{{archive_format}}{{/ref}}",
            "branches_url": f"{r}/branches{{/branch}}",
            "collaborators_url": f"{r}/collaborators{{/collaborator}}",
            "comments_url": f"{r}/comments{{/number}}",
            "commits_url": f"{r}/commits{{/sha}}",
            "contributors_url": f"{r}/contributors",
            "issue_comment_url": f"{r}/issues/comments{{/number}}",
            "issues_url": f"{r}/issues{{/number}}",
            "pulls_url": f"{r}/pulls{{/number}}",
            "created_at": iso(info.created),
            "updated_at": iso(info.pushed),
            "pushed_at": iso(info.pushed),
            "size": 0 if info.empty else 100 + info.id % 9000,
            "stargazers_count": info.id % 50,
            "watchers_count": info.id % 50,
            "language": None if info.empty else "Python",
            "has_issues": True,
            "forks_count": info.id % 7,
            "archived": info.archived,
            "disabled": False,
            "open_issues_count": info.id % 11,
            "topics": [],
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }

    def repository_json(self, info: RepoInfo) -> str:
        """:meth:`repository` as JSON text (cached: it never changes)."""
        found = self._repos_json.get(info.index)
        if found is None:
            found = self._repos_json[info.index] = orjson.dumps(self.repository(info)).decode()
        return found

    # --- pull requests ------------------------------------------------------------------------

    def _pull_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        n = inline(0)
        url = f"{r}/pulls/{n}"
        head = inline(14)
        stub = self.stub(info)
        return {
            "url": url,
            "id": value(1),
            "node_id": f"PR_kwDO{inline(2)}",
            "html_url": f"{h}/pull/{n}",
            "diff_url": f"{h}/pull/{n}.diff",
            "patch_url": f"{h}/pull/{n}.patch",
            "issue_url": f"{r}/issues/{n}",
            "number": value(0),
            "state": value(3),
            "locked": False,
            "title": value(4),
            "user": value(5),
            "body": value(6),
            "created_at": value(7),
            "updated_at": value(8),
            "closed_at": value(9),
            "merged_at": value(10),
            "merge_commit_sha": value(11),
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": value(12),
            "milestone": None,
            "draft": value(13),
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{r}/pulls/comments{{/number}}",
            "comments_url": f"{r}/issues/{n}/comments",
            "statuses_url": f"{r}/statuses/{head}",
            "head": {
                "label": f"{inline(15)}:feature-{n}",
                "ref": f"feature-{n}",
                "sha": head,
                "user": value(5),
                "repo": stub,
            },
            "base": {
                "label": f"{self.data.spec.owner}:main",
                "ref": "main",
                "sha": inline(16),
                "user": self._owner,
                "repo": stub,
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "active_lock_reason": None,
        }

    def pull(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Pull request (ticket ``row``) as /pulls lists it."""
        render = self._template("pull", info, self._pull_skeleton).render
        pid = d.pull_id(row)
        closed, merged, author = d.t_closed[row], d.t_merged[row], d.t_author[row]
        return render(
            str(row + 1),
            str(pid),
            f"{pid:x}",
            '"closed"' if closed else '"open"',
            _title_json(pid),
            self._users_json[author],
            text_json(pid + 1, 80, 1000),
            _when(d.t_created[row]),
            _when(d.t_updated[row]),
            _when_or_null(closed),
            _when_or_null(merged),
            f'"{self.sha(info, SHA_MERGE, row)}"' if merged else "null",
            self._labels_json[pid % 12],
            "true" if pid % 9 == 0 else "false",
            self.sha(info, SHA_HEAD, row),
            self.data.logins[author],
            self.sha(info, SHA_BASE, row),
        )

    # --- issues ----------------------------------------------------------------------------

    def _issue_skeleton(self, info: RepoInfo, *, pull: bool) -> dict[str, Any]:
        r, h = self.prefixes(info)
        n = inline(0)
        url = f"{r}/issues/{n}"
        out: dict[str, Any] = {
            "url": url,
            "repository_url": r,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{h}/{'pull' if pull else 'issues'}/{n}",
            "id": value(1),
            "node_id": f"{'PR' if pull else 'I'}_kwDO{inline(2)}",
            "number": value(0),
            "title": value(3),
            "user": value(4),
            "labels": value(5),
            "state": value(6),
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": value(7),
            "created_at": value(8),
            "updated_at": value(9),
            "closed_at": value(10),
            "author_association": "MEMBER",
            "active_lock_reason": None,
            "body": value(11),
            "reactions": _reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": value(15),
        }
        if pull:
            out["draft"] = False
            out["pull_request"] = {
                "url": f"{r}/pulls/{n}",
                "html_url": f"{h}/pull/{n}",
                "diff_url": f"{h}/pull/{n}.diff",
                "patch_url": f"{h}/pull/{n}.patch",
                "merged_at": value(16),
            }
        return out

    def issue(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Ticket ``row`` as /issues lists it; a pull request carries "pull_request"."""
        is_pull = d.t_pull_rank[row] >= 0
        if is_pull:
            tpl = self._template("issue-pr", info, lambda i: self._issue_skeleton(i, pull=True))
        else:
            tpl = self._template("issue", info, lambda i: self._issue_skeleton(i, pull=False))
        iid = d.issue_id(row)
        closed = d.t_closed[row]
        return tpl.render(
            str(row + 1),
            str(iid),
            f"{iid:x}",
            _title_json(iid),
            self._users_json[d.t_author[row]],
            self._labels_json[iid % 12],
            '"closed"' if closed else '"open"',
            str(d.t_comments[row]),
            _when(d.t_created[row]),
            _when(d.t_updated[row]),
            _when_or_null(closed),
            text_json(iid + 1, 100, 900),
            str(iid % 5),
            str(iid % 3),
            str(iid % 2),
            '"completed"' if closed else "null",
            _when_or_null(d.t_merged[row]) if is_pull else "null",
        )

    # --- comments and reviews -------------------------------------------------------------

    def _issue_comment_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        cid, n = inline(0), inline(1)
        url = f"{r}/issues/comments/{cid}"
        return {
            "url": url,
            "html_url": f"{h}/issues/{n}#issuecomment-{cid}",
            "issue_url": f"{r}/issues/{n}",
            "id": value(0),
            "node_id": f"IC_kwDO{inline(2)}",
            "user": value(3),
            "created_at": value(4),
            "updated_at": value(5),
            "author_association": "CONTRIBUTOR",
            "body": value(6),
            "reactions": _reactions(url, first=7),
            "performed_via_github_app": None,
        }

    def issue_comment(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Issue comment ``row``."""
        render = self._template("issue-comment", info, self._issue_comment_skeleton).render
        cid = d.issue_comment_id(row)
        return render(
            str(cid),
            str(d.ic_parent[row] + 1),
            f"{cid:x}",
            self._users_json[d.ic_author[row]],
            _when(d.ic_created[row]),
            _when(d.ic_updated[row]),
            text_json(cid, 50, 500),
            str(cid % 5),
            str(cid % 3),
            str(cid % 2),
        )

    def _review_comment_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        cid, n = inline(0), inline(1)
        url = f"{r}/pulls/comments/{cid}"
        return {
            "url": url,
            "pull_request_review_id": value(3),
            "id": value(0),
            "node_id": f"PRRC_kwDO{inline(2)}",
            "diff_hunk": value(4),
            "path": f"src/module_{inline(5)}.py",
            "commit_id": inline(6),
            "original_commit_id": inline(6),
            "user": value(7),
            "body": value(8),
            "created_at": value(9),
            "updated_at": value(10),
            "html_url": f"{h}/pull/{n}#discussion_r{cid}",
            "pull_request_url": f"{r}/pulls/{n}",
            "author_association": "MEMBER",
            "_links": {
                "self": {"href": url},
                "html": {"href": f"{h}/pull/{n}#discussion_r{cid}"},
                "pull_request": {"href": f"{r}/pulls/{n}"},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": value(11),
            "original_line": value(11),
            "side": "RIGHT",
            "subject_type": "line",
        }

    def review_comment(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Review comment ``row``."""
        render = self._template("review-comment", info, self._review_comment_skeleton).render
        cid = d.review_comment_id(row)
        parent = d.rc_parent[row]
        return render(
            str(cid),
            str(parent + 1),
            f"{cid:x}",
            str(5_900_000_000 + cid % 1_000_003),
            '"@@ -1,6 +1,8 @@\\n' + text_json(cid + 3, 40, 120)[1:],
            str(cid % 17),
            self.sha(info, SHA_HEAD, parent),
            self._users_json[d.rc_author[row]],
            text_json(cid, 40, 400),
            _when(d.rc_created[row]),
            _when(d.rc_updated[row]),
            str(1 + cid % 300),
        )

    def _review_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        rid, n = inline(0), inline(1)
        html = f"{h}/pull/{n}#pullrequestreview-{rid}"
        pr = f"{r}/pulls/{n}"
        return {
            "id": value(0),
            "node_id": f"PRR_kwDO{inline(2)}",
            "user": value(3),
            "body": value(4),
            "state": value(5),
            "html_url": html,
            "pull_request_url": pr,
            "author_association": "MEMBER",
            "_links": {"html": {"href": html}, "pull_request": {"href": pr}},
            "submitted_at": value(6),
            "commit_id": inline(7),
        }

    def review(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Review ``row`` (storage row: grouped by PR)."""
        render = self._template("review", info, self._review_skeleton).render
        rid = d.review_id(row)
        parent = d.rv_parent[row]
        return render(
            str(rid),
            str(parent + 1),
            f"{rid:x}",
            self._users_json[d.rv_author[row]],
            text_json(rid, 0, 120),
            f'"{REVIEW_STATES[rid % len(REVIEW_STATES)]}"',
            _when(d.rv_submitted[row]),
            self.sha(info, SHA_HEAD, parent),
        )

    # --- commits -------------------------------------------------------------------------------

    def _commit_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        sha, tree = inline(0), inline(7)
        return {
            "sha": sha,
            "node_id": f"C_kwDO{inline(1)}",
            "commit": {
                "author": {"name": inline(2), "email": inline(3), "date": value(4)},
                "committer": {"name": inline(2), "email": inline(3), "date": value(5)},
                "message": value(6),
                "tree": {"sha": tree, "url": f"{r}/git/trees/{tree}"},
                "url": f"{r}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{r}/commits/{sha}",
            "html_url": f"{h}/commit/{sha}",
            "comments_url": f"{r}/commits/{sha}/comments",
            "author": value(8),
            "committer": value(8),
            "parents": value(9),
        }

    def commit(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Commit ``row`` as /commits lists it (rows ascend by committer date)."""
        render = self._template("commit", info, self._commit_skeleton).render
        r, h = self.prefixes(info)
        seed = self.data.spec.seed
        sha = d.commit_sha(seed, row)
        author = d.cm_author[row]
        name, email = self._people[author]
        date = d.cm_date[row]
        if row:
            p = d.commit_sha(seed, row - 1)
            parents = f'[{{"sha":"{p}","url":"{r}/commits/{p}","html_url":"{h}/commit/{p}"}}]'
        else:
            parents = "[]"
        return render(
            sha,
            sha[:20],
            name,
            email,
            _when(date - d.cm_delta[row]),
            _when(date),
            text_json(row * 7919 + 13, 20, 250),
            self.sha(info, SHA_TREE, row),
            self._users_json[author],
            parents,
        )


def _reactions(url: str, first: int = 12) -> dict[str, Any]:
    """Reactions with holes first, first+1, first+2 for total_count, +1 and hooray."""
    return {
        "url": f"{url}/reactions",
        "total_count": value(first),
        "+1": value(first + 1),
        "-1": 0,
        "laugh": 0,
        "hooray": value(first + 2),
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }
