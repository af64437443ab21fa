"""Model factory, encoder weights (local file, local server, offline), presets, losses."""

from __future__ import annotations

import http.server
import socket
import threading

import numpy as np
import pytest
import torch

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.model.factory import (
    ARCHS,
    EncoderWeightsError,
    create_model,
    resolve_encoder_weights,
)
from napari_specimask.core.model.losses import LOSSES, build_loss, dice_iou_per_image
from napari_specimask.core.training.augment import PRESETS, Augmentation


@pytest.mark.parametrize("arch", list(ARCHS))
def test_each_architecture_gives_one_logit_channel(arch):
    model = create_model(arch, "resnet34", None).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 1, 64, 64)


def test_freeze_encoder_and_bad_names():
    model = create_model("unet", "resnet34", None, freeze_encoder=True)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())
    with pytest.raises(SpecimaskError, match="unet, deeplabv3plus, unetplusplus"):
        create_model("segformer-xl")
    with pytest.raises(SpecimaskError, match="unknown encoder"):
        create_model("unet", "resnet9000", None)


def test_encoder_weights_from_a_local_file(tmp_path):
    from safetensors.torch import save_file

    donor = create_model("unet", "resnet34", None)
    save_file(donor.encoder.state_dict(), str(tmp_path / "enc.safetensors"))
    torch.save(donor.encoder.state_dict(), tmp_path / "enc.pt")
    for name in ("enc.safetensors", "enc.pt"):
        model = create_model("unet", "resnet34", str(tmp_path / name))
        assert torch.equal(model.encoder.conv1.weight, donor.encoder.conv1.weight)
    with pytest.raises(EncoderWeightsError, match="not found"):
        create_model("unet", "resnet34", str(tmp_path / "missing.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"not weights")
    with pytest.raises(EncoderWeightsError, match="not a readable weights file"):
        create_model("unet", "resnet34", str(tmp_path / "junk.safetensors"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_download_is_a_clear_message(tmp_path):
    port = _free_port()  # nothing listens: like a machine without network
    with pytest.raises(EncoderWeightsError) as info:
        create_model("unet", "resnet34", "imagenet", endpoint=f"http://127.0.0.1:{port}",
                     cache_dir=tmp_path / "empty-cache")
    msg = str(info.value)
    assert "could not download" in msg and "--encoder-weights none" in msg
    assert "resnet34" in msg


class _Hub(http.server.BaseHTTPRequestHandler):
    """Serves files the way the Hugging Face hub's resolve endpoint does."""

    files: dict[str, bytes] = {}

    def _send(self, body: bool):
        name = self.path.rsplit("/", 1)[-1]
        data = self.files.get(name)
        if data is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{abs(hash(data))}"')
        self.send_header("X-Repo-Commit", self.path.split("/resolve/")[1].split("/")[0])
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self):
        self._send(False)

    def do_GET(self):
        self._send(True)

    def log_message(self, *args):
        pass


def test_download_from_a_local_hub_server(tmp_path):
    from safetensors.torch import save

    donor = create_model("unet", "resnet34", None)
    _Hub.files = {"model.safetensors": save(donor.encoder.state_dict()),
                  "config.json": b"{}"}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        model = create_model("unet", "resnet34", "imagenet", endpoint=endpoint,
                             cache_dir=tmp_path / "cache")
    finally:
        server.shutdown()
    assert torch.equal(model.encoder.conv1.weight, donor.encoder.conv1.weight)
    # now cached: loads again with the server gone, and never touched the user's cache
    again = create_model("unet", "resnet34", "imagenet", endpoint=endpoint,
                         cache_dir=tmp_path / "cache")
    assert torch.equal(again.encoder.conv1.weight, donor.encoder.conv1.weight)


def test_auto_weights_offline_train_from_scratch_and_say_how_to_get_imagenet(tmp_path):
    port = _free_port()
    weights, note = resolve_encoder_weights("resnet34", "auto", f"http://127.0.0.1:{port}",
                                            tmp_path / "empty-cache")
    assert weights == "none"
    assert "from scratch" in note and "~/.cache/huggingface" in note
    assert resolve_encoder_weights("resnet34", "imagenet") == ("imagenet", None)  # as asked


def test_auto_weights_use_imagenet_once_cached(tmp_path):
    from safetensors.torch import save

    donor = create_model("unet", "resnet34", None)
    _Hub.files = {"model.safetensors": save(donor.encoder.state_dict()), "config.json": b"{}"}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:  # reachable: auto means ImageNet, fetched into the cache
        assert resolve_encoder_weights("resnet34", "auto", endpoint, tmp_path / "c")[0] \
            == "imagenet"
        create_model("unet", "resnet34", "imagenet", endpoint=endpoint, cache_dir=tmp_path / "c")
    finally:
        server.shutdown()
    # the hub gone, the cache still says ImageNet, and the model gets those weights
    assert resolve_encoder_weights("resnet34", "auto", endpoint, tmp_path / "c") == \
        ("imagenet", None)
    model = create_model("unet", "resnet34", "auto", endpoint=endpoint, cache_dir=tmp_path / "c")
    assert torch.equal(model.encoder.conv1.weight, donor.encoder.conv1.weight)


def _pattern():
    img = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    img[10:40, 20:50] = 255
    mask[10:40, 20:50] = 1
    return img, mask


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_keep_frame_and_binary_mask(preset):
    img, mask = _pattern()
    refs = [np.full((64, 64, 3), v, np.uint8) for v in (80, 160)]
    aug = Augmentation(preset, refs)
    for _ in range(10):
        out_img, out_mask = aug(img, mask)
        assert out_img.shape == img.shape and out_img.dtype == np.uint8
        assert out_mask.shape == mask.shape and set(np.unique(out_mask)) <= {0, 1}


@pytest.mark.parametrize("preset", ["basic", "affine"])
def test_geometric_presets_move_mask_with_image(preset):
    img, mask = _pattern()
    aug = Augmentation(preset, seed=0)  # seeded: the same draws every run
    for _ in range(10):
        out_img, out_mask = aug(img, mask)
        bright = out_img[..., 0] > 127
        agree = (bright == out_mask.astype(bool)).mean()
        assert agree > 0.97  # only interpolation edges may differ


def test_specialized_needs_target_references_and_unknown_preset():
    with pytest.raises(SpecimaskError, match="reference images"):
        Augmentation("specialized", [])
    with pytest.raises(SpecimaskError, match="basic"):
        Augmentation("extreme")


@pytest.mark.parametrize("name", LOSSES)
def test_losses_prefer_the_right_answer(name):
    target = torch.zeros(2, 1, 16, 16)
    target[:, :, 4:12, 4:12] = 1
    loss = build_loss(name)
    good = loss(target * 20 - 10, target)
    bad = loss(10 - target * 20, target)
    assert good < bad


def test_tversky_defaults_and_per_image_metrics():
    loss = build_loss("tversky")
    assert (loss.alpha, loss.beta) == (0.7, 0.3)
    target = torch.zeros(3, 1, 8, 8)
    target[0, :, :4] = 1
    logits = torch.full_like(target, -10.0)
    logits[0, :, :2] = 10  # image 0: half found; image 1 and 2: both empty
    dice, iou = dice_iou_per_image(logits, target)
    assert dice[0] == pytest.approx(2 * 16 / (16 + 32))
    assert iou[0] == pytest.approx(16 / 32)
    assert dice[1] == 1 and iou[2] == 1
