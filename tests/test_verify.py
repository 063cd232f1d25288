"""`ghye verify`: a collected dataset proven without the network — it holds (exit 0), or each
problem is named (exit 3): a changed byte, a torn line, a record twice, a page written past the
commit, a file outside the plan, a manifest that no longer matches. And `ghye collect` on a
complete dataset notices, by size alone, a file changed since the manifest.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from clirun import assert_refused, cli
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import TEST_TOKEN, target_dir, write_config

SETTINGS = FakeSettings(
    repos=3, pulls=8, issues=8, issue_comments=12, review_comments=8, commits=20,
    reviews_per_pull=0.5, forks=(), archived=(), token=TEST_TOKEN,
)  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def complete(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("complete")
    assert (
        cli(["collect", "--config", str(write_config(folder, fake.base_url))], cwd=folder).code == 0
    )
    return folder


@pytest.fixture
def copy(tmp_path: Path, fake: FakeGitHub, complete: Path) -> tuple[Path, Path]:
    """A copy of the complete dataset: (its config, its target folder)."""
    shutil.copytree(complete / "data", tmp_path / "data")
    return write_config(tmp_path, fake.base_url), target_dir(tmp_path / "data")


def verify(config: Path, cwd: Path) -> tuple[int, dict[str, Any]]:
    ran = cli(["verify", "--json", "--config", str(config)], cwd=cwd)
    assert ran.stderr == "", ran.stderr
    return ran.code, orjson.loads(ran.stdout)


def problems(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["path"], p["problem"]) for p in report["problems"]]


def test_a_complete_dataset_holds(copy: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = copy
    code, report = verify(config, tmp_path)
    assert code == 0
    assert report["holds"] is True
    assert report["problems"] == []
    assert report["files"] > 0
    assert report["records"] > 0
    assert report["manifest_checked"] is True
    assert report["units"] == report["units_ended"]
    table = cli(["verify", "--config", str(config)], cwd=tmp_path)
    assert table.code == 0
    assert table.stdout.startswith("holds — target acme: ")


def test_a_byte_changed_in_place_is_named_by_line_and_by_the_manifest(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, folder = copy
    victim = folder / "issues" / "acme__repo-001.jsonl"
    raw = bytearray(victim.read_bytes())
    second = raw.index(b"\n") + 1
    raw[second] = ord("X")  # the second line no longer parses; the size is unchanged
    victim.write_bytes(bytes(raw))
    code, report = verify(config, tmp_path)
    assert code == 3
    assert problems(report) == [
        ("issues/acme__repo-001.jsonl", "line 2 is not valid JSON"),
        (
            "issues/acme__repo-001.jsonl",
            "its content differs from the manifest's sha256 and records",
        ),
    ]


def test_a_line_that_is_json_but_not_ghyes_record_of_this_unit_is_named(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, folder = copy
    victim = folder / "issues" / "acme__repo-001.jsonl"
    lines = victim.read_bytes().splitlines(keepends=True)
    moved = orjson.loads(lines[1])
    moved["repo"] = "acme/repo-002"  # a record of another unit, the same length
    bare = orjson.loads(lines[2])["data"]  # GitHub's record without ghye's envelope
    victim.write_bytes(
        b"".join([lines[0], orjson.dumps(moved) + b"\n", orjson.dumps(bare) + b"\n", *lines[3:]])
    )
    code, report = verify(config, tmp_path)
    assert code == 3
    found = problems(report)
    assert any(p.startswith("line 2 belongs to acme/repo-002 issues") for _, p in found)
    assert any(p.startswith("line 3 is not a record in ghye's envelope") for _, p in found)


def test_a_record_twice_in_a_unit_is_named(copy: tuple[Path, Path], tmp_path: Path) -> None:
    config, folder = copy
    victim = folder / "commits" / "acme__repo-000.jsonl"
    lines = victim.read_bytes().splitlines(keepends=True)
    sha = orjson.loads(lines[0])["data"]["sha"]
    victim.write_bytes(b"".join([lines[0], lines[0], *lines[2:]]))  # line 2 copies line 1
    code, report = verify(config, tmp_path)
    assert code == 3
    assert any(
        p
        == (
            "commits/acme__repo-000.jsonl",
            f"line 2 repeats record sha {sha} (a record twice in one unit)",
        )
        for p in problems(report)
    ), problems(report)


def test_bytes_past_the_commit_of_a_complete_unit_are_named_with_the_reset_that_mends_them(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, folder = copy
    victim = folder / "pulls" / "acme__repo-002.jsonl"
    with victim.open("ab") as handle:
        handle.write(b'{"half a page')
    code, report = verify(config, tmp_path)
    assert code == 3
    # The unit is complete: no run opens it again, so the bytes were put there from outside.
    assert (
        "pulls/acme__repo-002.jsonl",
        "13 bytes past the last commit (changed outside ghye — `ghye reset --repo acme/repo-002 "
        "--endpoint pulls` collects that unit again)",
    ) in problems(report)


def test_a_file_cut_inside_a_line_is_named_as_shorter_and_torn(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, folder = copy
    victim = folder / "issue_comments" / "acme__repo-000.jsonl"
    raw = victim.read_bytes()
    victim.write_bytes(raw[: raw.index(b"\n") + 10])
    code, report = verify(config, tmp_path)
    assert code == 3
    found = [
        what for path, what in problems(report) if path == "issue_comments/acme__repo-000.jsonl"
    ]
    assert found[0].endswith(f"bytes, shorter than the {len(raw):,} the checkpoint committed")
    assert "line 2 is torn: the commit ends inside it" in found


def test_a_file_outside_the_plan_and_a_lost_manifest_entry_are_named(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, folder = copy
    (folder / "commits" / "acme__stranger.jsonl").write_bytes(b"")
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    dropped = manifest["files"].pop(0)
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    code, report = verify(config, tmp_path)
    assert code == 3
    assert ("commits/acme__stranger.jsonl", "not a file of any planned unit (not ghye's)") in (
        problems(report)
    )
    assert (dropped["path"], "holds committed records but is not in the manifest") in problems(
        report
    )


def test_verify_without_a_checkpoint_is_a_one_line_refusal(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = write_config(tmp_path, fake.base_url)
    assert_refused(
        cli(["verify", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: no checkpoint for target acme at {target_dir(tmp_path / 'data')} — nothing to "
        "verify (`ghye collect` makes one)",
    )


def test_verify_changes_nothing(copy: tuple[Path, Path], tmp_path: Path) -> None:
    config, folder = copy
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    verify(config, tmp_path)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


# --- collect notices a file changed since the manifest ----------------------------------------


def test_collect_on_a_complete_dataset_notices_a_file_grown_since_the_manifest(
    copy: tuple[Path, Path], tmp_path: Path, fake: FakeGitHub
) -> None:
    config, folder = copy
    victim = folder / "reviews" / "acme__repo-001.jsonl"
    size = victim.stat().st_size
    with victim.open("ab") as handle:
        handle.write(b"\n")
    requests = fake.stats()["requests"]
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        3,
        "error: 1 data file(s) changed since the manifest was written "
        f"(reviews/acme__repo-001.jsonl: {size + 1:,} bytes, the manifest says {size:,}) — run "
        "`ghye verify` to see every "
        "problem; `ghye reset --repo OWNER/NAME --endpoint ENDPOINT` collects a unit again",
    )
    assert fake.stats()["requests"] == requests
