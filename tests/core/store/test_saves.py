"""Saves as write-once files switched by their row; conflicts, leases, authors; what opening
a project tidies after a kill; the integrity check; a project on a network file system."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from napari_specimask.core.io.atomic import TMP_MARK
from napari_specimask.core.store import leases
from napari_specimask.core.store.filesystem import network_filesystem
from napari_specimask.core.store.integrity import check_project
from napari_specimask.core.store.masks import ANY, SaveConflict, default_author
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import new_version


@pytest.fixture
def one(project):
    image_id = project.add_image("a.png", "sha-a", 30, 40, 100, "pool")
    return project, image_id


def _mask(k: int) -> np.ndarray:
    m = np.zeros((30, 40), bool)
    m[k:k + 10, k:k + 10] = True
    return m


def test_each_save_is_a_new_file_and_the_old_one_keeps_its_record(one):
    project, i = one
    first = project.save_mask(i, _mask(1), "hand")
    second = project.save_mask(i, _mask(5), "corrected")
    rows = project.annotations(i)
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["mask_path"] != rows[1]["mask_path"]
    assert np.array_equal(project.load_mask(i), _mask(5))  # the latest row is current
    old = project.root / rows[0]["mask_path"]
    from napari_specimask.core.io.images import read_mask
    assert np.array_equal(read_mask(old), _mask(1))  # the first save is still there
    assert check_project(project) == []


def test_a_save_over_someone_elses_newer_save_is_refused(one):
    project, i = one
    seen = None  # the image had no mask when both people opened it
    project.save_mask(i, _mask(1), "hand", author="ana", expect=seen)
    with pytest.raises(SaveConflict, match="ana saved a mask for this image"):
        project.save_mask(i, _mask(5), "hand", author="ben", expect=seen)
    assert np.array_equal(project.load_mask(i), _mask(1))
    assert [r["author"] for r in project.annotations(i)] == ["ana"]
    project.save_mask(i, _mask(5), "hand", author="ben", expect=ANY)  # on purpose
    assert np.array_equal(project.load_mask(i), _mask(5))
    assert not list((project.root / ".staging").iterdir())  # the refused save left nothing


def test_author_defaults_to_the_user_and_can_be_set(one, monkeypatch):
    project, i = one
    monkeypatch.delenv("SPECIMASK_AUTHOR", raising=False)
    project.save_mask(i, _mask(1), "hand")
    monkeypatch.setenv("SPECIMASK_AUTHOR", "Dr. Viola")
    project.save_mask(i, _mask(2), "hand")
    project.save_mask(i, _mask(3), "hand", author="ben")
    authors = [r["author"] for r in project.annotations(i)]
    assert authors[1:] == ["Dr. Viola", "ben"] and authors[0] and authors[0] != "Dr. Viola"
    assert default_author() == "Dr. Viola"


def test_leases_steer_annotators_apart_and_expire(one, project):
    _, i = one
    j = project.add_image("b.png", "sha-b", 30, 40, 100, "pool")
    ana, ben = leases.new_holder("ana"), leases.new_holder("ben")
    assert leases.take_lease(project, i, ana, "ana") is None
    held = leases.take_lease(project, i, ben, "ben")
    assert held is not None and held.author == "ana" and "ana is annotating it" in held.describe()
    assert leases.take_lease(project, i, ana, "ana") is None  # renewing your own
    assert set(leases.leased_by_others(project, ben)) == {i}
    assert leases.leased_by_others(project, ana) == {}
    assert leases.take_lease(project, j, ben, "ben", seconds=-1) is None  # already expired
    assert leases.take_lease(project, j, ana, "ana") is None
    assert set(leases.leased_by_others(project, ben)) == {j}  # ana left i by taking j
    leases.release_all(project, ana)
    assert leases.leased_by_others(project, ben) == {}
    assert leases.take_lease(project, i, ben, "ben") is None


def test_a_lease_of_a_dead_process_is_over_at_once(one):
    project, i = one
    code = ("import sys; from napari_specimask.core.store.project import Project;"
            "from napari_specimask.core.store.leases import take_lease, new_holder;"
            "p = Project.open(sys.argv[1]); take_lease(p, 1, new_holder('gone'), 'gone')")
    subprocess.run([sys.executable, "-c", code, str(project.root)], check=True)
    assert leases.take_lease(project, i, leases.new_holder("ana"), "ana") is None


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_opening_tidies_a_killed_training_and_an_unrecorded_mask(one, caplog):
    project, i = one
    project.save_mask(i, _mask(1), "hand")
    version = new_version(project, None, None, [i], {"arch": "unet", "encoder": "resnet18",
                                                      "img_size": 64})
    project.store.transaction  # noqa: B018
    with project.store.transaction() as conn:
        conn.execute("UPDATE models SET pid = ? WHERE version = ?", (_dead_pid(), version))
    temp = project.root / "models" / version / f"{TMP_MARK}weights.safetensors"
    temp.write_bytes(b"\0" * 3_000_000)
    orphan = project.root / "annotations" / "2.png"  # what a save killed before COMMIT leaves
    orphan.write_bytes((project.root / project.annotations(i)[0]["mask_path"]).read_bytes())
    assert any("no record points at" in p for p in check_project(project))
    project.close()
    with caplog.at_level("WARNING", logger="napari_specimask"):
        reopened = Project.open(project.root)
    note = reopened.recovered
    assert "removed annotations/2.png" in note and f"marked {version} failed" in note
    assert "freed 3 MB" in note and note in caplog.text
    assert not temp.exists() and not orphan.exists()
    row = reopened.store.read_one("SELECT status, metrics FROM models")
    assert row[0] == "failed" and "ended without finishing" in json.loads(row[1])["error"]
    assert check_project(reopened) == []
    assert Project.open(project.root).recovered is None  # nothing left to say
    reopened.close()


def test_a_training_of_a_live_process_or_another_host_is_left_alone(one):
    project, i = one
    cfg = {"arch": "unet", "encoder": "resnet18", "img_size": 64}
    mine = new_version(project, None, None, [i], cfg)  # this process: alive
    other = new_version(project, None, None, [i], cfg)
    with project.store.transaction() as conn:
        conn.execute("UPDATE models SET host = 'elsewhere', pid = ? WHERE version = ?",
                     (_dead_pid(), other))
    assert Project.open(project.root).recovered is None
    statuses = [r[0] for r in project.store.read("SELECT status FROM models ORDER BY version")]
    assert statuses == ["training", "training"] and mine


def test_check_names_a_missing_file_and_a_labelled_image_without_mask(one):
    project, i = one
    project.save_mask(i, _mask(1), "hand")
    (project.root / project.annotations(i)[0]["mask_path"]).unlink()
    j = project.add_image("b.png", "sha-b", 30, 40, 100, "pool")
    project.set_status([j], "labeled")
    problems = check_project(project)
    assert any("file missing" in p for p in problems)
    assert any(p.startswith("b.png: labeled, but no verified mask") for p in problems)


def test_old_projects_masks_are_read_through_their_rows(one):
    """A schema-4 project's rows point at masks/<image id>.png; nothing moves."""
    project, i = one
    from napari_specimask.core.io.images import write_mask_png
    (project.root / "masks").mkdir()
    write_mask_png(project.root / "masks" / f"{i}.png", _mask(3))
    with project.store.transaction() as conn:
        conn.execute("INSERT INTO annotations (image_id, origin, mask_path, created_at)"
                     " VALUES (?, 'hand', ?, '2025-01-01')", (i, f"masks/{i}.png"))
        conn.execute("UPDATE images SET status = 'labeled'")
    assert np.array_equal(project.load_mask(i), _mask(3))
    assert check_project(project) == []
    project.save_mask(i, _mask(5), "corrected")
    assert np.array_equal(project.load_mask(i), _mask(5))
    assert (project.root / "masks" / f"{i}.png").exists()
    # what the old scheme's kill between rename and COMMIT left: a mask with no record
    write_mask_png(project.root / "masks" / "7.png", _mask(2))
    assert check_project(project) == ["masks/7.png: a mask file no record points at"]


