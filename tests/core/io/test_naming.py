"""Output names: one per input, never shared, the same on every run."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.core.io.naming import output_names, rename_note, tagged_names


def names(rels, **kw):
    return output_names([Path("/in", r) for r in rels], "/in", **kw)


def test_unique_stems_stay_plain_and_flat():
    assert names(["a/leaf.png", "b/root.jpg", "x.tif"]) == (["leaf", "root", "x"], [])


def test_shared_stem_keeps_its_subfolder():
    got, renamed = names(["a/leaf.png", "b/leaf.png", "leaf.jpg", "c/other.png"])
    assert got == ["a/leaf", "b/leaf", "leaf", "other"]
    assert renamed == [("a/leaf.png", "a/leaf"), ("b/leaf.png", "b/leaf")]


def test_same_folder_different_suffix_gets_the_suffix():
    got, renamed = names(["x.png", "x.tif", "sub/x.JPG", "sub/x.png"])
    assert got == ["x__png", "x__tif", "sub/x__jpg", "sub/x__png"]
    assert len(renamed) == 4


def test_case_only_differences_clash_as_on_macos_and_windows():
    got, _ = names(["Leaf.png", "leaf.png"])
    assert len({g.casefold() for g in got}) == 2
    got, _ = names(["x.png", "x.PNG", "x__png.png"])
    assert len({g.casefold() for g in got}) == 3 and got[2] == "x__png"


def test_reserved_folders_are_not_used():
    # predict writes OUT/probability/<name>.png: a mask there would take a map's place
    got, _ = names(["leaf.png", "probability/leaf.png"], reserved=("probability",))
    assert not any(g.startswith("probability/") for g in got) and len(set(got)) == 2


def test_keep_folders_mirrors_the_tree():
    got, renamed = names(["a/x.png", "a/x.tif", "b/x.png"], keep_folders=True)
    assert got == ["a/x__png", "a/x__tif", "b/x"]
    assert renamed == [("a/x.png", "a/x__png"), ("a/x.tif", "a/x__tif")]


def test_default_base_is_the_common_folder_and_relative_paths_work(tmp_path):
    paths = [tmp_path / "scans" / "a" / "leaf.png", tmp_path / "scans" / "b" / "leaf.png"]
    assert output_names(paths)[0] == ["a/leaf", "b/leaf"]
    weird = [Path("proj/../scans/a/leaf.png"), Path("proj/images/leaf.png")]
    assert all(".." not in n for n in output_names(weird)[0])


def test_names_are_deterministic():
    rels = ["b/leaf.png", "a/leaf.png", "x.png", "x.tif"]
    assert names(rels) == names(rels)


def test_tagged_names_and_note():
    assert tagged_names({1: "leaf", 2: "Leaf", 3: "root"}) == {1: "leaf__1", 2: "Leaf__2",
                                                               3: "root"}
    assert tagged_names({1: "leaf", 2: "leaf", 3: "leaf__2"}) == {1: "leaf__1", 2: "leaf__2__2",
                                                                 3: "leaf__2"}
    assert rename_note([]) == ""
    note = rename_note([(f"{i}/a.png", f"{i}/a") for i in range(5)], ".png")
    assert "\n" not in note and "renamed 5 output(s)" in note and "0/a.png -> 0/a.png" in note
    assert "(5 in all)" in note
