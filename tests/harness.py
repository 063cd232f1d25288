"""Helpers shared by the process-level tests, the torture run and the benchmarks.

They write a config pointing at a fake GitHub, run the real ``ghye`` console entry point in a
subprocess, and read a collected dataset back to compare it with the fake's expected ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import orjson

from gh_year_end.endpoints import BY_NAME, ENDPOINT_NAMES
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.jsonl import JSONLWriter
from gh_year_end.storage.paths import PathManager

TEST_TOKEN: Final = "ghye-test-token-0123456789"
TOKEN_ENV: Final = "GHYE_TEST_TOKEN"
NEXT_PAGE: Final = "https://api.github.com/repositories/1/pulls?page="
_PROXY_VARS: Final = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})
# The window of config_text's default year (2025): what the fake's expected ids are asked for.
SINCE: Final = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL: Final = datetime(2026, 1, 1, tzinfo=UTC)
ENDPOINTS: Final = ENDPOINT_NAMES


def config_text(
    api_url: str,
    root: Path,
    *,
    owner: str = "acme",
    mode: str = "org",
    year: int = 2025,
    max_concurrency: int = 4,
    extra_rate_limit: Mapping[str, Any] | None = None,
    enable: Mapping[str, bool] | None = None,
    discovery: Mapping[str, Any] | None = None,
    reviews_via: str | None = None,
    auth: Mapping[str, Any] | None = None,
) -> str:
    """A ghye YAML config for a fake GitHub at ``api_url`` storing under ``root``
    (``reviews_via``: None leaves ``collection.reviews_via`` at its default, graphql;
    ``auth``: the ``github.auth`` mapping, by default ``{"token_env": TOKEN_ENV}``)."""
    rate: dict[str, Any] = {
        "max_concurrency": max_concurrency,
        "points_per_minute": 100_000,
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "secondary_min_wait_seconds": 0.05,
        "reset_margin_seconds": 0.05,
        "request_timeout_seconds": 5,
        **(extra_rate_limit or {}),
    }
    switches = {"pulls": True, "issues": True, "reviews": True, "comments": True, "commits": True}
    switches.update(enable or {})
    disc = {
        "include_forks": False,
        "include_archived": False,
        "visibility": "all",
        **(discovery or {}),
    }
    doc = {
        "github": {
            "api_url": api_url,
            "target": {"mode": mode, "name": owner},
            "auth": dict(auth) if auth is not None else {"token_env": TOKEN_ENV},
            "discovery": disc,
            "windows": {"year": year},
        },
        "rate_limit": rate,
        "collection": {
            "enable": switches,
            **({"reviews_via": reviews_via} if reviews_via is not None else {}),
        },
        "storage": {"root": str(root)},
    }
    # JSON is valid YAML, and keeps this free of quoting questions.
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()


def write_config(folder: Path, api_url: str, **kwargs: Any) -> Path:
    """Write ``config.yaml`` into ``folder`` (data under ``folder/data``); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(config_text(api_url, folder / "data", **kwargs), encoding="utf-8")
    return path


def ghye_env(token: str | None = TEST_TOKEN, **extra: str) -> dict[str, str]:
    """The environment a ghye subprocess runs with: the token in TOKEN_ENV, no GitHub tokens,
    no proxy variables (the fake is on loopback; a test that wants a proxy names it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GHYE_CONFIG") and k.lower() not in _PROXY_VARS
    }
    if token is not None:
        env[TOKEN_ENV] = token
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def ghye_command(*args: str) -> list[str]:
    """argv running the installed package's CLI with this interpreter."""
    return [sys.executable, "-m", "gh_year_end", *args]


