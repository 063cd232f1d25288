"""Repository health and commit sizes as records: GitHub's GraphQL answer for one repository
(and its record in the repository listing) → the ``repo_health`` record, or a history page →
``commit_stats`` records. Pure: no I/O. The record shapes are documented in docs/health.md.

What a credential may not see is recorded as such, never as absent: branch protection and
vulnerability alerts need admin rights on the repository (``viewerCanAdminister``, in the same
answer, says whether the credential that asked has them), Dependabot security updates and
secret scanning come in the listing's ``security_and_analysis``, which GitHub gives admins only
(a status GitHub does not give is recorded as not visible too). Any other error inside a
repository's answer is :class:`Incomplete`: nothing of that repository is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from gh_year_end.config import HygieneConfig
from gh_year_end.github.graphql import GraphQLAnswer


class Incomplete(ValueError):
    """GitHub's answer for a repository is missing a part it did not refuse (an error inside
    it, a null commit): the unit is asked again, nothing written."""


#: GraphQL error types that say the credential may not read a field (recorded as not visible).
REFUSALS: Final = frozenset({"FORBIDDEN", "INSUFFICIENT_SCOPES"})
#: The fields a refusal of which is recorded as "not visible" (paths under the repository).
_MAY_REFUSE: Final = (("defaultBranchRef", "branchProtectionRule"), ("rulesets",))

NOT_VISIBLE: Final = "not visible to this credential"
"""What a field the credential may not read is recorded as."""

SEARCHED: Final = ("", ".github", "docs")
"""Where a configured name without a folder is looked for."""

_SECURITY_KEYS: Final = (
    "advanced_security",
    "secret_scanning",
    "secret_scanning_push_protection",
    "dependabot_security_updates",
)


def trees(hygiene: HygieneConfig) -> tuple[str, ...]:
    """The folders whose entries a health query reads: the root, ``.github`` and ``docs``, each
    configured path's own folder, and each workflow prefix."""
    found: dict[str, None] = dict.fromkeys(SEARCHED)
    for path in hygiene.paths:
        folder, _, _ = path.rpartition("/")
        found.setdefault(folder)
    for prefix in hygiene.workflow_prefixes:
        found.setdefault(prefix.rstrip("/"))
    return tuple(found)


def _entries(repository: Mapping[str, Any], tree_index: int) -> list[Mapping[str, Any]]:
    tree = repository.get(f"t{tree_index}")
    entries = tree.get("entries") if isinstance(tree, Mapping) else None
    return [e for e in entries or () if isinstance(e, Mapping) and isinstance(e.get("name"), str)]


def _matches(name: str, wanted: str) -> bool:
    """``wanted`` case-insensitively; a wanted name without an extension matches it with any
    (``README`` → ``README.md``)."""
    low, want = name.casefold(), wanted.casefold()
    return low == want or ("." not in want and low.startswith(want + "."))


def _files(
    repository: Mapping[str, Any], hygiene: HygieneConfig, folders: Sequence[str]
) -> dict[str, list[str]]:
    """Each configured path → where it was found (``.github/SECURITY.md``), [] when nowhere."""
    found: dict[str, list[str]] = {}
    for path in hygiene.paths:
        folder, _, name = path.rpartition("/")
        places = (folder,) if "/" in path else SEARCHED
        hits: list[str] = []
        for place in places:
            for entry in _entries(repository, folders.index(place)):
                # A file, or a folder of that name (``.github/ISSUE_TEMPLATE``).
                if entry.get("type") in ("blob", "tree") and _matches(str(entry["name"]), name):
                    hits.append(f"{place}/{entry['name']}" if place else str(entry["name"]))
        found[path] = hits
    return found


def _workflows(
    repository: Mapping[str, Any], hygiene: HygieneConfig, folders: Sequence[str]
) -> list[str]:
    """The YAML files under each workflow prefix."""
    found: list[str] = []
    for prefix in hygiene.workflow_prefixes:
        folder = prefix.rstrip("/")
        for entry in _entries(repository, folders.index(folder)):
            name = str(entry["name"])
            if entry.get("type") == "blob" and name.casefold().endswith((".yml", ".yaml")):
                found.append(f"{folder}/{name}")
    return found


def _pick(value: Any, *keys: str) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {key: value.get(key) for key in keys}


def _named(value: Any, key: str) -> list[str]:
    nodes = value.get("nodes") if isinstance(value, Mapping) else None
    names: list[str] = []
    for node in nodes or ():
        inner = node.get(key) if isinstance(node, Mapping) else None
        name = inner.get("name") if isinstance(inner, Mapping) else None
        if isinstance(name, str):
            names.append(name)
    return names


