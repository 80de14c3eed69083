"""A cohort's inputs: folders walked recursively, glob patterns, list files; all streamed, in a reproducible order."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from core.batch.inputs import iter_inputs


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "cohort"
    for rel in ("b.png", "a.jpg", "site2/c.tif", "site1/d.png", "site1/deeper/e.png", ".hidden/x.png",
                "site1/.y.png", "notes.txt", "results/a_mask.png"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def names(paths) -> list[str]:  # noqa: ANN001
    return [p.as_posix() for p in paths]


def test_a_folder_gives_its_images_recursively_in_name_order_without_hidden_ones(tree: Path) -> None:
    found = iter_inputs([tree])
    assert isinstance(found, types.GeneratorType), "inputs are streamed, never collected"
    assert [p.relative_to(tree).as_posix() for p in found] == [
        "a.jpg", "b.png", "results/a_mask.png", "site1/d.png", "site1/deeper/e.png", "site2/c.tif"]


def test_the_output_folder_inside_an_input_folder_is_not_walked(tree: Path) -> None:
    found = [p.relative_to(tree).as_posix() for p in iter_inputs([tree], exclude=tree / "results")]
    assert "results/a_mask.png" not in found and len(found) == 5


def test_glob_patterns_match_recursively_and_a_pattern_matching_nothing_is_passed_on(tree: Path) -> None:
    assert [p.relative_to(tree).as_posix() for p in sorted(iter_inputs([f"{tree}/site1/**/*.png"]))] == [
        "site1/d.png", "site1/deeper/e.png"]
    assert list(iter_inputs([f"{tree}/*.bmp"])) == [Path(f"{tree}/*.bmp")]  # refused later, by name


def test_a_text_list_names_files_and_folders_relative_to_itself(tree: Path) -> None:
    listing = tree / "list.txt"
    listing.write_text("# the first visit\nb.png\n\n  site2  \n/elsewhere/missing.png\n", encoding="utf-8")
    assert names(iter_inputs([listing])) == [str(tree / "b.png"), str(tree / "site2" / "c.tif"),
                                             "/elsewhere/missing.png"]


def test_a_csv_list_uses_its_path_column_or_else_the_first_column(tree: Path) -> None:
    with_header = tree / "with_header.csv"
    with_header.write_text("eid,Path,eye\n1001,b.png,left\n1002,\"site1/d.png\",right\n", encoding="utf-8")
    assert names(iter_inputs([with_header])) == [str(tree / "b.png"), str(tree / "site1" / "d.png")]
    bare = tree / "bare.csv"
    bare.write_text("a.jpg,left\nsite2/c.tif,right\n", encoding="utf-8")
    assert names(iter_inputs([bare])) == [str(tree / "a.jpg"), str(tree / "site2" / "c.tif")]


def test_a_missing_path_is_passed_on_for_the_planner_to_refuse(tmp_path: Path) -> None:
    assert list(iter_inputs([tmp_path / "nope.png"])) == [tmp_path / "nope.png"]
