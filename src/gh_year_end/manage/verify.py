"""`ghye verify` as a library function: prove a collected dataset without the network.

Every check reads only the target folder; nothing is changed and no lock is taken (so it also
runs on a read-only copy, and beside a running collect — whose in-progress units are checked up
to their last commit — or a running refresh). The checks:

- each planned unit's data against the checkpoint: present when it holds committed bytes, at
  least as long as the commit, the committed prefix made of exactly the committed number of
  whole lines, nothing past it (unless that unit is being collected right now). A unit's data is
  the file a reader without the lock reads (:func:`~gh_year_end.storage.rewrite.reading_path`):
  its refreshed file while a commit names it (``switch``, renamed over the unit's file by the
  next writer) and it is there, else the unit's file;
- each committed line: JSON, ghye's envelope (timestamp, source, endpoint, repo, page,
  request_id, data), the unit's own endpoint and repo, a record with its id, no id twice;
- the manifest, when there is one: same dataset as the checkpoint, every listed file's bytes,
  records and sha256 (a unit's data as above, under the unit's own file name), every unit's
  file listed; when every unit has ended, its absence — unless a refresh is under way (it
  removes the manifest when it begins and writes it when it ends);
- nothing outside the plan: every file in an endpoint folder is a planned unit's file or the
  refreshed file a commit names, and repos.jsonl lists exactly the planned repositories. A
  refreshed file no commit names is a refresh's unfinished file (``ghye resume`` removes it);
  beside a running refresh it is the one being written, and is not a problem.

Beside a running refresh a unit's file can be switched between the checkpoint's reading and
the file's: a unit the refresh has yet to bring up to date that does not hold is checked once
more against the checkpoint read again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from gh_year_end.config import Config
from gh_year_end.endpoints import BY_NAME
from gh_year_end.errors import NoCheckpoint, UnsafeName
from gh_year_end.storage.atomic import storage_error
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus, EndpointProgress
from gh_year_end.storage.lock import holder_state
from gh_year_end.storage.manifest import read_manifest
from gh_year_end.storage.paths import PathManager
from gh_year_end.storage.rewrite import REFRESH_SUFFIX, reading_path

ENVELOPE_KEYS: Final = frozenset(
    {"timestamp", "source", "endpoint", "repo", "page", "request_id", "data"}
)
#: Problems named per file before the rest are counted in one line.
MAX_PER_FILE: Final = 3
CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold, and where."""

    path: str
    what: str


@dataclass(frozen=True)
class VerifyReport:
    """What `ghye verify` found; :meth:`to_dict` is the ``--json`` form."""

    target: str
    target_dir: Path
    units: int
    units_ended: int
    files: int
    records: int
    bytes: int
    manifest_checked: bool
    running: bool
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    refreshing: int | None = None
    """The number of the refresh under way (None: none is): until it ends there is no manifest."""

    @property
    def holds(self) -> bool:
        """Whether every check passed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema in docs/cli.md)."""
        return {
            "target": self.target,
            "dir": str(self.target_dir),
            "holds": self.holds,
            "units": self.units,
            "units_ended": self.units_ended,
            "files": self.files,
            "records": self.records,
            "bytes": self.bytes,
            "manifest_checked": self.manifest_checked,
            "collect_running": self.running,
            "refreshing": self.refreshing,
            "problems": [{"path": p.path, "problem": p.what} for p in self.problems],
        }


@dataclass(frozen=True)
class _FileCheck:
    """One unit's file as read: its committed prefix's digest and lines, and what is wrong."""

    exists: bool
    size: int
    sha256: str
    lines: int
    problems: list[str]


