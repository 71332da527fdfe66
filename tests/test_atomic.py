from __future__ import annotations

from pathlib import Path

import pytest

from punkml.atomic import atomic_path, atomic_write, temporary_sibling


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "new" / "state.json"  # the parent is created
    atomic_write(target, "old")
    atomic_write(target, b"new", durable=True)
    assert target.read_bytes() == b"new"
    assert [path.name for path in target.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half of the new")
        raise RuntimeError("the writer died")
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["table.parquet"]


def test_the_temporary_name_is_hidden_and_never_matches_the_target_suffix(tmp_path: Path) -> None:
    target = tmp_path / "part-0.parquet"
    first, second = temporary_sibling(target), temporary_sibling(target)
    assert first != second and first.parent == tmp_path
    assert first.name.startswith(".") and first.suffix == ".tmp"
    assert not first.match("*.parquet")