def run_ghye(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ghye to the end; stdout/stderr captured as text."""
    return subprocess.run(
        ghye_command(*args),
        env=dict(env) if env is not None else ghye_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def start_ghye(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start ghye in the background (stdout/stderr piped as text)."""
    return subprocess.Popen(
        ghye_command(*args),
        env=dict(env) if env is not None else ghye_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


class OutputWatcher:
    """Reads a started ghye's stdout and stderr in background threads, so a test can wait for
    a line while the process runs (and the process never blocks on a full pipe)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        """Start draining ``proc``'s pipes (as opened by :func:`start_ghye`)."""
        self.proc = proc
        self._parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._drain, args=(name, stream), daemon=True)
            for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
            if stream is not None
        ]
        for thread in self._threads:
            thread.start()

    def _drain(self, name: str, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            with self._changed:
                self._parts[name].append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        """What the process wrote to stdout so far."""
        with self._changed:
            return "".join(self._parts["stdout"])

    @property
    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        with self._changed:
            return "".join(self._parts["stderr"])

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait until ``text`` appears in stdout or stderr; False on timeout or process end."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(text in "".join(part) for part in self._parts.values()):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not any(t.is_alive() for t in self._threads):
                    return False
                self._changed.wait(min(left, 0.05))

    def __enter__(self) -> OutputWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Kill the process if it still runs (a failed test must not leave it behind)."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.finish(timeout=10)

    def finish(self, timeout: float) -> int:
        """Wait for the process to end and its output to be read; its exit code.

        Raises subprocess.TimeoutExpired (after killing it) if it runs past ``timeout``.
        """
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            for thread in self._threads:
                thread.join(timeout=5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        return code


def target_dir(root: Path, owner: str = "acme", year: int = 2025) -> Path:
    """The raw folder of one target under a storage root."""
    return root / "raw" / f"year={year}" / "source=github" / f"target={owner}"


def record_id(endpoint: str, data: Mapping[str, Any]) -> Any:
    """The id a record is counted by: the endpoint table's record_id (repos.jsonl's records,
    "repos", by full name)."""
    if endpoint == "repos":
        return data["full_name"]
    return data[BY_NAME[endpoint].record_id]


@dataclass(frozen=True)
class Dataset:
    """What a target folder holds: ids per unit, and every problem found reading it."""

    ids: dict[str, dict[str, list[Any]]]
    problems: tuple[str, ...]


def read_dataset(folder: Path) -> Dataset:
    """Read every JSONL file under a target folder; torn lines and duplicates are problems."""
    ids: dict[str, dict[str, list[Any]]] = {}
    problems: list[str] = []
    for endpoint in ENDPOINTS:
        edir = folder / endpoint
        if not edir.is_dir():
            continue
        for path in sorted(edir.glob("*.jsonl")):
            raw = path.read_bytes()
            if raw and not raw.endswith(b"\n"):
                problems.append(f"{path.name} ({endpoint}) ends with a torn line")
            found: list[Any] = []
            for number, line in enumerate(raw.splitlines(), 1):
                try:
                    envelope = orjson.loads(line)
                except orjson.JSONDecodeError:
                    problems.append(f"{endpoint}/{path.name}:{number} is not JSON")
                    continue
                found.append(record_id(endpoint, envelope["data"]))
            repo = path.stem.replace("__", "/", 1)
            if not found:
                continue
            dupes = [i for i, n in Counter(found).items() if n > 1]
            if dupes:
                problems.append(
                    f"{endpoint}/{path.name}: {len(dupes)} duplicated ids, e.g. {dupes[0]}"
                )
            ids.setdefault(repo, {})[endpoint] = found
    return Dataset(ids=ids, problems=tuple(problems))


def compare_with_expected(dataset: Dataset, expected: Mapping[str, Any]) -> list[str]:
    """Differences between a dataset and the fake's ``expected()`` answer (empty = equal)."""
    problems = list(dataset.problems)
    units: Mapping[str, Mapping[str, list[Any]]] = expected["units"]
    for repo, per_endpoint in units.items():
        for endpoint, want in per_endpoint.items():
            got = dataset.ids.get(repo, {}).get(endpoint, [])
            if sorted(map(str, got)) != sorted(map(str, want)):
                missing = set(map(str, want)) - set(map(str, got))
                extra = set(map(str, got)) - set(map(str, want))
                problems.append(
                    f"{repo} {endpoint}: {len(got)} collected, {len(want)} expected "
                    f"({len(missing)} missing, {len(extra)} extra)"
                )
    for repo, per_endpoint in dataset.ids.items():
        for endpoint, got in per_endpoint.items():
            if got and endpoint not in units.get(repo, {}):
                problems.append(f"{repo} {endpoint}: {len(got)} records collected, none expected")
    return problems


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_bytes(folder: Path) -> int:
    """Bytes in every unit's JSONL file under a target folder (a cheap progress gauge)."""
    total = 0
    for endpoint in ENDPOINTS:
        try:
            entries = list(os.scandir(folder / endpoint))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.endswith(".jsonl"):
                try:
                    total += entry.stat().st_size
                except FileNotFoundError:
                    continue  # removed by a start-over while we looked
    return total


def checkpoint_problems(folder: Path, *, final: bool = False) -> list[str]:
    """Where the checkpoint on disk does not describe an exact prefix of each unit's file.

    Loads checkpoint.json + journal read-only (no lock, nothing changed), as ``ghye status``
    does. For every unit: the file holds at least ``offset`` bytes; those bytes are exactly
    ``lines`` whole JSON lines with distinct ids, and ``records_collected == lines``. With
    ``final``: also every unit complete (or recorded unavailable), nothing past the offset, and
    no data file the checkpoint does not know. No checkpoint yet (a run killed before it made
    one) is no problem unless ``final``.
    """
    from gh_year_end.storage.checkpoint import (
        CheckpointManager,
        CheckpointStatus,
    )
    from gh_year_end.storage.rewrite import reading_path

    checkpoint_path = folder / "checkpoint.json"
    if not checkpoint_path.exists():
        return ["no checkpoint.json"] if final else []
    checkpoint = CheckpointManager.read_only(
        checkpoint_path, journal_path=folder / "checkpoint.journal"
    )
    problems: list[str] = []
    known: set[Path] = set()
    for repo, endpoint, state in checkpoint.units():
        where = f"{repo} {endpoint}"
        path = folder / endpoint / f"{repo.replace('/', '__', 1)}.jsonl"
        known.add(path)
        if final and state.status is not CheckpointStatus.COMPLETE and not state.unavailable:
            problems.append(f"{where}: {state.status.value} at the end ({state.error})")
        if final and state.switch is not None:
            problems.append(f"{where}: a refreshed file's switch is still pending at the end")
        try:
            # A refresh killed between its commit and its rename: the refreshed file is what
            # the checkpoint vouches for until the next run renames it.
            raw = reading_path(path, state.switch).read_bytes()
        except FileNotFoundError:
            if state.offset or state.lines:
                problems.append(f"{where}: file missing, checkpoint says {state.offset} bytes")
            continue
        if len(raw) < state.offset:
            problems.append(f"{where}: file has {len(raw)} bytes < committed {state.offset}")
            continue
        if final and len(raw) != state.offset:
            problems.append(f"{where}: {len(raw) - state.offset} bytes past the committed offset")
        prefix = raw[: state.offset]
        if prefix and not prefix.endswith(b"\n"):
            problems.append(f"{where}: committed offset {state.offset} cuts a line")
        lines = prefix.split(b"\n")[:-1]
        if len(lines) != state.lines:
            problems.append(f"{where}: {len(lines)} lines committed, checkpoint says {state.lines}")
        if state.records_collected != state.lines:
            problems.append(
                f"{where}: records_collected {state.records_collected} != lines {state.lines}"
            )
        try:
            ids = [record_id(endpoint, orjson.loads(line)["data"]) for line in lines]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"{where}: committed prefix holds a bad line ({exc})")
            continue
        if len(set(map(str, ids))) != len(ids):
            problems.append(f"{where}: duplicated ids in the committed prefix")
    if final:
        for endpoint in ENDPOINTS:
            for path in sorted((folder / endpoint).glob("*.jsonl")):
                if path not in known:
                    problems.append(f"{endpoint}/{path.name}: a data file the checkpoint lacks")
            for path in sorted((folder / endpoint).glob("*.refresh")):
                problems.append(f"{endpoint}/{path.name}: a refreshed file left at the end")
    return problems


def manifest_problems(folder: Path) -> list[str]:
    """Where manifest.json disagrees with the data files: every file listed, and each listed
    file's sha256, bytes and records (= lines) equal to what is on disk."""
    path = folder / "manifest.json"
    if not path.exists():
        return ["no manifest.json"]
    manifest = orjson.loads(path.read_bytes())
    problems: list[str] = []
    listed: set[str] = set()
    for entry in manifest["files"]:
        rel = entry["path"]
        listed.add(rel)
        file = folder / rel
        if not file.exists():
            problems.append(f"{rel}: in the manifest, not on disk")
            continue
        raw = file.read_bytes()
        actual = {"bytes": len(raw), "records": raw.count(b"\n"), "sha256": file_sha256(file)}
        for key, value in actual.items():
            if entry[key] != value:
                problems.append(f"{rel}: manifest {key} {entry[key]!r} != file {value!r}")
    on_disk = {
        p.relative_to(folder).as_posix() for e in ENDPOINTS for p in (folder / e).glob("*.jsonl")
    }
    for rel in sorted(on_disk - listed):
        problems.append(f"{rel}: on disk, not in the manifest")
    return problems


def run_until_done(
    config: Path,
    *,
    env: Mapping[str, str] | None = None,
    max_runs: int = 10,
    extra_args: Sequence[str] = (),
) -> list[subprocess.CompletedProcess[str]]:
    """``ghye collect``, then ``ghye resume`` while the exit code is 3, at most ``max_runs`` runs.

    Returns every run; the last one's exit code is the outcome (3 if the budget ran out).
    """
    runs = [run_ghye(["collect", "--config", str(config), *extra_args], env=env)]
    while runs[-1].returncode == 3 and len(runs) < max_runs:
        runs.append(run_ghye(["resume", "--config", str(config), *extra_args], env=env))
    return runs


def snapshot_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path → bytes), lock files left out.

    For "nothing collected was lost" checks: take one before a failing command, one after, and
    compare. The run lock and its owner record change with every run that takes the lock.
    """
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith("checkpoint.json.lock")
    }


def unused_port() -> int:
    """A loopback TCP port nothing listens on (bound, then closed again)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def commit_page(
    checkpoint: CheckpointManager,
    paths: PathManager,
    repo: str,
    endpoint: str,
    records: int,
    *,
    complete: bool = True,
) -> None:
    """Write ``records`` lines to the unit's file and commit them as its next page, the way the
    collector does (for tests that build checkpoints without a fake GitHub)."""
    state = checkpoint.get_endpoint(repo, endpoint)
    with JSONLWriter(
        paths.raw_path(endpoint, repo),
        repo=repo,
        committed_offset=state.offset,
        committed_lines=state.lines,
    ) as writer:
        for i in range(records):
            writer.write(source="github_rest", endpoint=endpoint, data={"id": i})
        offset, lines = writer.flush()
    checkpoint.update_progress(
        repo,
        endpoint,
        state.last_page_written + 1,
        records,
        next_url=None if complete else f"{NEXT_PAGE}{state.last_page_written + 2}",
        offset=offset,
        lines=lines,
        complete=complete,
    )
