"""A damaged model config.json or a pickled encoder weights file: one line naming the file."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.model.factory import EncoderWeightsError, create_model
from napari_specimask.core.model.weights import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ModelConfig,
    load_model_folder,
    write_safetensors,
)

GOOD = asdict(ModelConfig(encoder="resnet18", img_size=64))


@pytest.fixture
def folder(tmp_path):
    """A model folder whose weights load (tiny stand-ins: the config is refused first)."""
    write_safetensors(tmp_path / WEIGHTS_FILE, {"w": torch.zeros(2)})
    return tmp_path


def _drop(key):
    return {k: v for k, v in GOOD.items() if k != key}


@pytest.mark.parametrize("config, says", [
    (GOOD | {"img_size": 0}, "img_size 0 is not a whole number of pixels"),
    (GOOD | {"img_size": -64}, "img_size -64"),
    (GOOD | {"img_size": 64.5}, "img_size 64.5"),
    (GOOD | {"img_size": "512"}, "img_size '512'"),
    (GOOD | {"img_size": True}, "img_size True"),
    (GOOD | {"img_size": None}, "img_size None"),
    (_drop("img_size"), "lacks img_size"),
    (_drop("arch"), "lacks arch"),
    (GOOD | {"arch": "segformer"}, "unknown architecture 'segformer'; choose one of unet"),
    (GOOD | {"arch": ["unet"]}, "unknown architecture"),
    (GOOD | {"encoder": 34}, "encoder 34 is not a name"),
    (GOOD | {"encoder": "resnet9000"}, "unknown encoder 'resnet9000'"),
    (GOOD | {"format_version": "2"}, "format_version '2' is not a whole number"),
    (GOOD | {"format_version": 99}, "made by a newer specimask"),
    (GOOD | {"mean": [0.5]}, "mean must be three finite numbers"),
    (GOOD | {"std": [0.2, 0.0, 0.2]}, "std must be three finite numbers above 0"),
    (GOOD | {"wings": 2}, "not a specimask model config"),
    ([1, 2, 3], "not a specimask model config"),
])
def test_bad_config_is_one_line_naming_the_file(folder, config, says):
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(SpecimaskError) as err:
        load_model_folder(folder)
    message = str(err.value)
    assert message.startswith(f"{folder / CONFIG_FILE}: ") and says in message
    assert "\n" not in message


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b"{\"img_size\": NaN,",
                                 b"[" * 100_000])
def test_config_that_is_not_json_is_one_line(folder, raw):
    (folder / CONFIG_FILE).write_bytes(raw)
    with pytest.raises(SpecimaskError, match="not a specimask model config") as err:
        load_model_folder(folder)
    assert str(folder / CONFIG_FILE) in str(err.value) and "\n" not in str(err.value)


def test_nan_size_in_config_is_refused(folder):
    (folder / CONFIG_FILE).write_text(json.dumps(GOOD | {"img_size": float("nan")}))
    with pytest.raises(SpecimaskError, match="img_size nan is not a whole number"):
        load_model_folder(folder)


class Gadget:
    """Not a tensor: torch refuses to unpickle it with weights_only."""


def test_pickled_encoder_weights_are_refused_in_one_line(tmp_path):
    path = tmp_path / "encoder.pt"
    torch.save({"conv1.weight": torch.zeros(1), "extra": Gadget()}, path)
    with pytest.raises(EncoderWeightsError) as err:
        create_model("unet", "resnet18", str(path))
    message = str(err.value)
    assert "\n" not in message and "\x1b" not in message
    assert message.startswith(f"{path}: refused") and "can run code" in message
    assert "safetensors" in message and "weights_only=False" in message


def test_weights_file_of_no_state_dict_is_one_line(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(EncoderWeightsError, match="holds a list that is not a state dict"):
        create_model("unet", "resnet18", str(tmp_path / "list.pt"))
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "small.pt")
    with pytest.raises(EncoderWeightsError, match="do not fit encoder resnet18") as err:
        create_model("unet", "resnet18", str(tmp_path / "small.pt"))
    assert "\n" not in str(err.value)
