"""The data layout: a repository name from GitHub becomes a file name only when it is safe."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gh_year_end.config import Config
from gh_year_end.errors import UnsafeName
from gh_year_end.storage.paths import PathManager, is_safe_repo_name


def test_repository_names_that_could_leave_their_folder_are_refused() -> None:
    for name in ("acme/web", "acme/.github", "my_org/r-1.2", "acme/a.b_c-d"):
        assert is_safe_repo_name(name), name
    unsafe: tuple[object, ...] = (
        "acme/../../escape", "../x", "acme/..", "acme/.", "acme/a b", "acme/", "/x",
        "acme/x/y", "acme", "", "acme/x\x00", None, 7,
    )  # fmt: skip
    for value in unsafe:
        assert not is_safe_repo_name(value), value


def test_a_data_path_is_never_outside_its_endpoint_folder(
    make_config: Callable[..., Config],
) -> None:
    paths = PathManager(make_config())
    assert paths.raw_path("pulls", "acme/web").parent == paths.target_dir / "pulls"
    with pytest.raises(UnsafeName):
        paths.raw_path("pulls", "acme/../../escape")