def _languages(value: Any) -> tuple[dict[str, int], int]:
    if not isinstance(value, Mapping):
        return {}, 0
    sizes: dict[str, int] = {}
    for edge in value.get("edges") or ():
        node = edge.get("node") if isinstance(edge, Mapping) else None
        name = node.get("name") if isinstance(node, Mapping) else None
        size = edge.get("size") if isinstance(edge, Mapping) else None
        if isinstance(name, str) and isinstance(size, int):
            sizes[name] = size
    total = value.get("totalSize")
    return sizes, total if isinstance(total, int) else sum(sizes.values())


def _refused(answer: GraphQLAnswer, *path: str) -> bool:
    """Whether GitHub refused the field at ``path`` (under the repository) to the credential."""
    return any(
        e.type in REFUSALS and tuple(e.path[1 : 1 + len(path)]) == path for e in answer.errors
    )


def check_complete(answer: GraphQLAnswer) -> None:
    """Incomplete when an error sits inside the repository's answer that is not a refusal of a
    field recorded as not visible (and not the vulnerability alerts' own alias)."""
    for error in answer.errors:
        where = tuple(error.path[1:])
        if not error.path or error.path[0] != "repository" or not where:
            continue
        if error.type in REFUSALS and any(where[: len(p)] == p for p in _MAY_REFUSE):
            continue
        raise Incomplete(f"GitHub's answer lacks {'.'.join(map(str, where))}: {error.describe()}")


def health_record(
    full_name: str,
    answer: GraphQLAnswer,
    listing: Mapping[str, Any] | None,
    hygiene: HygieneConfig,
) -> dict[str, Any]:
    """The ``repo_health`` record of one repository from its part of a health query (its data
    under ``repository``, its vulnerability alerts under ``alerts``) and its listing record."""
    check_complete(answer)
    data = answer.data or {}
    repository: Mapping[str, Any] = data.get("repository") or {}
    alerts = data.get("alerts")
    folders = trees(hygiene)
    admin = repository.get("viewerCanAdminister") is True
    branch = repository.get("defaultBranchRef")
    rule = branch.get("branchProtectionRule") if isinstance(branch, Mapping) else None
    languages, total = _languages(repository.get("languages"))
    rulesets = repository.get("rulesets")
    security_listed = (listing or {}).get("security_and_analysis")
    security: dict[str, Any] = {
        "vulnerability_alerts": (
            alerts.get("hasVulnerabilityAlertsEnabled")
            if admin and isinstance(alerts, Mapping)
            else NOT_VISIBLE
        )
    }
    for key in _SECURITY_KEYS:
        status = security_listed.get(key) if isinstance(security_listed, Mapping) else None
        value = status.get("status") if isinstance(status, Mapping) else None
        security[key] = value if isinstance(value, str) else NOT_VISIBLE
    return {
        "full_name": full_name,
        "empty": bool(repository.get("isEmpty")),
        "default_branch": branch.get("name") if isinstance(branch, Mapping) else None,
        "license": _pick(repository.get("licenseInfo"), "spdxId", "key", "name"),
        "code_of_conduct": _pick(repository.get("codeOfConduct"), "key", "name", "url"),
        "security_policy": {
            "enabled": repository.get("isSecurityPolicyEnabled"),
            "url": repository.get("securityPolicyUrl"),
        },
        "files": _files(repository, hygiene, folders),
        "workflows": _workflows(repository, hygiene, folders),
        "topics": _named(repository.get("repositoryTopics"), "topic"),
        "languages": languages,
        "languages_total_bytes": total,
        "branch_protection": (
            _pick(
                rule,
                "pattern",
                "requiresApprovingReviews",
                "requiredApprovingReviewCount",
                "requiresStatusChecks",
                "requiresCodeOwnerReviews",
                "isAdminEnforced",
                "allowsForcePushes",
                "allowsDeletions",
            )
            if admin and not _refused(answer, "defaultBranchRef", "branchProtectionRule")
            else NOT_VISIBLE
        ),
        "rulesets": (
            NOT_VISIBLE
            if _refused(answer, "rulesets") or not isinstance(rulesets, Mapping)
            else [
                _pick(node, "name", "enforcement", "target")
                for node in rulesets.get("nodes") or ()
                if isinstance(node, Mapping)
            ]
        ),
        "security": security,
    }


def stats_records(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``commit_stats`` records of one history page: sha, committed_date, additions,
    deletions, changed_files (null where GitHub could not count them). Incomplete for a node
    that is not a commit (a null GitHub left after an error)."""
    records: list[dict[str, Any]] = []
    for node in history.get("nodes") or ():
        if not isinstance(node, Mapping) or not isinstance(node.get("oid"), str):
            raise Incomplete("GitHub's history page holds a commit it could not give")
        records.append(
            {
                "sha": node["oid"],
                "committed_date": node.get("committedDate"),
                "additions": node.get("additions"),
                "deletions": node.get("deletions"),
                "changed_files": node.get("changedFilesIfAvailable"),
            }
        )
    return records


__all__ = [
    "NOT_VISIBLE",
    "REFUSALS",
    "SEARCHED",
    "Incomplete",
    "check_complete",
    "health_record",
    "stats_records",
    "trees",
]
