"""GitHub's record shapes, as skeletons: each record kind a dict whose varying parts are holes
(:func:`.render.value`, :func:`.render.inline`), made once per repo and rendered per row by
:class:`.records.Records`. ``r`` and ``h`` are a repo's API and html URLs.

These are data tables in the form of functions: the keys, their order and the URL patterns are
GitHub's. Approximate rendered sizes: PR ~5.8 KB, issue ~3 KB, issue comment ~2 KB, review
comment ~2.3 KB, review ~1.6 KB, commit ~3.4 KB (each embeds full user objects, as GitHub's do).
"""

from __future__ import annotations

from typing import Any

from gh_year_end.testing.fakegithub.data import iso
from gh_year_end.testing.fakegithub.health import RepoHealth
from gh_year_end.testing.fakegithub.render import inline, text, value
from gh_year_end.testing.fakegithub.repos import RepoInfo


def account(api: str, html: str, login: str, uid: int, kind: str) -> dict[str, Any]:
    """A user or organization as records embed it."""
    u = f"{api}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid:x}",
        "avatar_url": f"https://avatars.github.example/u/{uid}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{html}/{login}",
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


def bot_account(api: str, html: str, slug: str, uid: int) -> dict[str, Any]:
    """A GitHub App's bot account as records embed it: login ``slug[bot]``, type "Bot", the
    brackets percent-encoded in its API URLs, its html_url the app's page."""
    u = f"{api}/users/{slug}%5Bbot%5D"
    return {
        "login": f"{slug}[bot]",
        "id": uid,
        "node_id": f"BOT_kgDO{uid:x}",
        "avatar_url": f"https://avatars.github.example/in/{uid}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{html}/apps/{slug}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": "Bot",
        "user_view_type": "public",
        "site_admin": False,
    }


def label_pool(api: str) -> list[dict[str, Any]]:
    """The labels issues and pull requests pick theirs from."""
    names = ("bug", "enhancement", "documentation", "good first issue", "performance", "ci")
    return [
        {
            "id": 4_000_000 + i,
            "node_id": f"LA_kwDOfake{i}",
            "url": f"{api}/labels/{name.replace(' ', '%20')}",
            "name": name,
            "color": f"{(i * 2654435) & 0xFFFFFF:06x}",
            "default": i < 3,
            "description": text(i, 10, 40),
        }
        for i, name in enumerate(names)
    ]


def stub(api: str, html: str, info: RepoInfo) -> dict[str, Any]:
    """The repo stub embedded in a PR's head and base."""
    return {
        "id": info.id,
        "node_id": f"R_kgDO{info.id:x}",
        "name": info.name,
        "full_name": info.full_name,
        "private": info.private,
        "html_url": f"{html}/{info.full_name}",
        "url": f"{api}/repos/{info.full_name}",
        "fork": info.fork,
        "default_branch": info.default_branch,
        "visibility": "private" if info.private else "public",
    }


def repository(
    api: str,
    info: RepoInfo,
    repo_stub: dict[str, Any],
    owner: dict[str, Any],
    health: RepoHealth,
    *,
    admin: bool,
) -> dict[str, Any]:
    """A repo as the listings show it, to a caller with admin rights on it or without: GitHub's
    ``permissions`` of the caller, and ``security_and_analysis`` for an admin only."""
    r = f"{api}/repos/{info.full_name}"
    record = {
        **repo_stub,
        "owner": owner,
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
        "language": None if info.empty else health.language,
        "has_issues": True,
        "forks_count": info.id % 7,
        "archived": info.archived,
        "disabled": False,
        "open_issues_count": info.id % 11,
        "topics": list(health.topics),
        "permissions": {
            "admin": admin,
            "maintain": admin,
            "push": True,
            "triage": True,
            "pull": True,
        },
    }
    if admin:
        record["security_and_analysis"] = {
            feature: {"status": "enabled" if on else "disabled"}
            for feature, on in health.security_and_analysis.items()
        }
    return record


def pull(r: str, h: str, repo_stub: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """A pull request as /pulls lists it (holes 0–16: see ``Records.pull``)."""
    n = inline(0)
    url = f"{r}/pulls/{n}"
    head = inline(14)
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
            "repo": repo_stub,
        },
        "base": {
            "label": f"{owner['login']}:{repo_stub['default_branch']}",
            "ref": repo_stub["default_branch"],
            "sha": inline(16),
            "user": owner,
            "repo": repo_stub,
        },
        "author_association": "MEMBER",
        "auto_merge": None,
        "active_lock_reason": None,
    }


def issue(r: str, h: str, *, pull: bool) -> dict[str, Any]:
    """An issue (or the issue side of a pull request) as /issues lists it."""
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
        "reactions": reactions(url),
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


def issue_comment(r: str, h: str) -> dict[str, Any]:
    """An issue comment."""
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
        "reactions": reactions(url, first=7),
        "performed_via_github_app": None,
    }


def review_comment(r: str, h: str) -> dict[str, Any]:
    """A review comment."""
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


def review(r: str, h: str) -> dict[str, Any]:
    """A pull request review."""
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


def commit(r: str, h: str) -> dict[str, Any]:
    """A commit as /commits lists it."""
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


def reactions(url: str, first: int = 12) -> dict[str, Any]:
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
