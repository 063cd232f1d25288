"""GraphQL queries that ask several repositories at once (an alias ``rI: repository(owner:,
name:)`` each), and the split of GitHub's answer back into each repository's part: what
repository health and commit sizes are read with (:mod:`gh_year_end.collect.batch`).

- :class:`HealthQuery` — each repository's health in one go: default branch and its protection
  rule, licence, code of conduct, security policy, vulnerability alerts (an alias ``vI`` of its
  own), topics, languages,
  rulesets, and the entries of the trees the configured paths and workflow prefixes live in
  (``object(expression: "HEAD:.github")``). 25 repositories a query, one point.
- :class:`HistoryQuery` — one page of 100 commits of each repository's default branch inside
  the window, with their sizes (``additions``, ``deletions``, ``changedFilesIfAvailable`` —
  ``changedFiles`` is deprecated), each repository after its own cursor. 100 repositories a
  query, one point: at most a point per 100 commits, however few each repository has.

Each document is validated against GitHub's published schema in the tests (no deprecated field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from gh_year_end.github.graphql import GraphQLAnswer, split_aliases

#: Repositories per query. GitHub's cost is the connections' pages asked, a hundred to a
#: point: a health query asks three connections of 100 per repository (topics, languages,
#: rulesets), so 25 repositories are one point (75); a history query asks one, so 100 are.
HEALTH_REPOS_PER_QUERY: Final = 25
HISTORY_REPOS_PER_QUERY: Final = 100
COMMITS_PER_PAGE: Final = 100

HEALTH_FIELDS: Final = """\
    nameWithOwner
    isEmpty
    viewerCanAdminister
    defaultBranchRef {
      name
      branchProtectionRule {
        pattern
        requiresApprovingReviews
        requiredApprovingReviewCount
        requiresStatusChecks
        requiresCodeOwnerReviews
        isAdminEnforced
        allowsForcePushes
        allowsDeletions
      }
    }
    licenseInfo { spdxId key name }
    codeOfConduct { key name url }
    isSecurityPolicyEnabled
    securityPolicyUrl
    repositoryTopics(first: 100) { nodes { topic { name } } }
    languages(first: 100, orderBy: {field: SIZE, direction: DESC}) {
      totalSize
      edges { size node { name } }
    }
    rulesets(first: 100) { nodes { name enforcement target } }"""

TREE_SELECTION: Final = "... on Tree { entries { name type } }"

HISTORY_FIELDS: Final = """\
          pageInfo { hasNextPage endCursor }
          nodes { oid committedDate additions deletions changedFilesIfAvailable }"""


@dataclass(frozen=True)
class Repo:
    """One repository's part of a query (``after``: the history cursor to continue after)."""

    owner: str
    name: str
    after: str | None = None

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class HealthQuery:
    """The health of several repositories; ``trees``: the folders whose entries are read
    (``""`` the root, ``".github"``, ``".github/workflows"`` …)."""

    repos: tuple[Repo, ...]
    trees: tuple[str, ...]

    @property
    def document(self) -> str:
        """The GraphQL document."""
        params = [f"$t{j}: String!" for j in range(len(self.trees))]
        blocks: list[str] = []
        for i in range(len(self.repos)):
            params += [f"$o{i}: String!", f"$n{i}: String!"]
            trees = "\n".join(
                f"    t{j}: object(expression: $t{j}) {{ {TREE_SELECTION} }}"
                for j in range(len(self.trees))
            )
            blocks.append(
                f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n{HEALTH_FIELDS}\n{trees}\n  }}"
            )
            # Apart: a non-null field GitHub refuses to a credential without admin rights
            # nulls its nearest nullable parent — this alias, not the repository's health.
            blocks.append(
                f"  v{i}: repository(owner: $o{i}, name: $n{i}) {{ hasVulnerabilityAlertsEnabled }}"
            )
        return f"query RepoHealth({', '.join(params)}) {{\n" + "\n".join(blocks) + "\n}\n"

    @property
    def variables(self) -> dict[str, Any]:
        """The query's variables: the trees as ``HEAD:<folder>`` expressions, the owners and
        names."""
        found: dict[str, Any] = {f"t{j}": f"HEAD:{tree}" for j, tree in enumerate(self.trees)}
        for i, repo in enumerate(self.repos):
            found[f"o{i}"], found[f"n{i}"] = repo.owner, repo.name
        return found

    def split(self, answer: GraphQLAnswer) -> list[GraphQLAnswer]:
        """Each repository's part of ``answer`` (see :func:`~.graphql.split_aliases`), with its
        vulnerability alerts' answer under ``alerts`` (null when refused)."""
        parts = split_aliases(answer, len(self.repos))
        for i, part in enumerate(parts):
            if part.data is not None and answer.data is not None:
                part.data["alerts"] = answer.data.get(f"v{i}")
        return parts


@dataclass(frozen=True)
class HistoryQuery:
    """One page of each repository's default-branch commits in ``[since, until)`` (GitHub's
    GitTimestamp values, ISO 8601)."""

    repos: tuple[Repo, ...]
    since: str
    until: str

    @property
    def document(self) -> str:
        """The GraphQL document."""
        params = ["$since: GitTimestamp!", "$until: GitTimestamp!"]
        blocks: list[str] = []
        for i, repo in enumerate(self.repos):
            params += [f"$o{i}: String!", f"$n{i}: String!"]
            paging = f"first: {COMMITS_PER_PAGE}, since: $since, until: $until"
            if repo.after is not None:
                params.append(f"$a{i}: String!")
                paging += f", after: $a{i}"
            blocks.append(
                f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n"
                "    defaultBranchRef {\n"
                "      target {\n"
                "        ... on Commit {\n"
                f"          history({paging}) {{\n{HISTORY_FIELDS}\n          }}\n"
                "        }\n"
                "      }\n"
                "    }\n"
                "  }"
            )
        return f"query CommitSizes({', '.join(params)}) {{\n" + "\n".join(blocks) + "\n}\n"

    @property
    def variables(self) -> dict[str, Any]:
        """The query's variables."""
        found: dict[str, Any] = {"since": self.since, "until": self.until}
        for i, repo in enumerate(self.repos):
            found[f"o{i}"], found[f"n{i}"] = repo.owner, repo.name
            if repo.after is not None:
                found[f"a{i}"] = repo.after
        return found

    def split(self, answer: GraphQLAnswer) -> list[GraphQLAnswer]:
        """Each repository's part of ``answer`` (see :func:`~.graphql.split_aliases`)."""
        return split_aliases(answer, len(self.repos))


__all__ = [
    "COMMITS_PER_PAGE",
    "HEALTH_FIELDS",
    "HEALTH_REPOS_PER_QUERY",
    "HISTORY_REPOS_PER_QUERY",
    "HealthQuery",
    "HistoryQuery",
    "Repo",
]