MOUNTS = """\
/dev/sda1 / ext4 rw 0 0
server:/export /mnt/herbarium nfs4 rw 0 0
//nas/share /mnt/nas cifs rw 0 0
me@host: /home/me/remote fuse.sshfs rw 0 0
/dev/sdb1 /mnt/herbarium/local ext4 rw 0 0
"""


@pytest.mark.parametrize(("path", "kind"), [
    ("/mnt/herbarium/proj", "nfs4"), ("/mnt/nas/p", "cifs"), ("/home/me/remote/p", "fuse.sshfs"),
    ("/mnt/herbarium/local/p", None), ("/home/me/p", None), ("/mnt/herbariumX", None)])
def test_network_file_systems_are_recognised(path, kind):
    assert network_filesystem(path, MOUNTS) == kind


def test_opening_a_project_on_a_network_file_system_warns(project, monkeypatch, caplog):
    from napari_specimask.core.store import project as project_module
    monkeypatch.setattr(project_module, "network_filesystem", lambda root: "nfs4")
    with caplog.at_level("WARNING", logger="napari_specimask"):
        Project.open(project.root).close()
    assert "network file system (nfs4)" in caplog.text


def test_leases_expire_by_time(one):
    project, i = one
    ana = leases.new_holder("ana")
    leases.take_lease(project, i, ana, "ana", seconds=0.2)
    time.sleep(0.3)
    assert leases.take_lease(project, i, leases.new_holder("ben"), "ben") is None
