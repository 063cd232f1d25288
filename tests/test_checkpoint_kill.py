"""SIGKILL at random moments: the checkpoint always describes an exact prefix of every file,
the next run resumes (the dead holder's lock does not block it), and the finished collection
holds every record exactly once.

A child process commits pages with a real JSONLWriter + CheckpointManager from two threads
(compact_every=7, so kills also land inside folds). The parent reads a random number of commit
notices from it, waits a random sliver, and kills it — about 20 times — checking the invariant
after each kill, then lets a last run finish.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import orjson

from gh_year_end.config import parse_config
from gh_year_end.storage import CheckpointManager, CheckpointStatus
from gh_year_end.storage.lock import holder_state
from gh_year_end.storage.paths import PathManager

REPOS = ["acme/alpha", "acme/beta", "acme/gamma"]
ENDPOINTS = ["pulls", "issues"]
UNITS = [(repo, endpoint) for repo in REPOS for endpoint in ENDPOINTS]
PAGES = 80
PER_PAGE = 20
KILLS = 20

CHILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from gh_year_end.config import parse_config
    from gh_year_end.storage import CheckpointManager, CheckpointStatus, JSONLWriter
    from gh_year_end.storage.paths import PathManager

    root, pages, per_page = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    repos, endpoints = sys.argv[4].split(","), sys.argv[5].split(",")
    config = parse_config(sys.argv[6], cwd=root)
    paths = PathManager(config)
    out = threading.Lock()

    def work(cp, units):
        for repo, endpoint in units:
            state = cp.get_endpoint(repo, endpoint)
            if state.status is CheckpointStatus.COMPLETE:
                continue
            with JSONLWriter(paths.raw_path(endpoint, repo), repo=repo,
                             committed_offset=state.offset, committed_lines=state.lines) as w:
                page = cp.get_resume_page(repo, endpoint)
                while page <= pages:
                    for i in range(per_page):
                        w.write(source="kill-test", endpoint=endpoint, page=page,
                                data={"id": f"{repo}|{endpoint}|{page}|{i}"})
                    offset, lines = w.flush()
                    last = page == pages
                    cp.update_progress(repo, endpoint, page, per_page, offset=offset, lines=lines,
                                       next_url=None if last else f"next:{page + 1}",
                                       complete=last)
                    with out:
                        sys.stdout.write("c\\n")
                        sys.stdout.flush()
                    page += 1

    with CheckpointManager(paths.checkpoint_path, paths.lock_path, compact_every=7,
                           command="kill-test") as cp:
        if cp.exists():
            cp.load()
        else:
            cp.create_new(config)
            cp.update_repos([{"full_name": r} for r in repos], endpoints=endpoints)
        units = [(r, e) for r in repos for e in endpoints]
        threads = [threading.Thread(target=work, args=(cp, units[i::2])) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("done", flush=True)
    """
)


def expected_ids(repo: str, endpoint: str, pages: int) -> list[str]:
    return [f"{repo}|{endpoint}|{p}|{i}" for p in range(1, pages + 1) for i in range(PER_PAGE)]


def check_invariant(paths: PathManager) -> int:
    """Assert what the checkpoint says about every unit is an exact prefix of its file."""
    view = CheckpointManager.read_only(paths.checkpoint_path)
    committed = 0
    for repo, endpoint in UNITS:
        state = view.get_endpoint(repo, endpoint)
        path = paths.raw_path(endpoint, repo)
        data = path.read_bytes() if path.exists() else b""
        assert len(data) >= state.offset, (repo, endpoint, len(data), state.offset)
        lines = data[: state.offset].splitlines()
        pages = state.last_page_written
        assert len(lines) == state.lines == state.records_collected == pages * PER_PAGE
        assert state.pages_collected == pages  # no page committed twice
        assert [orjson.loads(line)["data"]["id"] for line in lines] == expected_ids(
            repo, endpoint, pages
        )
        if state.status is CheckpointStatus.COMPLETE:
            assert (pages, state.next_url) == (PAGES, None)
        elif pages:
            assert state.next_url == f"next:{pages + 1}"
        committed += pages
    return committed


def test_sigkill_anywhere_then_resume_ends_with_every_record_exactly_once(tmp_path: Path) -> None:
    config_text = (
        "github:\n  target: {mode: org, name: acme}\n  windows: {year: 2025}\n"
        f"storage: {{root: '{tmp_path / 'data'}'}}\n"
    )
    paths = PathManager(parse_config(config_text, cwd=tmp_path))
    command = [
        sys.executable,
        "-c",
        CHILD,
        str(tmp_path),
        str(PAGES),
        str(PER_PAGE),
        ",".join(REPOS),
        ",".join(ENDPOINTS),
        config_text,
    ]
    rng = random.Random(20261126)
    kills = 0
    progress: list[int] = []
    while kills < KILLS:
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            wanted = rng.randint(1, 25)
            seen = 0
            while seen < wanted and child.stdout.readline() == "c\n":
                seen += 1
            time.sleep(rng.uniform(0, 0.002))  # land anywhere in the next commit or fold
            child.send_signal(signal.SIGKILL)
            child.wait()
        if child.returncode != -signal.SIGKILL:
            break  # it finished before the kill
        kills += 1
        assert holder_state(paths.lock_path) in ("stale", "free")  # never blocks the next run
        progress.append(check_invariant(paths))
    assert kills == KILLS, f"the work ran out after {kills} kills; raise PAGES"
    assert progress == sorted(progress)  # committed pages never go back
    assert progress[-1] < len(UNITS) * PAGES

    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    assert finished.stdout.endswith("done\n"), finished.stderr
    assert check_invariant(paths) == len(UNITS) * PAGES
    ids: Counter[str] = Counter()
    for repo, endpoint in UNITS:
        assert CheckpointManager.read_only(paths.checkpoint_path).is_repo_endpoint_complete(
            repo, endpoint
        )
        for line in paths.raw_path(endpoint, repo).read_bytes().splitlines():
            ids[orjson.loads(line)["data"]["id"]] += 1
    every = {i for repo, endpoint in UNITS for i in expected_ids(repo, endpoint, PAGES)}
    assert set(ids) == every
    assert set(ids.values()) == {1}
    assert holder_state(paths.lock_path) == "free"