def verify(config: Config) -> VerifyReport:
    """Check the target's dataset (see the module docstring); never raises for a problem found.

    Raises NoCheckpoint when there is no checkpoint, CheckpointCorrupt or
    CheckpointVersionUnsupported when it cannot be read, StorageError when a file cannot be read.
    """
    paths = PathManager(config)
    name = config.github.target.name
    if not paths.checkpoint_path.is_file():
        raise NoCheckpoint(
            f"no checkpoint for target {name} at {paths.target_dir} — nothing to verify "
            "(`ghye collect` makes one)"
        )
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)
    running = holder_state(paths.lock_path) == "alive"
    refreshing = checkpoint.refresh_under_way()
    # A running refresh rewrites complete units: their files may change under this reading.
    rewriting = running and refreshing is not None
    again: _Reread | None = _Reread(paths) if rewriting else None
    problems: list[Problem] = []
    checked: dict[Path, _FileCheck] = {}
    planned_files: set[Path] = set()
    units = ended = records = total_bytes = 0
    for repo, endpoint, committed in checkpoint.units():
        state = committed
        units += 1
        ended += _ended(state)
        try:
            path = paths.raw_path(endpoint, repo)
        except (UnsafeName, ValueError) as exc:
            problems.append(Problem(f"{endpoint}/?", f"unit {repo} {endpoint}: {exc}"))
            continue
        planned_files.add(path)
        in_flight = running and state.status is CheckpointStatus.IN_PROGRESS
        unit = _check_planned(paths, path, repo, endpoint, state, in_flight=in_flight)
        if (
            unit.problems
            and again is not None
            and refreshing is not None
            and _may_be_switching(state, refreshing)
        ):
            newer = again.state(repo, endpoint)
            if newer is not None and newer != state:
                state = newer
                unit = _check_planned(paths, path, repo, endpoint, state, in_flight=in_flight)
        planned_files.update(unit.switched)
        checked[path] = unit.check
        problems.extend(unit.problems)
        if unit.check.exists:
            records += unit.check.lines
            total_bytes += min(unit.check.size, state.offset)
    problems.extend(_outside_the_plan(paths, planned_files, rewriting=rewriting))
    problems.extend(_repos_listing(paths, checkpoint))
    manifest_checked = paths.manifest_path.is_file()
    if manifest_checked:
        problems.extend(_manifest(paths, checkpoint, checked))
    elif (
        units
        and ended == units
        and checkpoint.is_phase_complete("discovery")
        and not running
        and refreshing is None
    ):
        problems.append(
            Problem(
                "manifest.json",
                "missing though every unit has ended — `ghye collect` writes it",
            )
        )
    files = sum(1 for c in checked.values() if c.exists)
    return VerifyReport(
        target=name,
        target_dir=paths.target_dir,
        units=units,
        units_ended=ended,
        files=files,
        records=records,
        bytes=total_bytes,
        manifest_checked=manifest_checked,
        running=running,
        problems=tuple(problems),
        refreshing=refreshing,
    )


@dataclass(frozen=True)
class _Planned:
    """One planned unit as checked: its data's check (keyed by the unit's file), the problems
    (named by the file read), and the refreshed file its commit names, when one does."""

    check: _FileCheck
    problems: list[Problem]
    switched: tuple[Path, ...]


def _check_planned(
    paths: PathManager,
    path: Path,
    repo: str,
    endpoint: str,
    state: EndpointProgress,
    *,
    in_flight: bool,
) -> _Planned:
    """Check the unit's data where a reader without the lock finds it (see the module
    docstring): its refreshed file while a commit names it and it is there."""
    problems: list[Problem] = []
    switch = state.switch
    switched: tuple[Path, ...] = ()
    if switch is not None and not _plain_name(switch):
        problems.append(
            Problem(
                paths.relative(path),
                f"the checkpoint names {switch!r} as the unit's refreshed file — not a file "
                "name in its folder",
            )
        )
        switch = None
    if switch is not None:
        switched = (path.with_name(switch),)
    read = reading_path(path, switch)
    check = _check_unit(read, repo, endpoint, state, in_flight=in_flight)
    rel = paths.relative(read)
    problems.extend(Problem(rel, what) for what in check.problems)
    return _Planned(check, problems, switched)


