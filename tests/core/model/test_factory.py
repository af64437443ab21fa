"""The network factory: architectures, encoder weights from a file, a hub, or none offline."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest
import torch

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.model.factory import (
    ARCHS,
    EncoderWeightsError,
    create_model,
    resolve_encoder_weights,
)


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

