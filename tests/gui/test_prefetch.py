"""Reading ahead: what is handed out, when it is loaded, and that edits never go stale."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_specimask._widgets._prefetch import Prefetcher, load_annotation_item
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.images import save_mask_png
from napari_specimask.core.progress import run


class Loads:
    """A load function that records the thread it ran on and can be held back."""

    def __init__(self):
        self.calls: list[tuple[int, str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, key):
        self.release.wait(5)
        self.calls.append((key, threading.current_thread().name))
        if key < 0:
            raise ValueError(f"bad key {key}")
        return {"key": key, "pixels": np.full(3, key)}


def test_prefetched_items_are_loaded_in_the_background_and_handed_out_once():
    load = Loads()
    fetch = Prefetcher(load)
    fetch.prefetch([1, 2])
    first = fetch.get(1)
    assert first["key"] == 1
    assert load.calls[0] == (1, load.calls[0][1]) and "prefetch" in load.calls[0][1]
    again = fetch.get(1)  # handed out once: a second get loads afresh, here
    assert again is not first and load.calls[-1] == (1, threading.current_thread().name)
    fetch.close()


def test_get_without_prefetch_loads_in_the_calling_thread():
    load = Loads()
    fetch = Prefetcher(load)
    assert fetch.get(7)["key"] == 7
    assert load.calls == [(7, threading.current_thread().name)]
    fetch.close()


def test_new_guesses_cancel_old_ones_and_forget_drops_items():
    load = Loads()
    load.release.clear()  # hold the worker on its first item
    fetch = Prefetcher(load)
    fetch.prefetch([1, 2, 3])
    fetch.prefetch([1, 4])  # 2 and 3 are no longer wanted
    fetch.forget([4])
    load.release.set()
    assert fetch.get(1)["key"] == 1
    fetch.close()
    assert {k for k, _ in load.calls} == {1}


def test_a_failed_prefetch_raises_in_the_caller():
    load = Loads()
    fetch = Prefetcher(load)
    fetch.prefetch([-1])
    with pytest.raises(ValueError, match="bad key -1"):
        fetch.get(-1)
    fetch.close()


def test_annotation_item_starts_from_verified_then_proposal_then_cold_start(tmp_path):
    project = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    a, b, c = [r.id for r in project.images()][:3]
    h, w = project.image(a).height, project.image(a).width
    verified = np.zeros((h, w), bool)
    verified[: h // 2] = True
    project.save_mask(a, verified, "hand")
    proposal = np.zeros((project.image(b).height, project.image(b).width), bool)
    proposal[:3, :3] = True
    save_mask_png(project.proposal_file(b), proposal)

    item = load_annotation_item(project, a)
    assert item.image.dtype == np.uint8 and item.image.shape == (h, w, 3)
    assert np.array_equal(item.start, verified)
    assert load_annotation_item(project, b).proposal_kind == "proposal"
    assert np.array_equal(load_annotation_item(project, b).start, proposal)
    cold = load_annotation_item(project, c)  # the demo has cold-start masks
    assert cold.verified is None and cold.proposal_kind == "coldstart"
    assert np.array_equal(cold.start, project.load_mask(c, "coldstart"))
    project.close()