def _plain_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and "/" not in name and "\\" not in name


def _may_be_switching(state: EndpointProgress, generation: int) -> bool:
    """Whether a running refresh may have rewritten the unit since the checkpoint was read."""
    return state.switch is not None or (
        state.status is CheckpointStatus.COMPLETE and state.refresh_generation < generation
    )


class _Reread:
    """The checkpoint read once more, when first needed (beside a running refresh)."""

    def __init__(self, paths: PathManager) -> None:
        self._paths = paths
        self._checkpoint: CheckpointManager | None = None

    def state(self, repo: str, endpoint: str) -> EndpointProgress | None:
        """The unit's state in the newer reading (None: the unit is gone from it)."""
        if self._checkpoint is None:
            paths = self._paths
            self._checkpoint = CheckpointManager.read_only(
                paths.checkpoint_path, journal_path=paths.journal_path
            )
        repo_progress = self._checkpoint.get_repo(repo)
        if repo_progress is None:
            return None
        return repo_progress.endpoints.get(endpoint)


def _ended(state: EndpointProgress) -> bool:
    return state.status is CheckpointStatus.COMPLETE or (
        state.status is CheckpointStatus.FAILED and not state.retryable
    )


def _check_unit(
    path: Path, repo: str, endpoint: str, state: EndpointProgress, *, in_flight: bool
) -> _FileCheck:
    """Read one unit's file once: the committed prefix line by line, then its length."""
    problems: list[str] = []
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if state.offset > 0:
            problems.append(f"missing, but the checkpoint says it holds {state.offset:,} bytes")
        return _FileCheck(False, 0, "", 0, problems)
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc
    if size < state.offset:
        problems.append(
            f"{size:,} bytes, shorter than the {state.offset:,} the checkpoint committed"
        )
    elif size > state.offset and not in_flight:
        mend = (
            "changed outside ghye — `ghye reset --repo "
            f"{repo} --endpoint {endpoint}` collects that unit again"
            if _ended(state)
            else "a page a stopped run wrote but never committed — `ghye resume` cuts them off"
        )
        problems.append(f"{size - state.offset:,} bytes past the last commit ({mend})")
    key = BY_NAME[endpoint].record_id if endpoint in BY_NAME else "id"
    digest = hashlib.sha256()
    bad: list[str] = []
    ids: set[Any] = set()
    lines = 0
    torn = False
    for number, line in _lines(path, min(size, state.offset)):
        digest.update(line)
        lines += 1
        if not line.endswith(b"\n"):
            torn = True
            bad.append(f"line {number} is torn: the commit ends inside it")
            continue
        problem = _line_problem(line, repo, endpoint, key, ids)
        if problem is not None:
            bad.append(f"line {number} {problem}")
    problems.extend(bad[:MAX_PER_FILE])
    if len(bad) > MAX_PER_FILE:
        problems.append(f"… and {len(bad) - MAX_PER_FILE:,} more bad lines")
    committed_lines = lines - torn
    if size >= state.offset and committed_lines != state.lines:
        problems.append(f"{committed_lines:,} lines committed, the checkpoint says {state.lines:,}")
    if state.records_collected != state.lines:
        problems.append(
            f"the checkpoint counts {state.records_collected:,} records but {state.lines:,} lines"
        )
    return _FileCheck(True, size, digest.hexdigest(), lines, problems)


def _lines(path: Path, length: int) -> Iterator[tuple[int, bytes]]:
    """(number, line) of the first ``length`` bytes of ``path``; the last may lack its newline."""
    if length <= 0:
        return
    try:
        with path.open("rb") as handle:
            remaining = length
            for number, line in enumerate(handle, 1):
                if len(line) >= remaining:
                    yield number, line[:remaining]
                    return
                remaining -= len(line)
                yield number, line
    except OSError as exc:
        raise storage_error(exc, path, action="reading") from exc


