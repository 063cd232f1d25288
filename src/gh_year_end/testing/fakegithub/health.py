"""Each repository's health as GitHub shows it (:class:`RepoHealth`), drawn from the seed and the
repo's index alone — the same on every run, for a repo added by a mutation too — and what the
GraphQL health fields and the REST repository record read: default branch, licence, code of
conduct, security policy, topics, languages, rulesets, the default branch's protection rule,
vulnerability alerts, ``security_and_analysis`` and the head's trees.

Its own draw sequence (``ghye-fake-health:<seed>:<index>``), so the items of :mod:`.generate`
stay what they were. The trees agree with the rest: ``LICENSE`` is there exactly when a licence
is, ``CODE_OF_CONDUCT.md`` when a code of conduct is, ``SECURITY.md`` (in the root, ``.github``
or ``docs``) when the security policy is enabled; a manifest per language (``pyproject.toml``,
``go.mod``, …). Entries are in git's tree order (by name, a tree's name compared with a trailing
``/``), as GitHub lists them. An empty repository has no content: the resolvers show none of
the content fields for it (:func:`content`), its topics and rulesets stay.

Who sees what (admin rights: ``DataSpec.admin_repos``, for the primary account only) is the
resolvers' and the records' business; this holds what there is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final, Literal

from gh_year_end.testing.fakegithub.repos import fake_sha

SHA_OBJECT: Final = 5
"""The :func:`.repos.fake_sha` kind of tree and blob oids (0–4 are taken)."""

MODE_BLOB: Final = 0o100644
MODE_TREE: Final = 0o040000

LICENSES: Final = {
    "mit": ("MIT", "mit", "MIT License", "http://choosealicense.com/licenses/mit/"),
    "apache-2.0": (
        "Apache-2.0",
        "apache-2.0",
        "Apache License 2.0",
        "http://choosealicense.com/licenses/apache-2.0/",
    ),
    "other": ("NOASSERTION", "other", "Other", None),
}
"""GitHub's licences as ``licenseInfo`` spells them: (spdxId, key, name, url)."""

CODE_OF_CONDUCT: Final = ("contributor_covenant", "Contributor Covenant")
"""(key, name) of the code of conduct some repos have."""

TOPICS: Final = (
    "api",
    "cli",
    "data-pipeline",
    "devops",
    "github",
    "observability",
    "python",
    "testing",
    "tooling",
)
MAIN_LANGUAGES: Final = ("Python", "Go", "TypeScript", "JavaScript", "Rust")
"""The language a repo is mostly written in (its largest, REST's ``language``)."""
MORE_LANGUAGES: Final = ("Shell", "Dockerfile", "Makefile", "HTML", "CSS")
COLORS: Final = {  # GitHub's (linguist's) colours
    "Python": "#3572A5",
    "Go": "#00ADD8",
    "TypeScript": "#3178c6",
    "JavaScript": "#f1e05a",
    "Rust": "#dea584",
    "Shell": "#89e051",
    "Dockerfile": "#384d54",
    "Makefile": "#427819",
    "HTML": "#e34c26",
    "CSS": "#663399",
}
_MANIFESTS: Final = {
    "Python": "pyproject.toml",
    "Go": "go.mod",
    "TypeScript": "package.json",
    "JavaScript": "package.json",
    "Rust": "Cargo.toml",
    "Dockerfile": "Dockerfile",
    "Makefile": "Makefile",
}
_SOURCES: Final = {
    "Python": ("__init__.py", "cli.py", "core.py"),
    "Go": ("main.go", "server.go"),
    "TypeScript": ("app.ts", "index.ts"),
    "JavaScript": ("app.js", "index.js"),
    "Rust": ("lib.rs", "main.rs"),
}
WORKFLOWS: Final = ("ci.yml", "codeql.yml", "docs.yml", "lint.yml", "release.yml")
_RULESETS: Final = {
    "BRANCH": ("protect default branch", "branch naming", "require linear history"),
    "TAG": ("release tags", "immutable tags"),
}
ENFORCEMENTS: Final = ("ACTIVE", "ACTIVE", "EVALUATE", "DISABLED")
SECURITY_FEATURES: Final = (
    "advanced_security",
    "secret_scanning",
    "secret_scanning_push_protection",
    "dependabot_security_updates",
)
_FOLDERS: Final = (None, None, "", ".github", ".github", "docs")
"""Where a SECURITY.md or CODEOWNERS is (None: nowhere; "" the root), as drawn."""

