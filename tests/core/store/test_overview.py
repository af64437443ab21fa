"""The image table in SQL: words filter, columns sort, rows read for the ids asked only."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.errors import ProjectError
from napari_specimask.core.store.db import now
from napari_specimask.core.store.overview import TableQuery, ordered_ids, rows_of
from napari_specimask.core.store.registry import activate, finish_version, new_version
from napari_specimask.core.store.scores import store_scores

CFG = {"arch": "unet", "encoder": "resnet18", "img_size": 64}


@pytest.fixture
def table(project):
    """Six images: herbarium 1-3 in the pool, plankton 4-6 (6 is val); 1 labelled by hand,
    2 corrected from v001's proposal; v001 active, with two scores for 3 (the later wins)."""
    names = ["herbarium_01", "herbarium_02", "herbarium_03", "plankton_01", "plankton_02",
             "plankton_03"]
    ids = [project.add_image(f"images/{n}.png", f"{k:064x}", 8, 8, 10,
                             "val" if k == 5 else "pool") for k, n in enumerate(names)]
    v = new_version(project, None, 0, [], CFG)
    finish_version(project, v, "ready", {})
    activate(project, v)
    project.save_mask(ids[0], np.ones((8, 8), bool), "hand")
    project.save_mask(ids[1], np.ones((8, 8), bool), "corrected", model_version=v)
    store_scores(project, v, "jsd", "d8", {ids[0]: 0.2, ids[2]: 0.1, ids[3]: 0.9})
    with project.store.transaction() as conn:  # a later score of another measure
        conn.execute("INSERT INTO scores VALUES (?, ?, 'entropy', 'd8', 0.95, ?)",
                     (ids[2], v, "9999-01-01T00:00:00+00:00"))
    return project, ids


def query(project, text="", sort="id", descending=False) -> list[int]:
    return ordered_ids(project, TableQuery.of(text, sort, descending)).tolist()


def test_words_match_whole_roles_and_statuses_and_parts_of_names(table):
    project, ids = table
    assert query(project) == ids
    assert query(project, "labeled") == ids[:2]  # not the "unlabeled" ones
    assert query(project, "UNLABELED") == ids[2:]
    assert query(project, "plankton") == ids[3:]
    assert query(project, "pool plankton") == ids[3:5]  # every word must match
    assert query(project, "v001") == [ids[1]]  # the model behind the mask
    assert query(project, str(ids[4])) == [ids[4]]
    assert query(project, "nothing-like-this") == []


def test_sorts_by_any_column_both_ways(table):
    project, ids = table
    assert query(project, sort="image", descending=True) == ids[::-1]
    # scores: none first going up; 3's latest (0.95) beats 4's 0.9
    assert query(project, sort="score") == [ids[1], ids[4], ids[5], ids[0], ids[3], ids[2]]
    assert query(project, sort="score", descending=True)[:3] == [ids[2], ids[3], ids[0]]
    assert query(project, sort="role")[-1] == ids[5]  # val after pool
    assert query(project, sort="status")[:2] == ids[:2]  # labeled before unlabeled
    with pytest.raises(ProjectError, match="unknown column 'size'"):
        TableQuery.of("", "size")


def test_rows_come_in_the_order_asked_with_score_and_model(table):
    project, ids = table
    rows = rows_of(project, [ids[2], ids[1], ids[0]])
    assert [r[0] for r in rows] == [ids[2], ids[1], ids[0]]
    assert rows[0][1:] == ("images/herbarium_03.png", "pool", "unlabeled", 0.95, None)
    assert rows[1][4:] == (None, "v001")
    assert rows_of(project, np.array([ids[0], 10_000])) == rows_of(project, [ids[0]])


def test_summary_counts_in_one_pass(table):
    project, _ = table
    s = project.summary()
    assert s["images"] == 6
    assert s["by_status"] == {"unlabeled": 4, "queued": 0, "labeled": 2, "skipped": 0}
    assert s["by_role"] == {"pool": 5, "val": 1, "test": 0, "source": 0}
    assert s["masks_by_origin"]["corrected"] == 1


def test_first_image_and_ids_without_records(project):
    assert project.first_image_id() is None
    with project.store.transaction() as conn:
        conn.executemany("INSERT INTO images (id, relpath, sha256, height, width, bytes,"
                         " added_at) VALUES (?, ?, ?, 8, 8, 1, ?)",
                         [(i, f"{i}.png", f"{i:064x}", now()) for i in range(5, 3005)])
    assert project.first_image_id() == 5
    assert project.image_ids() == list(range(5, 3005))
    assert project.image_ids(status="queued") == []


def test_score_rank_counts_the_scores_above(table):
    project, ids = table
    from napari_specimask.core.store.scores import score_rank

    assert score_rank(project, "v001", "jsd", "d8", ids[3]) == (0.9, 1, 3)
    assert score_rank(project, "v001", "jsd", "d8", ids[2]) == (0.1, 3, 3)
    assert score_rank(project, "v001", "jsd", "d8", ids[1]) is None  # not scored
    assert score_rank(project, "v002", "jsd", "d8", ids[3]) is None