def _line_problem(line: bytes, repo: str, endpoint: str, key: str, ids: set[Any]) -> str | None:
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "is not valid JSON"
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        return "is not a record in ghye's envelope"
    if envelope["endpoint"] != endpoint or envelope["repo"] != repo:
        return (
            f"belongs to {envelope['repo']} {envelope['endpoint']}, not to this unit "
            f"({repo} {endpoint})"
        )
    data = envelope["data"]
    if not isinstance(data, dict):
        return "holds no record object"
    record_id = data.get(key)
    if type(record_id) not in (int, str):
        return f"has a record without a usable {key!r}"
    if record_id in ids:
        return f"repeats record {key} {record_id} (a record twice in one unit)"
    ids.add(record_id)
    return None


def _outside_the_plan(paths: PathManager, planned: set[Path], *, rewriting: bool) -> list[Problem]:
    """The files in the endpoint folders no planned unit owns. A refreshed file no commit names
    is a refresh's unfinished one; beside a running refresh, one of a planned unit is being
    written (or was committed since the checkpoint was read)."""
    problems: list[Problem] = []
    for path in paths.data_files():
        if path in planned:
            continue
        if path.name.endswith(REFRESH_SUFFIX):
            unit_file = path.with_name(path.name.removesuffix(REFRESH_SUFFIX))
            if rewriting and unit_file in planned:
                continue
            what = (
                "a refresh's unfinished file (no commit vouches for it) — `ghye resume` removes it"
            )
        else:
            what = "not a file of any planned unit (not ghye's)"
        problems.append(Problem(paths.relative(path), what))
    return problems


def _repos_listing(paths: PathManager, checkpoint: CheckpointManager) -> list[Problem]:
    if not checkpoint.is_phase_complete("discovery"):
        return []
    rel = paths.relative(paths.repos_path)
    try:
        raw = paths.repos_path.read_bytes()
    except FileNotFoundError:
        return [Problem(rel, "missing, though discovery is complete")]
    except OSError as exc:
        raise storage_error(exc, paths.repos_path, action="reading") from exc
    listed: list[str] = []
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            name = orjson.loads(line)["data"]["full_name"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [Problem(rel, f"line {number} is not a repository in ghye's envelope")]
        if not isinstance(name, str):
            return [Problem(rel, f"line {number} names no repository (full_name {name!r})")]
        listed.append(name)
    if sorted(listed) != sorted(checkpoint.repo_names()):
        return [
            Problem(
                rel,
                f"lists {len(listed):,} repositories, the plan has {len(checkpoint.repo_names()):,}"
                " — they differ",
            )
        ]
    return []


def _manifest(
    paths: PathManager, checkpoint: CheckpointManager, checked: dict[Path, _FileCheck]
) -> list[Problem]:
    rel = paths.relative(paths.manifest_path)
    manifest = read_manifest(paths.manifest_path)
    if manifest is None:
        return [Problem(rel, "cannot be read as a manifest — `ghye collect` writes it again")]
    problems: list[Problem] = []
    if manifest.config_digest != checkpoint.config_digest:
        problems.append(Problem(rel, "describes another dataset config than the checkpoint"))
    listed: set[str] = set()
    for entry in manifest.files:
        listed.add(entry.path)
        check = checked.get(paths.target_dir / entry.path)
        if check is None:
            problems.append(
                Problem(entry.path, "listed in the manifest, not a planned unit's file")
            )
            continue
        if not check.exists:
            problems.append(Problem(entry.path, "listed in the manifest, missing on disk"))
        elif check.size < entry.bytes:
            problems.append(
                Problem(entry.path, f"{check.size:,} bytes, the manifest lists {entry.bytes:,}")
            )
        elif check.sha256 != entry.sha256 or check.lines != entry.records:
            problems.append(
                Problem(entry.path, "its content differs from the manifest's sha256 and records")
            )
    for path, check in checked.items():
        text = paths.relative(path)
        if check.exists and check.lines and text not in listed:
            problems.append(Problem(text, "holds committed records but is not in the manifest"))
    return problems
