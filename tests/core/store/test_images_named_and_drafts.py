"""A save names the project and image its mask was painted on, and the transaction refuses
any other (old code: a window that had switched projects filed one project's mask as
another's verified mask); drafts of unsaved edits, dropped by the save that supersedes
them."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.active.annotations import submit_mask
from napari_specimask.core.store.drafts import drafts_left, drop_draft, find_draft, stage_draft
from napari_specimask.core.store.masks import WrongImage
from napari_specimask.core.store.project import Project


def _two(tmp_path):
    """Two projects whose first image has id 1 and the same size: only the ref tells."""
    out = []
    for name, sha in (("one", "sha-a"), ("two", "sha-b")):
        p = Project.create(tmp_path / name)
        p.add_image("a.png", sha, 30, 40, 100, "pool")
        out.append(p)
    return out


def _mask(k: int = 3) -> np.ndarray:
    m = np.zeros((30, 40), bool)
    m[k:k + 10, k:k + 10] = True
    return m


def test_each_project_has_its_own_uid(tmp_path):
    one, two = _two(tmp_path)
    assert one.uid != two.uid and len(one.uid) == 32
    reopened = Project.open(one.root)
    assert reopened.uid == one.uid  # stored, not made up on each open
    for p in (one, two, reopened):
        p.close()


def test_a_mask_of_another_projects_image_is_refused_and_nothing_written(tmp_path):
    one, two = _two(tmp_path)
    ref = one.image_ref(1)
    with pytest.raises(WrongImage, match="was painted in the project at .*one.*not saved "
                                         "into .*two.*Nothing was written"):
        submit_mask(two, ref, _mask())
    assert two.annotations(1) == [] and two.image(1).status == "unlabeled"
    assert not list((two.root / "annotations").glob("*.png"))
    assert submit_mask(one, ref, _mask())["origin"] == "hand"  # its own project takes it
    one.close()
    two.close()


def test_a_copy_of_a_project_with_another_image_under_the_id_is_refused(tmp_path):
    """Same project uid (a folder copied), but id 1 is now another image: refused too."""
    one, _two_ = _two(tmp_path)
    ref = one.image_ref(1)
    with one.store.transaction() as conn:
        conn.execute("UPDATE images SET sha256 = 'sha-changed' WHERE id = 1")
    with pytest.raises(WrongImage, match="has another image under id 1"):
        one.save_mask(1, _mask(), "hand", image=ref)
    assert one.annotations(1) == []
    one.close()
    _two_.close()


def test_a_draft_is_kept_replaced_and_dropped_by_the_save(tmp_path):
    one, two = _two(tmp_path)
    ref = one.image_ref(1)
    stage_draft(one, ref, "ana", _mask(2), None, 100)
    stage_draft(one, ref, "ana", _mask(5), None, 120)  # the newer one replaces it
    stage_draft(one, ref, "ben", _mask(7), None, 50)   # each author has their own
    draft = find_draft(one, 1, "ana")
    assert np.array_equal(draft.mask(), _mask(5)) and draft.pixels_changed == 120
    assert [(r[0], r[1]) for r in drafts_left(one)] == [
        (one.image(1).relpath, "ana"), (one.image(1).relpath, "ben")]
    with pytest.raises(WrongImage):
        stage_draft(two, ref, "ana", _mask(5), None, 120)
    submit_mask(one, ref, _mask(5), author="ana")  # the save supersedes ana's draft
    assert find_draft(one, 1, "ana") is None and find_draft(one, 1, "ben") is not None
    drop_draft(one, 1, "ben")  # discarded by the person
    assert drafts_left(one) == []
    one.close()
    two.close()
