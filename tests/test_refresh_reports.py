"""`ghye verify` and `ghye status` on a dataset a refresh is bringing up to date: a unit whose
refreshed file is committed but not yet renamed (or renamed, the checkpoint not yet told), a
refresh's unfinished file, the manifest a refresh removes until it ends, how far a refresh has
come and how current each endpoint's data is. Checkpoints are built with the storage API and
the refreshes committed the way :mod:`gh_year_end.collect.refresh_unit` commits them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from clirun import cli
from gh_year_end.cli.render.manage import render_verify
from gh_year_end.cli.render.status import render_status
from gh_year_end.config import Config, load_config
from gh_year_end.manage.status import AsOf, RefreshInfo, StatusReport, build_status
from gh_year_end.manage.verify import VerifyReport, verify
from gh_year_end.storage.checkpoint import CheckpointManager, Refreshed
from gh_year_end.storage.jsonl import JSONLWriter, envelope_line
from gh_year_end.storage.lock import holder_state
from gh_year_end.storage.manifest import hash_prefix, write_manifest
from gh_year_end.storage.paths import PathManager
from gh_year_end.storage.rewrite import finish_switch, reading_path, write_refreshed
from harness import write_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPOS = ("acme/api", "acme/web")
ENDPOINTS = {"pulls": "id", "commits": "sha"}  # endpoint → its record id
RECORDS = 3


class Clock:
    """A settable UTC clock for checkpoint timestamps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Dataset:
    """A collected target (two repos × pulls and commits, all complete, no manifest yet) and
    the writes a refresh makes, one step at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = write_config(
            root,
            "http://127.0.0.1:9",
            enable={"issues": False, "reviews": False, "comments": False},
        )
        self.config: Config = load_config(self.config_path)
        self.paths = PathManager(self.config)
        self.clock = Clock()
        with self.open(load=False) as cm:
            cm.create_new(self.config)
            cm.set_current_phase("discovery")
            cm.update_repos([{"full_name": r} for r in REPOS])
            with JSONLWriter(self.paths.repos_path) as listing:
                for i, repo in enumerate(REPOS):
                    listing.write(source="github_rest", endpoint="repos", data=_repo(repo, i))
                listing.flush()
            cm.mark_phase_complete("discovery")
            for endpoint, key in ENDPOINTS.items():
                cm.set_current_phase(endpoint)
                for repo in REPOS:
                    self.clock.advance(minutes=1)
                    path = self.paths.raw_path(endpoint, repo)
                    with JSONLWriter(path, repo=repo, committed_offset=0) as writer:
                        for i in range(RECORDS):
                            writer.write(
                                source="github_rest", endpoint=endpoint, data=_record(key, i)
                            )
                        offset, lines = writer.flush()
                    cm.update_progress(
                        repo, endpoint, 1, lines, offset=offset, lines=lines, complete=True
                    )
                cm.mark_phase_complete(endpoint)

    def open(self, *, load: bool = True) -> CheckpointManager:
        """The checkpoint as a writer holds it (the lock taken), loaded unless ``load`` is
        False (it is then created)."""
        cm = CheckpointManager(
            self.paths.checkpoint_path,
            self.paths.lock_path,
            journal_path=self.paths.journal_path,
            clock=self.clock,
            command="ghye collect --refresh",
        )
        if load:
            cm.load()
        return cm

    def unit_file(self, repo: str, endpoint: str) -> Path:
        return self.paths.raw_path(endpoint, repo)

    def write_manifest(self) -> None:
        """The manifest a collect writes, of each unit's data as a reader without the lock
        finds it (listed under the unit's own file)."""
        with CheckpointManager.read_only(
            self.paths.checkpoint_path, journal_path=self.paths.journal_path
        ) as cm:
            units = cm.units()
            digest = cm.config_digest
        files = []
        for repo, endpoint, state in units:
            path = self.unit_file(repo, endpoint)
            sha256, records = hash_prefix(reading_path(path, state.switch), state.offset)
            files.append(
                {
                    "path": self.paths.relative(path),
                    "endpoint": endpoint,
                    "repo": repo,
                    "records": records,
                    "bytes": state.offset,
                    "sha256": sha256,
                }
            )
        write_manifest(self.paths.manifest_path, {"config_digest": digest, "files": files})

    def begin_refresh(self, generation: int = 1) -> None:
        """What `collect --refresh` does first: the phase begins, the manifest goes."""
        with self.open() as cm:
            cm.restart_phase("refresh", generation=generation)
        self.paths.manifest_path.unlink(missing_ok=True)

    def refresh_unit(
        self,
        repo: str,
        endpoint: str,
        *,
        generation: int = 1,
        rename: bool,
        tell: bool,
        commit: bool = True,
        held: CheckpointManager | None = None,
    ) -> Path:
        """Refresh one unit (its first record edited, one record added): the refreshed file
        written, then (``commit``) committed, (``rename``) renamed over the unit's file and
        (``tell``) the checkpoint told — a kill -9 may come between each step. ``held``: the
        checkpoint of a refresh still running. Returns the refreshed file's path."""
        if held is None:
            with self.open() as cm:
                return self.refresh_unit(
                    repo, endpoint, generation=generation, rename=rename, tell=tell,
                    commit=commit, held=cm,
                )  # fmt: skip
        key = ENDPOINTS[endpoint]
        path = self.unit_file(repo, endpoint)
        stamp = self.clock.advance(hours=1)
        updates = {
            record[key]: (record, _line(repo, endpoint, record))
            for record in (_record(key, 0, edited=True), _record(key, RECORDS))
        }
        state = held.get_endpoint(repo, endpoint)
        rewritten = write_refreshed(path, state.offset, key, updates)
        assert rewritten is not None
        if commit:
            held.commit_refresh(
                repo,
                endpoint,
                Refreshed(
                    generation,
                    stamp,
                    None,
                    offset=rewritten.offset,
                    lines=rewritten.lines,
                    switch=rewritten.name,
                ),
            )
        if commit and rename:
            finish_switch(path, rewritten.name, rewritten.offset)
        if commit and rename and tell:
            held.switch_done(repo, endpoint)
        return path.with_name(rewritten.name)

    def unchanged_unit(self, repo: str, endpoint: str, *, generation: int = 1) -> None:
        """Refresh one unit GitHub says did not change (a ``304``): no file is written."""
        stamp = self.clock.advance(hours=1)
        with self.open() as cm:
            cm.commit_refresh(repo, endpoint, Refreshed(generation, stamp, None))

    def finish_refresh(self) -> None:
        with self.open() as cm:
            cm.mark_phase_complete("refresh")


def _repo(name: str, index: int) -> dict[str, Any]:
    return {"full_name": name, "id": 1000 + index}


def _record(key: str, index: int, *, edited: bool = False) -> dict[str, Any]:
    value: int | str = index if key == "id" else f"{index:040x}"
    return {key: value, "title": f"record {index}" + (" (edited)" if edited else "")}


def _line(repo: str, endpoint: str, record: dict[str, Any]) -> bytes:
    return envelope_line(
        timestamp="2026-03-01T13:00:00Z",
        source="github_rest",
        endpoint=endpoint,
        repo=repo,
        page=None,
        request_id=None,
        data=record,
    )


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path)


