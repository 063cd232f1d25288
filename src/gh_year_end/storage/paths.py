"""PathManager: the data layout of one target's raw collection.

::

    <storage.root>/raw/year=YYYY/source=github/target=NAME/
        checkpoint.json          progress snapshot
        checkpoint.journal       page commits since the snapshot (append-only, fsynced per page)
        checkpoint.json.lock     the run lock (and checkpoint.json.lock.owner: who holds it)
        manifest.json            written when every unit has ended
        repos.jsonl              the discovered plan
        estimate.json            what each unit is expected to cost (ghye plan; status's ETA)
        pulls/<owner>__<repo>.jsonl, issues/…, reviews/…, issue_comments/…,
        review_comments/…, commits/…
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import StorageError, UnsafeName

# What GitHub allows in an account and a repository name (letters, digits, '-', '_', '.'):
# nothing that could climb out of a folder. '.' and '..' alone are refused on top.
_NAME_PART: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def is_safe_repo_name(full_name: object) -> bool:
    """Whether ``full_name`` is ``owner/repo`` made only of what GitHub allows in names."""
    if not isinstance(full_name, str):
        return False
    owner, sep, repo = full_name.partition("/")
    return bool(sep) and all(
        _NAME_PART.fullmatch(part) is not None and part not in (".", "..") for part in (owner, repo)
    )


def repo_file_name(full_name: str) -> str:
    """`owner/repo` → `owner__repo.jsonl`; UnsafeName for a name that is not a GitHub name."""
    if not is_safe_repo_name(full_name):
        raise UnsafeName(
            f"the repository name {full_name!r} is not a GitHub repository name — ghye does not "
            "turn it into a file name"
        )
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

    @property
    def estimate_path(self) -> Path:
        """estimate.json: what ``ghye plan`` (or a collect after discovery) expects each unit to
        cost — ``ghye status`` reads its ETA from it. Not data: no check requires it."""
        return self.target_dir / "estimate.json"

    def endpoint_dir(self, endpoint: str) -> Path:
        """The folder holding one endpoint's files."""
        if endpoint not in ENDPOINT_NAMES:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        return self.target_dir / endpoint

    def raw_path(self, endpoint: str, repo: str) -> Path:
        """One repo's JSONL file for one endpoint (always directly inside its endpoint folder)."""
        folder = self.endpoint_dir(endpoint)
        path = folder / repo_file_name(repo)
        if path.parent != folder:  # repo_file_name allows no separator; this states the promise
            raise UnsafeName(f"{repo!r} would put a data file outside {folder}")
        return path

    def data_files(self) -> list[Path]:
        """Every file in the endpoint folders, folder by folder, by name (what is on disk, be
        it a planned unit's file or not). StorageError when a folder cannot be read."""
        found: list[Path] = []
        for endpoint in ENDPOINT_NAMES:
            folder = self.target_dir / endpoint
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise StorageError(f"cannot read {folder}: {exc.strerror}") from exc
            found.extend(Path(e.path) for e in entries if e.is_file(follow_symlinks=False))
        return found

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
