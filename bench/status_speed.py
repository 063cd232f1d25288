"""Row f: ``ghye status`` on a 10,000-repo checkpoint, as a whole process (goal < 1 s).

The checkpoint is built with the storage API (CheckpointManager create_new / update_repos /
update_progress / mark_repo_endpoint_failed), shaped like a run caught half-way: 10,000 repos ×
6 endpoints, 60% of the repos complete, a few hundred units failed or unavailable, 1,500 page
commits still in the journal (not yet folded into checkpoint.json, as while a collect runs),
the rest pending. Then the real ``ghye status --config …`` and ``ghye status --json --config …``
processes are timed (interpreter start to exit; best and median of ``--rounds``).

The build (a process of its own, left without folding its journal, as a killed collect is)
writes 40,000 journal commits, each fsynced; it runs on /dev/shm when there is one
(tmpfs: an fsync costs nothing there) to keep the setup short. ``status`` only reads, so a
tmpfs checkpoint reads like one in the page cache, which a checkpoint a collect is writing is.

    .venv/bin/python bench/status_speed.py [--repos 10000 --rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from _common import Measured, ghye_argv, measure_process

from gh_year_end.config import load_config
from gh_year_end.endpoints import ENDPOINTS as TABLE
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.paths import PathManager
from harness import ghye_env, write_config

ENDPOINTS = tuple(e.name for e in TABLE if not e.opt_in)  # what a default config plans

GOAL_SECONDS = 1.0
OWNER = "acme"
JOURNAL_TAIL = 1500


@dataclass(frozen=True)
class StatusResult:
    """Timings of the two forms of the command."""

    repos: int
    build_seconds: float
    checkpoint_bytes: int
    journal_bytes: int
    table: tuple[Measured, ...]
    json: tuple[Measured, ...]
    json_units: dict[str, int]

    @property
    def worst_best(self) -> float:
        """The slower of the two best times (the figure)."""
        return max(min(m.wall for m in self.table), min(m.wall for m in self.json))


def build(folder: Path, repos: int) -> Path:
    """A half-way 10,000-repo checkpoint under ``folder``; returns the config path."""
    config_path = write_config(folder, "http://127.0.0.1:9", owner=OWNER)
    config = load_config(config_path)
    paths = PathManager(config)
    paths.target_dir.mkdir(parents=True, exist_ok=True)
    manager = CheckpointManager(paths.checkpoint_path, journal_path=paths.journal_path)
    manager.compact_every = 1_000_000  # folded once below, by hand
    manager.create_new(config)
    names = [f"{OWNER}/repo-{i:05d}" for i in range(repos)]
    manager.update_repos(
        [
            {"full_name": n, "id": 600_000_000 + i, "private": False, "fork": False}
            for i, n in enumerate(names)
        ]
    )
    manager.mark_phase_complete("discovery")
    complete = int(repos * 0.6)
    for i, name in enumerate(names[:complete]):
        for j, endpoint in enumerate(ENDPOINTS):
            records = (i * 7 + j * 13) % 250
            pages = records // 100 + 1
            manager.update_progress(
                name, endpoint, pages, records, offset=records * 900, lines=records,
                complete=True,
            )  # fmt: skip
        if i % 97 == 0:
            manager.mark_repo_endpoint_failed(
                name, "commits", f"GitHub answered 502 for /repos/{name}/commits", True
            )
        elif i % 89 == 0:
            manager.mark_repo_endpoint_failed(
                name, "issues", "404 Not Found", False, unavailable=True
            )
    manager.compact()
    # What a running collect has committed since its last fold: journal lines only.
    for k in range(JOURNAL_TAIL):
        name = names[complete + k % 200]
        endpoint = ENDPOINTS[k % len(ENDPOINTS)]
        page = k // 200 + 1
        manager.update_progress(
            name, endpoint, page, 100, offset=page * 90_000, lines=page * 100,
            next_url=f"http://127.0.0.1:9/repositories/1/{endpoint}?page={page + 1}",
        )  # fmt: skip
    # Not closed: close() would fold the journal, which a running collect has not done yet.
    # The caller is a process of its own, so its exit leaves the files as a killed collect would.
    return config_path


def _tmp_parent() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and shm.stat().st_mode & 0o002 else None


def run(*, repos: int = 10_000, rounds: int = 5) -> StatusResult:
    """Build the checkpoint, then time ``rounds`` of each form of ``ghye status``."""
    with tempfile.TemporaryDirectory(prefix="ghye-bench-status-", dir=_tmp_parent()) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        built = measure_process(
            [sys.executable, str(Path(__file__)), "--build", str(folder), "--repos", str(repos)],
            env=ghye_env(),
            folder=folder / "runs",
            name="build",
        )
        if built.returncode != 0:
            raise RuntimeError(f"building the checkpoint failed: {built.stderr[-2000:]}")
        build_seconds = time.perf_counter() - started
        config = Path(built.stdout.strip())
        paths = PathManager(load_config(config))
        table: list[Measured] = []
        as_json: list[Measured] = []
        for n in range(rounds):
            for extra, out in (((), table), (("--json",), as_json)):
                measured = measure_process(
                    ghye_argv("status", *extra, "--config", str(config)),
                    env=ghye_env(),
                    folder=folder / "runs",
                    name=f"status{'-json' if extra else ''}-{n}",
                )
                if measured.returncode != 0:
                    raise RuntimeError(f"ghye status exited {measured.returncode}: "
                                       f"{measured.stderr[-2000:]}")  # fmt: skip
                out.append(measured)
        report = orjson.loads(as_json[-1].stdout)
        return StatusResult(
            repos=repos,
            build_seconds=build_seconds,
            checkpoint_bytes=paths.checkpoint_path.stat().st_size,
            journal_bytes=paths.journal_path.stat().st_size,
            table=tuple(table),
            json=tuple(as_json),
            json_units={k: v for k, v in report.get("units", {}).items() if isinstance(v, int)},
        )


def main() -> int:
    """Print the figures; exit 1 when the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build is not None:
        print(build(args.build, args.repos))
        return 0
    r = run(repos=args.repos, rounds=args.rounds)
    print(
        f"{r.repos:,} repos; checkpoint.json {r.checkpoint_bytes / 1e6:.1f} MB, journal"
        f" {r.journal_bytes / 1e6:.2f} MB ({JOURNAL_TAIL} commits);"
        f" built in {r.build_seconds:.1f} s"
    )
    print(f"units (from --json): {r.json_units}")
    for label, runs in (("ghye status", r.table), ("ghye status --json", r.json)):
        walls = [m.wall for m in runs]
        print(
            f"{label:<20} best {min(walls):.3f} s, median {statistics.median(walls):.3f} s,"
            f" cpu {min(m.cpu for m in runs):.3f} s"
        )
    verdict = "ok" if r.worst_best < GOAL_SECONDS else "MISSED"
    print(f"slower best {r.worst_best:.3f} s (goal < {GOAL_SECONDS:g} s) {verdict}")
    return 0 if r.worst_best < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
