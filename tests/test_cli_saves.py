"""The CLI side of saves: annotate refuses to replace a newer save (unless --overwrite),
`specimask check`, the one-line note after a kill, and import finishing a half import."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.cli import main
from napari_specimask.core.io.images import write_image, write_mask_png
from napari_specimask.core.store.project import Project


@pytest.fixture
def queued(tmp_path):
    img = np.full((30, 40, 3), 220, np.uint8)
    img[5:25, 10:30] = 40
    for k in range(3):
        write_image(tmp_path / "imgs" / f"s{k}.png", np.roll(img, 3 * k, axis=1))
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "imgs"), "--no-propose"]) == 0
    assert main(["propose", str(p), "--method", "otsu"]) == 0
    assert main(["select", str(p), "--strategy", "random", "--batch-size", "3"]) == 0
    masks = tmp_path / "masks"
    for k in range(3):
        m = np.zeros((30, 40), bool)
        m[2:20, 2 + k:30] = True
        write_mask_png(masks / f"s{k}.png", m)
    return p, masks


def test_annotate_refuses_to_replace_a_save_made_since_it_started(queued, capsys,
                                                                   monkeypatch):
    p, masks = queued
    from napari_specimask.core.active import annotations

    real = annotations.submit_mask

    def ana_saves_first(project, image_id, mask, **kw):
        if image_id == 2 and all(a["origin"] == "coldstart" for a in project.annotations(2)):
            real(project, 2, ~mask, author="ana")  # another annotator, a moment before
        return real(project, image_id, mask, **kw)

    monkeypatch.setattr(annotations, "submit_mask", ana_saves_first)
    assert main(["annotate", str(p), "--masks", str(masks), "--author", "ben"]) == 1
    out, err = capsys.readouterr()
    assert "saved 2 of 3 queued image(s)" in out and "(recorded as ben)" in out
    assert "ana saved a mask for this image" in err and "use --overwrite" in err
    with Project.open(p) as project:
        assert project.annotations(2)[-1]["author"] == "ana"
        assert [a["author"] for a in project.annotations(1)][-1] == "ben"


def test_annotate_overwrite_replaces_and_keeps_both(queued, capsys, monkeypatch):
    p, masks = queued
    monkeypatch.setenv("SPECIMASK_AUTHOR", "ben")
    with Project.open(p) as project:
        project.save_mask(2, np.ones((30, 40), bool), "hand", author="ana")
        project.set_status([2], "queued")  # still in ben's batch
    assert main(["annotate", str(p), "--masks", str(masks), "--overwrite"]) == 0
    with Project.open(p) as project:
        assert [a["author"] for a in project.annotations(2)[1:]] == ["ana", "ben"]


def test_check_reports_and_exits_1_on_a_problem(queued, capsys):
    p, masks = queued
    assert main(["annotate", str(p), "--masks", str(masks)]) == 0
    assert main(["check", str(p)]) == 0
    assert "database intact; 6 saved mask(s), each with its file" in capsys.readouterr().out
    with Project.open(p) as project:
        (project.root / project.annotations(1)[-1]["mask_path"]).unlink()
    assert main(["check", str(p)]) == 1
    assert "file missing" in capsys.readouterr().out


def test_the_note_about_what_a_kill_left_is_one_line(queued, capsys):
    p, masks = queued
    (p / "annotations" / "4.png").write_bytes(b"half")  # rows 1-3: cold start; 4: none
    assert main(["status", str(p)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("specimask: ") and "removed annotations/4.png" \
        in err[0]


def test_import_gives_a_mask_to_an_image_an_old_import_left_without(tmp_path, capsys):
    """What 16 of 19 kills of the old `import --masks` left: the image, no mask."""
    img = np.full((30, 40, 3), 220, np.uint8)
    write_image(tmp_path / "imgs" / "a.png", img.copy())
    img[5:9, 5:9] = 30
    write_image(tmp_path / "imgs" / "b.png", img)
    m = np.zeros((30, 40), bool)
    m[3:9] = True
    for name in ("a", "b"):
        write_mask_png(tmp_path / "masks" / f"{name}.png", m)
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "imgs")]) == 0  # no masks
    assert main(["import", str(p), str(tmp_path / "imgs"), "--masks",
                 str(tmp_path / "masks")]) == 0
    out = capsys.readouterr().out
    assert "added 0 image(s), 0 with masks; 2 mask(s) given to images an interrupted " \
        "import had added without them; skipped 0" in out
    with Project.open(p) as project:
        assert all(np.array_equal(project.load_mask(r.id), m) for r in project.images())
        assert [r.status for r in project.images()] == ["labeled", "labeled"]


def test_import_masks_overwrite_keeps_the_old_record_with_its_own_file(queued, tmp_path):
    """Old code renamed the new mask over the old one: the old record then described it."""
    p, masks = queued
    assert main(["annotate", str(p), "--masks", str(masks)]) == 0
    with Project.open(p) as project:
        before = project.load_mask(1)
    other = tmp_path / "other"
    write_mask_png(other / "s0.png", ~before)
    assert main(["import-masks", str(p), str(other), "--overwrite"]) == 0
    with Project.open(p) as project:
        rows = [a for a in project.annotations(1) if a["origin"] != "coldstart"]
        from napari_specimask.core.io.images import read_mask
        assert [a["origin"] for a in rows] == ["corrected", "imported"]
        assert np.array_equal(read_mask(p / rows[0]["mask_path"]), before)
        assert np.array_equal(project.load_mask(1), ~before)
