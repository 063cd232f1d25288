"""One exit-code table (errors.EXIT_TABLE): ``ghye --help`` renders it, README.md and docs/cli.md
repeat it word for word, and it names every code ghye can exit with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gh_year_end import errors
from gh_year_end.cli import Runtime, app
from gh_year_end.cli.app import exit_codes_help
from gh_year_end.errors import EXIT_TABLE, GhyeError

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = (("README.md", "### Exit codes"), ("docs/cli.md", "## Errors and exit codes"))


def table_codes(cell: str) -> set[int]:
    """``"129 / 130 / 143"`` → {129, 130, 143}."""
    assert re.fullmatch(r"\d+( / \d+)*", cell), cell
    return {int(code) for code in cell.split(" / ")}


def markdown_table_under(text: str, heading: str) -> list[tuple[str, str]]:
    """The (code, meaning) rows of the first markdown table after ``heading``."""
    lines = text.splitlines()
    assert heading in lines, f"no heading {heading!r}"
    rows: list[str] = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows or line.startswith("#"):
            break
    assert len(rows) >= 2, f"no table under {heading!r}"
    assert [c.strip() for c in rows[0].strip("|").split("|")] == ["code", "meaning"], rows[0]
    assert set(rows[1]) <= set("|-: "), rows[1]
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows[2:]]
    assert all(len(c) == 2 for c in cells), cells
    return [(code, meaning) for code, meaning in cells]


def expected_markdown() -> str:
    """The rows to paste when the table changes."""
    return "\n".join(f"| {code} | {meaning} |" for code, meaning in EXIT_TABLE)


def test_the_table_names_every_exit_constant_once() -> None:
    constants = {
        value
        for name, value in vars(errors).items()
        if name.startswith("EXIT_") and name != "EXIT_TABLE"
    }
    listed = [code for cell, _ in EXIT_TABLE for code in table_codes(cell)]
    assert sorted(listed) == sorted(constants)


def test_every_error_exits_with_a_code_in_the_table() -> None:
    listed = {code for cell, _ in EXIT_TABLE for code in table_codes(cell)}
    pending: list[type[GhyeError]] = [GhyeError]
    while pending:
        cls = pending.pop()
        assert cls.exit_code in listed, cls.__name__
        pending.extend(cls.__subclasses__())


def test_table_meanings_fit_a_markdown_cell() -> None:
    for code, meaning in EXIT_TABLE:
        assert "|" not in meaning, code
        assert "\n" not in meaning, code
        assert meaning == " ".join(meaning.split()), code


@pytest.mark.parametrize(("document", "heading"), DOCUMENTS)
def test_documented_exit_codes_are_the_table_word_for_word(document: str, heading: str) -> None:
    rows = markdown_table_under((ROOT / document).read_text(encoding="utf-8"), heading)
    assert rows == list(EXIT_TABLE), (
        f"{document}: the table under {heading!r} differs from gh_year_end.errors.EXIT_TABLE; "
        f"its rows should be:\n{expected_markdown()}"
    )


def test_help_shows_every_code_with_its_meaning(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["--help"], obj=Runtime(environ={}, cwd=tmp_path), prog_name="ghye"
    )
    assert res.exit_code == 0
    section = res.stdout.split("Exit codes:\n", 1)[1]
    starts = [m.start() for code, _ in EXIT_TABLE for m in [_code_line(section, code)]]
    assert starts == sorted(starts), "codes out of order"
    ends = [*starts[1:], len(section)]
    for (code, meaning), start, end in zip(EXIT_TABLE, starts, ends, strict=True):
        shown = " ".join(section[start:end].split())
        assert shown == f"{code} {meaning}", shown


def _code_line(section: str, code: str) -> re.Match[str]:
    match = re.search(rf"^ +{re.escape(code)}( |$)", section, re.MULTILINE)
    assert match is not None, f"code {code} is not at the start of a line in --help"
    return match


def test_help_table_fits_80_columns() -> None:
    assert max(len(line) for line in exit_codes_help().splitlines()) + 2 <= 80