EntryType = Literal["blob", "tree"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a tree: its name, ``blob`` or ``tree``, its path from the root, its oid."""

    name: str
    type: EntryType
    path: str
    oid: str

    @property
    def mode(self) -> int:
        """Git's file mode: 33188 (100644) for a blob, 16384 (040000) for a tree."""
        return MODE_TREE if self.type == "tree" else MODE_BLOB


@dataclass(frozen=True, slots=True)
class Protection:
    """The branch protection rule of the default branch (``pattern`` is its name)."""

    pattern: str
    requires_approving_reviews: bool
    required_approving_review_count: int | None
    requires_status_checks: bool
    requires_code_owner_reviews: bool
    is_admin_enforced: bool
    allows_force_pushes: bool
    allows_deletions: bool


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A repository ruleset."""

    database_id: int
    name: str
    enforcement: str
    target: str


@dataclass(frozen=True, slots=True)
class RepoHealth:
    """One repository's health (see the module docstring)."""

    branch: str
    license: tuple[str, str, str, str | None] | None
    code_of_conduct: bool
    security_policy: str | None
    """The folder holding SECURITY.md ("" the root), or None: no security policy."""
    topics: tuple[str, ...]
    languages: tuple[tuple[str, int], ...]
    """(name, bytes), largest first."""
    rulesets: tuple[Ruleset, ...]
    protection: Protection | None
    vulnerability_alerts: bool
    security_and_analysis: dict[str, bool]
    trees: dict[str, tuple[Entry, ...]] = field(repr=False)
    """Folder path ("" the root, ".github", ".github/workflows", …) → its entries."""
    blobs: dict[str, str] = field(repr=False)
    """File path → its oid."""

    @property
    def language(self) -> str | None:
        """The largest language (REST's ``language``)."""
        return self.languages[0][0] if self.languages else None


def _rng(seed: int, index: int) -> random.Random:
    return random.Random(f"ghye-fake-health:{seed}:{index}")


def default_branch(seed: int, index: int) -> str:
    """The default branch of repo ``index``: "main", or "master" for about one in five (the
    first draw of the repo's health)."""
    return _branch(_rng(seed, index))


def _branch(rng: random.Random) -> str:
    return "master" if rng.random() < 0.2 else "main"


def build_health(seed: int, index: int) -> RepoHealth:
    """Repo ``index``'s health, drawn from ``seed`` (the draw order is part of its identity)."""
    rng = _rng(seed, index)
    branch = _branch(rng)
    r = rng.random()
    licence = next(
        (LICENSES[k] for k, p in (("mit", 0.45), ("apache-2.0", 0.75), ("other", 0.8)) if r < p),
        None,
    )
    conduct = rng.random() < 0.4
    security = rng.choice(_FOLDERS)
    owners = rng.choice(_FOLDERS)
    contributing = rng.random() < 0.5
    topics = tuple(sorted(rng.sample(TOPICS, rng.randint(0, 3))))
    languages = _languages(rng)
    rulesets = _rulesets(rng, index)
    protection = _protection(rng, branch, codeowners=owners is not None)
    alerts = rng.random() < 0.6
    scanning = rng.random() < 0.6
    analysis = {
        "advanced_security": rng.random() < 0.3,
        "secret_scanning": scanning,
        "secret_scanning_push_protection": scanning and rng.random() < 0.6,
        "dependabot_security_updates": rng.random() < 0.5,
    }
    folders: dict[str, list[tuple[str, EntryType]]] = {"": [], ".github": [], "docs": []}
    root = folders[""]
    root += [("README.md", "blob"), (".gitignore", "blob"), ("src", "tree")]
    if licence is not None:
        root.append(("LICENSE", "blob"))
    if conduct:
        root.append(("CODE_OF_CONDUCT.md", "blob"))
    if contributing:
        root.append(("CONTRIBUTING.md", "blob"))
    for folder, file in ((security, "SECURITY.md"), (owners, "CODEOWNERS")):
        if folder is not None:
            folders[folder].append((file, "blob"))
    root += sorted({(_MANIFESTS[n], "blob") for n, _ in languages if n in _MANIFESTS})
    folders["src"] = [(name, "blob") for name in _SOURCES[languages[0][0]]]
    _more_folders(rng, folders)
    trees = _trees(seed, index, folders)
    return RepoHealth(
        branch=branch,
        license=licence,
        code_of_conduct=conduct,
        security_policy=security,
        topics=topics,
        languages=languages,
        rulesets=rulesets,
        protection=protection,
        vulnerability_alerts=alerts,
        security_and_analysis=analysis,
        trees=trees,
        blobs={e.path: e.oid for es in trees.values() for e in es if e.type == "blob"},
    )


def _languages(rng: random.Random) -> tuple[tuple[str, int], ...]:
    """1–4 languages, the main one far the largest, the rest largest first."""
    main = rng.choice(MAIN_LANGUAGES)
    more = rng.sample(MORE_LANGUAGES, rng.randint(0, 3))
    languages = [(main, rng.randint(50_000, 900_000))]
    languages += sorted(
        ((name, rng.randint(200, 40_000)) for name in more), key=lambda x: (-x[1], x[0])
    )
    return tuple(languages)


def _rulesets(rng: random.Random, index: int) -> tuple[Ruleset, ...]:
    """0–2 rulesets, on branches or tags, each active, evaluated or disabled."""
    rulesets: list[Ruleset] = []
    names = {target: list(options) for target, options in _RULESETS.items()}
    for k in range(rng.choice((0, 0, 1, 2))):
        target = "BRANCH" if rng.random() < 0.7 else "TAG"
        enforcement = rng.choice(ENFORCEMENTS)
        name = names[target].pop(0)
        rulesets.append(Ruleset(700_000 + index * 10 + k, name, enforcement, target))
    return tuple(rulesets)


def _protection(rng: random.Random, branch: str, *, codeowners: bool) -> Protection | None:
    """The default branch's protection rule, for about three repos in five."""
    if rng.random() >= 0.6:
        return None
    reviews = rng.random() < 0.7
    return Protection(
        pattern=branch,
        requires_approving_reviews=reviews,
        required_approving_review_count=rng.randint(1, 2) if reviews else None,
        requires_status_checks=rng.random() < 0.6,
        requires_code_owner_reviews=codeowners and rng.random() < 0.5,
        is_admin_enforced=rng.random() < 0.3,
        allows_force_pushes=rng.random() < 0.1,
        allows_deletions=rng.random() < 0.05,
    )


def _more_folders(rng: random.Random, folders: dict[str, list[tuple[str, EntryType]]]) -> None:
    """Workflows, Dependabot, a PR template in ``.github``, some docs; a folder with nothing in
    it is no folder (git has no empty trees)."""
    workflows = sorted(rng.sample(WORKFLOWS, rng.choice((0, 1, 1, 2, 3))))
    github = folders[".github"]
    if rng.random() < 0.4:
        github.append(("dependabot.yml", "blob"))
    if rng.random() < 0.3:
        github.append(("pull_request_template.md", "blob"))
    if workflows:
        github.append(("workflows", "tree"))
        folders[".github/workflows"] = [(name, "blob") for name in workflows]
    if rng.random() < 0.5:
        folders["docs"] += [("index.md", "blob"), ("usage.md", "blob")]
    for folder in (".github", "docs"):
        if folders[folder]:
            folders[""].append((folder, "tree"))
        else:
            del folders[folder]


def _trees(
    seed: int, index: int, folders: dict[str, list[tuple[str, EntryType]]]
) -> dict[str, tuple[Entry, ...]]:
    """Each folder's entries in git's order, each with its oid (one per path)."""
    paths = sorted(_join(folder, name) for folder, items in folders.items() for name, _ in items)
    oids = {path: fake_sha(seed, index, SHA_OBJECT, k) for k, path in enumerate(paths)}
    return {
        folder: tuple(
            Entry(name, kind, _join(folder, name), oids[_join(folder, name)])
            for name, kind in sorted(entries, key=_git_order)
        )
        for folder, entries in folders.items()
    }


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _git_order(entry: tuple[str, EntryType]) -> bytes:
    """Git's tree order: names bytewise, a tree's as if it ended in "/"."""
    name, kind = entry
    return (name + "/" if kind == "tree" else name).encode()


__all__ = [
    "CODE_OF_CONDUCT",
    "COLORS",
    "LICENSES",
    "SECURITY_FEATURES",
    "Entry",
    "Protection",
    "RepoHealth",
    "Ruleset",
    "build_health",
    "default_branch",
]
