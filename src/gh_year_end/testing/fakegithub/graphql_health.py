"""The fake's GraphQL resolvers of a repository's health (:mod:`.health`): what a repository
health query asks, answered as GitHub answers it.

* ``isEmpty``; ``licenseInfo { spdxId key name url }``; ``codeOfConduct { key name url }`` (url:
  the file on the default branch); ``isSecurityPolicyEnabled`` and ``securityPolicyUrl``
  (``<html>/<owner>/<repo>/security/policy``, null without a policy); ``repositoryTopics``,
  ``languages`` (``orderBy: {field: SIZE, direction}``; ``totalSize`` the sum of every
  language's bytes) and ``rulesets`` (``targets`` filters) — connections with GitHub's page rules
  and opaque cursors (:mod:`.graphql_paging`).
* ``object(expression: "HEAD:<path>")`` — the head's ``Tree`` (``entries { name type mode oid
  path }``, in git's order) or ``Blob`` at the path, null where there is none; the revision is
  ``HEAD``, the default branch's name or ``refs/heads/<name>`` (another: null); without ``:``,
  the head ``Commit``. The root tree's oid is REST's ``commit.tree.sha`` of the head commit.
* Admin rights (``admin_repos``, the primary account's only): ``Ref.branchProtectionRule`` is
  null to a caller without them, as GitHub shows no protection to one; and
  ``hasVulnerabilityAlertsEnabled`` (non-null) is refused with a FORBIDDEN error "Must have
  admin rights to Repository.", its null reaching the nearest nullable parent.
* An empty repository (``empty``, or no commit): ``isEmpty`` true, no licence, code of conduct,
  security policy, language or object; topics and rulesets are settings, they stay.
* A "forbidden" repo (403 on REST's lists): every health field FORBIDDEN ("Resource not
  accessible by integration"); ``isEmpty`` is non-null, so the repository is null.

Not modelled: another revision's tree (every revision resolves to the head's tree), blob
contents, rulesets from the organization (``includeParents`` changes nothing), a ruleset's rules
and conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from gh_year_end.testing.fakegithub.data import FakeData
from gh_year_end.testing.fakegithub.graphql_answers import FieldError
from gh_year_end.testing.fakegithub.graphql_nodes import commit_object
from gh_year_end.testing.fakegithub.graphql_paging import check_page, connection, cursor, positions
from gh_year_end.testing.fakegithub.graphql_resolvers import Info, forbid
from gh_year_end.testing.fakegithub.health import CODE_OF_CONDUCT, COLORS, Entry, RepoHealth
from gh_year_end.testing.fakegithub.repos import SHA_TREE, RepoInfo, fake_sha

ADMIN_MESSAGE: Final = "Must have admin rights to Repository."
"""GitHub's refusal of an admin-only field to a caller without admin rights."""


def _repo(source: dict[str, Any], info: Info) -> tuple[FakeData, RepoInfo]:
    repo: RepoInfo = source["_repo"]
    forbid(repo)
    return info.context.data, repo


def _empty(data: FakeData, repo: RepoInfo) -> bool:
    return repo.empty or not len(data.repo(repo).cm_date)


def _content(source: dict[str, Any], info: Info) -> RepoHealth | None:
    """The repo's health when it has content (None: it is empty)."""
    data, repo = _repo(source, info)
    return None if _empty(data, repo) else data.health(repo)


def _admin(info: Info, repo: RepoInfo) -> bool:
    return bool(info.context.admin_ok) and info.context.data.admin(repo)


def _viewer_can_administer(source: dict[str, Any], info: Info) -> bool:
    _data, repo = _repo(source, info)
    return _admin(info, repo)


def _html(info: Info, repo: RepoInfo) -> str:
    return str(info.context.records.prefixes(repo)[1])


def _is_empty(source: dict[str, Any], info: Info) -> bool:
    data, repo = _repo(source, info)
    return _empty(data, repo)


def _license(source: dict[str, Any], info: Info) -> dict[str, Any] | None:
    health = _content(source, info)
    if health is None or health.license is None:
        return None
    spdx, key, name, url = health.license
    return {"spdxId": spdx, "key": key, "name": name, "url": url}


def _code_of_conduct(source: dict[str, Any], info: Info) -> dict[str, Any] | None:
    health = _content(source, info)
    if health is None or not health.code_of_conduct:
        return None
    key, name = CODE_OF_CONDUCT
    html = _html(info, source["_repo"])
    return {"key": key, "name": name, "url": f"{html}/blob/{health.branch}/CODE_OF_CONDUCT.md"}


def _security_policy(source: dict[str, Any], info: Info) -> bool:
    health = _content(source, info)
    return health is not None and health.security_policy is not None


def _security_policy_url(source: dict[str, Any], info: Info) -> str | None:
    if not _security_policy(source, info):
        return None
    return f"{_html(info, source['_repo'])}/security/policy"


