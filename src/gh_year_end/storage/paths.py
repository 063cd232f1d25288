"""PathManager: the data layout of one target's raw collection.

::

    <storage.root>/raw/year=YYYY/source=github/target=NAME/
        checkpoint.json          progress snapshot
        checkpoint.journal       page commits since the snapshot (append-only, fsynced per page)
        checkpoint.json.lock     the run lock (and checkpoint.json.lock.owner: who holds it)
        manifest.json            written when every unit has ended
        repos.jsonl              the discovered plan
        pulls/<owner>__<repo>.jsonl, issues/…, reviews/…, issue_comments/…,
        review_comments/…, commits/…
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from gh_year_end.config import Config

ENDPOINT_DIRS: Final = (
    "pulls",
    "issues",
    "reviews",
    "issue_comments",
    "review_comments",
    "commits",
)


def repo_file_name(full_name: str) -> str:
    """`owner/repo` → `owner__repo.jsonl` (GitHub names never contain `__`-ambiguous slashes)."""
    owner, _, repo = full_name.partition("/")
    return f"{owner}__{repo}.jsonl"


class PathManager:
    """Where every file of one target lives. Paths are computed, never created here."""

    def __init__(self, config: Config) -> None:
        windows = config.github.windows
        self.root: Path = config.storage.root
        self.target_dir: Path = (
            self.root
            / "raw"
            / f"year={windows.year}"
            / "source=github"
            / f"target={config.github.target.name}"
        )

    @property
    def checkpoint_path(self) -> Path:
        """checkpoint.json."""
        return self.target_dir / "checkpoint.json"

    @property
    def journal_path(self) -> Path:
        """checkpoint.journal: the page commits not yet folded into checkpoint.json."""
        return self.target_dir / "checkpoint.journal"

    @property
    def lock_path(self) -> Path:
        """checkpoint.json.lock."""
        return self.checkpoint_path.with_suffix(".json.lock")

    @property
    def manifest_path(self) -> Path:
        """manifest.json."""
        return self.target_dir / "manifest.json"

    @property
    def repos_path(self) -> Path:
        """repos.jsonl: the discovered repositories."""
        return self.target_dir / "repos.jsonl"

    def endpoint_dir(self, endpoint: str) -> Path:
        """The folder holding one endpoint's files."""
        if endpoint not in ENDPOINT_DIRS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        return self.target_dir / endpoint

    def raw_path(self, endpoint: str, repo: str) -> Path:
        """One repo's JSONL file for one endpoint."""
        return self.endpoint_dir(endpoint) / repo_file_name(repo)

    def relative(self, path: Path) -> str:
        """A path under the target folder, as the manifest and status name it."""
        return path.relative_to(self.target_dir).as_posix()

    def pulls_raw_path(self, repo: str) -> Path:
        """pulls/<owner>__<repo>.jsonl."""
        return self.raw_path("pulls", repo)

    def issues_raw_path(self, repo: str) -> Path:
        """issues/<owner>__<repo>.jsonl."""
        return self.raw_path("issues", repo)

    def reviews_raw_path(self, repo: str) -> Path:
        """reviews/<owner>__<repo>.jsonl."""
        return self.raw_path("reviews", repo)

    def issue_comments_raw_path(self, repo: str) -> Path:
        """issue_comments/<owner>__<repo>.jsonl."""
        return self.raw_path("issue_comments", repo)

    def review_comments_raw_path(self, repo: str) -> Path:
        """review_comments/<owner>__<repo>.jsonl."""
        return self.raw_path("review_comments", repo)

    def commits_raw_path(self, repo: str) -> Path:
        """commits/<owner>__<repo>.jsonl."""
        return self.raw_path("commits", repo)