def problems(report: VerifyReport) -> list[tuple[str, str]]:
    return [(p.path, p.what) for p in report.problems]


def shown(renderable: Any, *, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def verify_text(report: VerifyReport) -> str:
    console = Console(width=200, record=True, color_system=None)
    render_verify(console, report)
    return console.export_text()


def words(text: str) -> str:
    return " ".join(text.split())


# --- verify -----------------------------------------------------------------------------


def test_a_collected_dataset_with_its_manifest_holds(dataset: Dataset) -> None:
    dataset.write_manifest()
    report = verify(dataset.config)
    assert problems(report) == []
    assert report.refreshing is None
    assert report.to_dict()["refreshing"] is None


def test_verify_reads_the_refreshed_file_of_a_unit_whose_switch_is_pending(
    dataset: Dataset,
) -> None:
    dataset.begin_refresh()
    refreshed = dataset.refresh_unit("acme/api", "pulls", rename=False, tell=False)
    assert refreshed.exists()  # killed between the commit and the rename
    report = verify(dataset.config)
    assert problems(report) == []
    assert report.records == 4 * RECORDS + 1  # the refreshed file's lines, not the old file's
    assert report.files == 4


def test_verify_holds_against_the_manifest_with_a_switch_pending(dataset: Dataset) -> None:
    dataset.begin_refresh()
    dataset.refresh_unit("acme/web", "commits", rename=False, tell=False)
    dataset.write_manifest()  # listed under the unit's own file, of its refreshed data
    report = verify(dataset.config)
    assert report.manifest_checked
    assert problems(report) == []


def test_verify_holds_when_the_rename_happened_but_the_checkpoint_still_names_the_switch(
    dataset: Dataset,
) -> None:
    dataset.begin_refresh()
    refreshed = dataset.refresh_unit("acme/api", "commits", rename=True, tell=False)
    assert not refreshed.exists()
    with CheckpointManager.read_only(
        dataset.paths.checkpoint_path, journal_path=dataset.paths.journal_path
    ) as cm:
        assert cm.get_endpoint("acme/api", "commits").switch == refreshed.name
    report = verify(dataset.config)
    assert problems(report) == []
    assert report.records == 4 * RECORDS + 1


def test_verify_names_a_refreshed_file_no_commit_vouches_for(dataset: Dataset) -> None:
    dataset.write_manifest()
    stray = dataset.unit_file("acme/web", "pulls").with_name("acme__web.jsonl.refresh")
    stray.write_bytes(_line("acme/web", "pulls", _record("id", 0, edited=True)))
    report = verify(dataset.config)
    assert problems(report) == [
        (
            "pulls/acme__web.jsonl.refresh",
            "a refresh's unfinished file (no commit vouches for it) — `ghye resume` removes it",
        )
    ]


def test_verify_still_names_a_file_that_is_no_refresh_as_not_ghyes(dataset: Dataset) -> None:
    dataset.write_manifest()
    (dataset.paths.target_dir / "pulls" / "notes.txt").write_text("mine", encoding="utf-8")
    assert problems(verify(dataset.config)) == [
        ("pulls/notes.txt", "not a file of any planned unit (not ghye's)")
    ]


def test_a_pending_switch_whose_refreshed_file_was_damaged_is_named_by_that_file(
    dataset: Dataset,
) -> None:
    dataset.begin_refresh()
    refreshed = dataset.refresh_unit("acme/api", "pulls", rename=False, tell=False)
    raw = bytearray(refreshed.read_bytes())
    raw[0] = ord("X")
    refreshed.write_bytes(bytes(raw))
    assert problems(verify(dataset.config)) == [
        ("pulls/acme__api.jsonl.refresh", "line 1 is not valid JSON")
    ]


def test_a_missing_manifest_is_no_problem_while_a_refresh_is_under_way(dataset: Dataset) -> None:
    dataset.write_manifest()
    dataset.begin_refresh(generation=1)
    dataset.refresh_unit("acme/api", "pulls", rename=True, tell=True)
    dataset.unchanged_unit("acme/web", "pulls")
    assert not dataset.paths.manifest_path.exists()
    report = verify(dataset.config)
    assert problems(report) == []
    assert report.refreshing == 1
    assert report.to_dict()["refreshing"] == 1
    text = verify_text(report)
    assert text.startswith("holds — target acme: ")
    assert "a refresh (number 1) is under way — `ghye resume` finishes it" in text


def test_a_missing_manifest_is_a_problem_once_the_refresh_is_complete(dataset: Dataset) -> None:
    dataset.begin_refresh()
    for repo in REPOS:
        for endpoint in ENDPOINTS:
            dataset.refresh_unit(repo, endpoint, rename=True, tell=True)
    dataset.finish_refresh()
    report = verify(dataset.config)
    assert report.refreshing is None
    assert problems(report) == [
        ("manifest.json", "missing though every unit has ended — `ghye collect` writes it")
    ]
    assert "under way" not in verify_text(report)


def test_beside_a_running_refresh_the_file_it_is_writing_is_no_problem(dataset: Dataset) -> None:
    dataset.begin_refresh(generation=1)
    with dataset.open() as running:  # the refresh holds the lock
        being_written = dataset.refresh_unit(
            "acme/api", "pulls", rename=False, tell=False, commit=False, held=running
        )
        assert being_written.exists()
        report = verify(dataset.config)
        assert report.running
        assert report.refreshing == 1
        assert problems(report) == []
        assert "running now; it writes the manifest when it ends" in verify_text(report)


def test_beside_a_running_refresh_a_unit_switched_after_the_checkpoint_was_read_holds(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset.begin_refresh(generation=1)
    with dataset.open() as running:

        def refresh_meanwhile(path: Path) -> Any:
            # verify has read the checkpoint: the refresh switches a unit before its file is
            # read, and does not stop there.
            dataset.refresh_unit("acme/web", "commits", rename=True, tell=True, held=running)
            return holder_state(path)

        monkeypatch.setattr("gh_year_end.manage.verify.holder_state", refresh_meanwhile)
        report = verify(dataset.config)
    assert report.running
    assert problems(report) == []
    assert report.records == 4 * RECORDS + 1  # the unit as checked again


def test_verify_json_on_the_command_line_carries_the_refresh_under_way(dataset: Dataset) -> None:
    dataset.begin_refresh(generation=1)
    dataset.refresh_unit("acme/api", "pulls", rename=False, tell=False)
    ran = cli(["verify", "--json", "--config", str(dataset.config_path)], cwd=dataset.root)
    assert ran.code == 0, ran.stdout + ran.stderr
    data = orjson.loads(ran.stdout)
    assert data["holds"] is True
    assert data["refreshing"] == 1
    assert data["manifest_checked"] is False


# --- status -----------------------------------------------------------------------------


def status(dataset: Dataset) -> StatusReport:
    return build_status(dataset.config, clock=lambda: dataset.clock.now + timedelta(hours=2))


def test_status_of_a_dataset_never_refreshed_says_nothing_of_refreshes(dataset: Dataset) -> None:
    report = status(dataset)
    assert report.refresh is None
    pulls = report.endpoints[0]
    assert pulls.endpoint == "pulls"
    assert pulls.oldest == AsOf(T0 + timedelta(minutes=1), "collected")
    assert pulls.newest == AsOf(T0 + timedelta(minutes=2), "collected")
    text = shown(render_status(report))
    assert "last refresh" not in text
    assert "under way" not in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert rows["pulls"][-1] == "2h"
    assert "age: since each endpoint's oldest unit was collected (none was refreshed yet)" in (
        words(text)
    )


def test_status_shows_the_refresh_under_way_and_each_endpoints_oldest_data(
    dataset: Dataset,
) -> None:
    dataset.begin_refresh(generation=1)
    started = dataset.clock.now
    dataset.refresh_unit("acme/api", "pulls", rename=True, tell=True)  # T0 + 4m + 1h
    dataset.refresh_unit("acme/web", "pulls", rename=False, tell=False)  # + 2h
    dataset.unchanged_unit("acme/api", "commits")  # + 3h
    report = status(dataset)
    assert report.refresh == RefreshInfo(
        generation=1,
        under_way=True,
        started_at=started,
        finished_at=None,
        units_done=3,
        units=4,
    )
    by_name = {e.endpoint: e for e in report.endpoints}
    assert by_name["pulls"].oldest == AsOf(started + timedelta(hours=1), "refreshed")
    assert by_name["pulls"].newest == AsOf(started + timedelta(hours=2), "refreshed")
    # acme/web commits was collected at T0 + 4m and not refreshed yet: it is the oldest.
    assert by_name["commits"].oldest == AsOf(T0 + timedelta(minutes=4), "collected")
    assert by_name["commits"].newest == AsOf(started + timedelta(hours=3), "refreshed")
    text = shown(render_status(report))
    assert (
        "refresh 1 under way: 3 of 4 units done (started 2026-03-01 12:04:00 UTC) — stopped; "
        "`ghye resume` finishes it" in words(text)
    )
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    # Now is started + 5h: pulls are as old as their older refresh, commits as their collect.
    assert rows["pulls"][-1] == "4h"
    assert rows["commits"][-1] == "5h"
    assert (
        "age: since each endpoint's oldest unit was last refreshed; commits: since collected "
        "(not refreshed yet)" in words(text)
    )
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_status_names_the_last_refresh_once_it_finished(dataset: Dataset) -> None:
    dataset.begin_refresh(generation=1)
    for repo in REPOS:
        for endpoint in ENDPOINTS:
            dataset.unchanged_unit(repo, endpoint)
    finished = dataset.clock.advance(minutes=5)
    dataset.finish_refresh()
    report = status(dataset)
    assert report.refresh is not None
    assert (report.refresh.under_way, report.refresh.finished_at) == (False, finished)
    assert (report.refresh.units_done, report.refresh.units) == (4, 4)
    assert all(e.oldest is not None and e.oldest.how == "refreshed" for e in report.endpoints)
    text = words(shown(render_status(report)))
    assert "last refresh 1, finished 2026-03-01 16:09:00 UTC" in text
    assert "phases done discovery, pulls, commits, refresh " in text
    assert "under way" not in text
    assert text.endswith("age: since each endpoint's oldest unit was last refreshed")
    assert "not refreshed yet" not in text


def test_a_second_refresh_under_way_counts_only_the_units_it_brought_up_to_date(
    dataset: Dataset,
) -> None:
    dataset.begin_refresh(generation=1)
    for repo in REPOS:
        for endpoint in ENDPOINTS:
            dataset.unchanged_unit(repo, endpoint, generation=1)
    dataset.finish_refresh()
    dataset.begin_refresh(generation=2)
    dataset.unchanged_unit("acme/web", "commits", generation=2)
    report = status(dataset)
    assert report.refresh is not None
    assert (report.refresh.generation, report.refresh.under_way) == (2, True)
    assert (report.refresh.units_done, report.refresh.units) == (1, 4)


def test_status_json_carries_the_refresh_and_each_endpoints_currency(dataset: Dataset) -> None:
    dataset.begin_refresh(generation=1)
    dataset.refresh_unit("acme/api", "pulls", rename=True, tell=True)
    ran = cli(["status", "--json", "--config", str(dataset.config_path)], cwd=dataset.root)
    assert ran.code == 0, ran.stderr
    data = orjson.loads(ran.stdout)
    assert data["refresh"] == {
        "generation": 1,
        "under_way": True,
        "started_at": "2026-03-01T12:04:00Z",
        "finished_at": None,
        "units_done": 1,
        "units": 4,
    }
    assert data["endpoints"]["pulls"]["current_as_of"] == {
        "oldest": {"at": "2026-03-01T12:02:00Z", "how": "collected"},
        "newest": {"at": "2026-03-01T13:04:00Z", "how": "refreshed"},
    }
    assert data["endpoints"]["commits"]["current_as_of"] == {
        "oldest": {"at": "2026-03-01T12:03:00Z", "how": "collected"},
        "newest": {"at": "2026-03-01T12:04:00Z", "how": "collected"},
    }
    assert data["endpoints"]["pulls"]["complete"] == 2  # the counts stay beside it


def test_status_json_of_a_dataset_never_refreshed_has_a_null_refresh(dataset: Dataset) -> None:
    data = status(dataset).to_dict()
    assert data["refresh"] is None
    assert data["endpoints"]["pulls"]["current_as_of"]["oldest"]["how"] == "collected"