def _page(
    items: list[Any], args: dict[str, Any], node: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    start, end = positions(len(items), args)
    return connection(
        [node(item) for item in items[start:end]],
        [cursor(k) for k in range(start, end)],
        len(items),
        more=end < len(items),
        earlier=start > 0,
    )


def _topics(source: dict[str, Any], info: Info, **args: Any) -> dict[str, Any]:
    data, repo = _repo(source, info)
    check_page(info, args)
    html = info.context.records.html

    def node(name: str) -> dict[str, Any]:
        return {"topic": {"name": name}, "url": f"{html}/topics/{name}"}

    return _page(list(data.health(repo).topics), args, node)


def _languages(source: dict[str, Any], info: Info, **args: Any) -> dict[str, Any]:
    health = _content(source, info)
    check_page(info, args)
    languages = list(health.languages) if health is not None else []  # largest first
    order = args.get("orderBy")
    if order is not None and order.get("direction") == "ASC":
        languages.reverse()
    start, end = positions(len(languages), args)
    page = languages[start:end]
    found = connection(
        [{"name": name, "color": COLORS[name]} for name, _size in page],
        [cursor(k) for k in range(start, end)],
        len(languages),
        more=end < len(languages),
        earlier=start > 0,
    )
    for edge, (_name, size) in zip(found["edges"], page, strict=True):
        edge["size"] = size
    found["totalSize"] = sum(size for _name, size in languages)
    return found


def _rulesets(source: dict[str, Any], info: Info, **args: Any) -> dict[str, Any]:
    data, repo = _repo(source, info)
    check_page(info, args)
    targets = args.get("targets")
    rulesets = [r for r in data.health(repo).rulesets if not targets or r.target in targets]
    return _page(
        rulesets,
        args,
        lambda r: {
            "databaseId": r.database_id,
            "name": r.name,
            "enforcement": r.enforcement,
            "target": r.target,
        },
    )


def _vulnerability_alerts(source: dict[str, Any], info: Info) -> bool:
    data, repo = _repo(source, info)
    if not _admin(info, repo):
        raise FieldError(ADMIN_MESSAGE, "FORBIDDEN")
    return data.health(repo).vulnerability_alerts


def _protection(source: dict[str, Any], info: Info) -> dict[str, Any] | None:
    data, repo = _repo(source, info)
    rule = data.health(repo).protection
    if rule is None or not _admin(info, repo):
        return None  # GitHub shows a caller without admin rights no protection rule
    return {
        "pattern": rule.pattern,
        "requiresApprovingReviews": rule.requires_approving_reviews,
        "requiredApprovingReviewCount": rule.required_approving_review_count,
        "requiresStatusChecks": rule.requires_status_checks,
        "requiresCodeOwnerReviews": rule.requires_code_owner_reviews,
        "isAdminEnforced": rule.is_admin_enforced,
        "allowsForcePushes": rule.allows_force_pushes,
        "allowsDeletions": rule.allows_deletions,
    }


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "type": entry.type,
        "mode": entry.mode,
        "oid": entry.oid,
        "path": entry.path,
    }


def _object(source: dict[str, Any], info: Info, **args: Any) -> dict[str, Any] | None:
    health = _content(source, info)
    expression = args.get("expression")
    if health is None or expression is None:
        return None
    data, repo = info.context.data, source["_repo"]
    revision, colon, path = str(expression).partition(":")
    if revision not in ("HEAD", health.branch, f"refs/heads/{health.branch}"):
        return None
    d = data.repo(repo)
    head = len(d.cm_date) - 1
    if not colon:
        return commit_object(data.sha(repo, head), repo, d, head)
    path = path.rstrip("/")
    entries = health.trees.get(path)
    if entries is not None:
        oid = (
            fake_sha(data.spec.seed, repo.index, SHA_TREE, head)  # REST's head commit.tree.sha
            if path == ""
            else next(e.oid for es in health.trees.values() for e in es if e.path == path)
        )
        return {"__typename": "Tree", "oid": oid, "entries": [_entry(e) for e in entries]}
    blob = health.blobs.get(path)
    return None if blob is None else {"__typename": "Blob", "oid": blob}


HEALTH_RESOLVERS: Final[dict[tuple[str, str], Callable[..., Any]]] = {
    ("Repository", "isEmpty"): _is_empty,
    ("Repository", "licenseInfo"): _license,
    ("Repository", "codeOfConduct"): _code_of_conduct,
    ("Repository", "isSecurityPolicyEnabled"): _security_policy,
    ("Repository", "securityPolicyUrl"): _security_policy_url,
    ("Repository", "repositoryTopics"): _topics,
    ("Repository", "languages"): _languages,
    ("Repository", "rulesets"): _rulesets,
    ("Repository", "object"): _object,
    ("Repository", "hasVulnerabilityAlertsEnabled"): _vulnerability_alerts,
    ("Repository", "viewerCanAdminister"): _viewer_can_administer,
    ("Ref", "branchProtectionRule"): _protection,
}
"""The health fields' resolvers, by (type, field), beside :data:`.graphql_resolvers.RESOLVERS`."""
