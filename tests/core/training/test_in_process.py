"""Training outside `specimask train` stays in its process: `devices = auto` is one
device, several devices or nodes are refused with where to use them (Lightning would run
napari, a round or continuous training again on every other rank)."""

from __future__ import annotations

import pytest

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.progress import run
from napari_specimask.core.store.registry import list_models
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.training.fit import in_process, train_job


def test_auto_is_one_device_and_one_device_is_kept():
    assert in_process(TrainConfig(devices="auto")).devices == "1"
    assert in_process(TrainConfig(devices="1")).devices == "1"
    assert in_process(TrainConfig(devices="0,")).devices == "0,"  # one GPU by id


@pytest.mark.parametrize("options", [dict(devices="2"), dict(devices="0,1"),
                                     dict(num_nodes=2, devices="1"),
                                     dict(devices="auto", strategy="ddp")])
def test_several_devices_or_nodes_are_refused_with_where_to_use_them(options):
    with pytest.raises(SpecimaskError, match="runs from `specimask train`"):
        in_process(TrainConfig(**options))


def test_a_gui_or_round_training_on_two_devices_registers_nothing(project):
    with pytest.raises(SpecimaskError, match="devices = 1"):
        run(train_job(project, TrainConfig(devices="2", encoder_weights="none")))
    assert list_models(project) == []
