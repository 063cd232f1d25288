"""GitHub-shaped JSON records for the fake, rendered per page from per-repo templates
(:mod:`.render`) made from GitHub's record shapes (:mod:`.skeletons`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson

from gh_year_end.testing.fakegithub import skeletons
from gh_year_end.testing.fakegithub.data import (
    BOTS,
    TOKEN_USER_ID,
    TOKEN_USER_LOGIN,
    FakeData,
    review_bot,
)
from gh_year_end.testing.fakegithub.render import (
    Template,
    revised,
    text_json,
    title_json,
    when,
    when_or_null,
)
from gh_year_end.testing.fakegithub.repos import (
    SHA_BASE,
    SHA_HEAD,
    SHA_MERGE,
    SHA_TREE,
    RepoData,
    RepoInfo,
    fake_sha,
)

REVIEW_STATES: Final = ("APPROVED", "COMMENTED", "CHANGES_REQUESTED", "COMMENTED")
HTML_BASE: Final = "https://github.example"

RecordBuilder = Callable[[RepoInfo, RepoData, int], str]
"""(repo, skeleton, row) → one record's JSON text."""


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
        self._bots = [skeletons.bot_account(api, html, slug, uid) for slug, uid in BOTS]
        self._bots_json = [orjson.dumps(b).decode() for b in self._bots]
        self._people = [
            (login.replace("-", " ").title(), f"{login}@example.com") for login in data.logins
        ]
        kind = "Organization" if data.spec.mode == "org" else "User"
        self._owner = self._account(data.spec.owner, data.owner_id, kind)
        self._label_pool = skeletons.label_pool(api)
        self._labels_json = [orjson.dumps(self.labels(k)).decode() for k in range(12)]
        self._templates: dict[tuple[str, int], Template] = {}
        self._prefixes: dict[int, tuple[str, str]] = {}
        self._repos_json: dict[tuple[int, int, bool], str] = {}

    # --- shared sub-objects --------------------------------------------------------------

    def user(self, k: int) -> dict[str, Any]:
        """User ``k`` of the pool."""
        return self._users[k]

    def bot(self, k: int) -> dict[str, Any]:
        """The bot account of app ``k`` of :data:`.data.BOTS`."""
        return self._bots[k]

    def owner(self) -> dict[str, Any]:
        """The org or user that owns every repo."""
        return self._owner

    def token_user(self) -> dict[str, Any]:
        """The account the token belongs to (the owner in user mode)."""
        if self.data.spec.mode == "user":
            return self._owner
        return self._account(TOKEN_USER_LOGIN, TOKEN_USER_ID, "User")

    def _account(self, login: str, uid: int, kind: str) -> dict[str, Any]:
        return skeletons.account(self.api, self.html, login, uid, kind)

    def labels(self, key: int) -> list[dict[str, Any]]:
        """0–3 labels from a small pool, chosen by ``key`` (depends on key % 12 only)."""
        pool = self._label_pool
        return [pool[(key + i) % len(pool)] for i in range(key % 4)]

    def stub(self, info: RepoInfo) -> dict[str, Any]:
        """The repo stub embedded in a PR's head and base."""
        return skeletons.stub(self.api, self.html, info)

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

    def repository(self, info: RepoInfo, *, privileged: bool = False) -> dict[str, Any]:
        """A repo as the listings show it; ``privileged``: to the account ``admin_repos``
        gives admin rights (:func:`.accounts.has_admin_rights`) — admin on those repos (its
        ``permissions``, and ``security_and_analysis``), on no other."""
        admin = privileged and self.data.admin(info)
        health = self.data.health(info)
        return skeletons.repository(
            self.api, info, self.stub(info), self._owner, health, admin=admin
        )

    def repository_json(self, info: RepoInfo, *, privileged: bool = False) -> str:
        """:meth:`repository` as JSON text (cached until a push changes the repo)."""
        key = (info.index, info.pushed, privileged and self.data.admin(info))
        found = self._repos_json.get(key)
        if found is None:
            found = orjson.dumps(self.repository(info, privileged=privileged)).decode()
            self._repos_json[key] = found
        return found

    # --- pull requests ------------------------------------------------------------------------

    def _pull_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        r, h = self.prefixes(info)
        return skeletons.pull(r, h, self.stub(info), self._owner)

    def pull(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Pull request (ticket ``row``) as /pulls lists it."""
        render = self._template("pull", info, self._pull_skeleton).render
        pid = d.pull_id(row)
        closed, merged, author = d.t_closed[row], d.t_merged[row], d.t_author[row]
        edits = d.revision("t", row)[0]
        return render(
            str(row + 1),
            str(pid),
            f"{pid:x}",
            '"closed"' if closed else '"open"',
            revised(title_json(pid), edits),
            self._users_json[author],
            revised(text_json(pid + 1, 80, 1000), edits),
            when(d.t_created[row]),
            when(d.t_updated[row]),
            when_or_null(closed),
            when_or_null(merged),
            f'"{self.sha(info, SHA_MERGE, row)}"' if merged else "null",
            self._labels_json[pid % 12],
            "true" if pid % 9 == 0 else "false",
            self.sha(info, SHA_HEAD, row),
            self.data.logins[author],
            self.sha(info, SHA_BASE, row),
        )

    # --- issues ----------------------------------------------------------------------------

    def _issue_skeleton(self, info: RepoInfo, *, pull: bool) -> dict[str, Any]:
        return skeletons.issue(*self.prefixes(info), pull=pull)

    def issue(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Ticket ``row`` as /issues lists it; a pull request carries "pull_request"."""
        is_pull = d.t_pull_rank[row] >= 0
        if is_pull:
            tpl = self._template("issue-pr", info, lambda i: self._issue_skeleton(i, pull=True))
        else:
            tpl = self._template("issue", info, lambda i: self._issue_skeleton(i, pull=False))
        iid = d.issue_id(row)
        closed = d.t_closed[row]
        edits = d.revision("t", row)[0]
        return tpl.render(
            str(row + 1),
            str(iid),
            f"{iid:x}",
            revised(title_json(iid), edits),
            self._users_json[d.t_author[row]],
            self._labels_json[iid % 12],
            '"closed"' if closed else '"open"',
            str(d.t_comments[row]),
            when(d.t_created[row]),
            when(d.t_updated[row]),
            when_or_null(closed),
            revised(text_json(iid + 1, 100, 900), edits),
            str(iid % 5),
            str(iid % 3),
            str(iid % 2),
            '"completed"' if closed else "null",
            when_or_null(d.t_merged[row]) if is_pull else "null",
        )

    # --- comments and reviews -------------------------------------------------------------

    def _issue_comment_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        return skeletons.issue_comment(*self.prefixes(info))

    def issue_comment(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Issue comment ``row``."""
        render = self._template("issue-comment", info, self._issue_comment_skeleton).render
        cid = d.issue_comment_id(row)
        return render(
            str(cid),
            str(d.ic_parent[row] + 1),
            f"{cid:x}",
            self._users_json[d.ic_author[row]],
            when(d.ic_created[row]),
            when(d.ic_updated[row]),
            revised(text_json(cid, 50, 500), d.revision("ic", row)[0]),
            str(cid % 5),
            str(cid % 3),
            str(cid % 2),
        )

    def _review_comment_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        return skeletons.review_comment(*self.prefixes(info))

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
            revised(text_json(cid, 40, 400), d.revision("rc", row)[0]),
            when(d.rc_created[row]),
            when(d.rc_updated[row]),
            str(1 + cid % 300),
        )

    @staticmethod
    def review_body(d: RepoData, row: int) -> str:
        """Review ``row``'s body as a JSON string literal (edits show in it; GraphQL's too)."""
        return revised(text_json(d.review_id(row), 0, 120), d.revision("rv", row)[0])

    def _review_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        return skeletons.review(*self.prefixes(info))

    def review(self, info: RepoInfo, d: RepoData, row: int) -> str:
        """Review ``row`` (storage row: grouped by PR); some are a bot's (:func:`review_bot`)."""
        render = self._template("review", info, self._review_skeleton).render
        rid = d.review_id(row)
        parent = d.rv_parent[row]
        bot = review_bot(rid)
        return render(
            str(rid),
            str(parent + 1),
            f"{rid:x}",
            self._users_json[d.rv_author[row]] if bot is None else self._bots_json[bot],
            self.review_body(d, row),
            f'"{REVIEW_STATES[rid % len(REVIEW_STATES)]}"',
            when(d.rv_submitted[row]),
            self.sha(info, SHA_HEAD, parent),
        )

    # --- commits -------------------------------------------------------------------------------

    def _commit_skeleton(self, info: RepoInfo) -> dict[str, Any]:
        return skeletons.commit(*self.prefixes(info))

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
            when(date - d.cm_delta[row]),
            when(date),
            text_json(row * 7919 + 13, 20, 250),
            self.sha(info, SHA_TREE, row),
            self._users_json[author],
            parents,
        )
