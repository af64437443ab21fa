"""`specimask download ferns|halfearth`, through the same error handling as `main`."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from napari_specimask import cli
from napari_specimask.core.io.files import find_mask


@pytest.fixture
def sm(capsys):
    """Run `specimask ARGS` through the real command line."""

    def call(*args):
        code = cli.main([str(a) for a in args])
        return code, capsys.readouterr()

    return call


class Files(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.server.hits += 1
        self.wfile.write(data)


@pytest.fixture
def ndownloader(monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    srv.files, srv.hits = {}, 0
    base = f"http://127.0.0.1:{srv.server_address[1]}/nd"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("SPECIMASK_FIGSHARE_DOWNLOAD", base)
    yield srv
    srv.shutdown()
    srv.server_close()


def test_download_ferns_then_init(sm, ndownloader, monkeypatch, tmp_path, encode):
    mask = np.full((16, 16), 45, np.uint8)
    mask[:, 8:] = 70
    mask[3, 2] = 255
    img = np.full((16, 16, 3), 200, np.uint8)
    ndownloader.files.update({
        "/nd/files/1": encode.tar_gz({"original_hires_images/US1.png": encode.png(img)}),
        "/nd/files/2": encode.tar_gz({"hires_masks/US1_mask.png": encode.png(mask)}),
        "/nd/files/3": b"catalog\nUS1\n",
    })
    monkeypatch.setattr("napari_specimask.core.datasets.ferns.FERN_FILES",
                        (("images.tar.gz", 1), ("masks.tar.gz", 2), ("metadata.tsv", 3)))
    code, out = sm("download", "ferns", "--root", tmp_path)
    assert code == 0, out.err
    base = tmp_path / "ferns"
    assert "ferns: 5 file(s)" in out.out and "1 mask(s) cleaned" in out.out
    assert f"specimask init PROJECT --images {base / 'images'} --masks {base / 'masks'}" \
        in out.out
    cleaned = np.asarray(Image.open(base / "masks" / "US1.png"))
    assert cleaned[8, 2] == 0 and cleaned[8, 12] == 255 and cleaned[3, 2] == 0
    rel = (base / "images" / "original_hires_images" / "US1.png").relative_to(base / "images")
    assert find_mask(base / "masks", rel) == base / "masks" / "US1.png"
    manifest = json.loads((base / "MANIFEST.json").read_text())
    assert manifest["files"]["metadata.tsv"]["sha256"] == hashlib.sha256(b"catalog\nUS1\n"
                                                                         ).hexdigest()
    hits = ndownloader.hits
    code, out = sm("download", "ferns", "--root", tmp_path)
    assert code == 0 and ndownloader.hits == hits
    assert "0 file(s)" in out.out and "5 already there and verified" in out.out


def test_connection_refused_exits_1_with_one_line(sm, monkeypatch, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SPECIMASK_FIGSHARE_DOWNLOAD", f"http://127.0.0.1:{port}/nd")
    code, out = sm("download", "ferns", "--root", tmp_path)
    assert code == 1
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimask: error: ")
    assert f"http://127.0.0.1:{port}/nd/files/" in lines[0] and "connection refused" in lines[0]
    assert "Traceback" not in out.err


def test_download_halfearth_archive(sm, tmp_path):
    meta = {"images": [{"id": 1, "file_name": "images/000/00/1.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 0}],
            "categories": [{"id": 0, "name": "Abies alba", "family": "Pinaceae"}]}
    archive = tmp_path / "herbarium-2021-fgvc8.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/metadata.json", json.dumps(meta))
        zf.writestr("train/images/000/00/1.jpg", b"jpeg")
    code, out = sm("download", "halfearth", "--root", tmp_path / "data", "--archive", archive)
    assert code == 0, out.err
    assert "1 image(s), 1 categories" in out.out
    assert (tmp_path / "data" / "halfearth" / "train" / "images" / "000" / "00" / "1.jpg"
            ).is_file()


def test_download_halfearth_without_source(sm, monkeypatch, tmp_path):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, out = sm("download", "halfearth", "--root", tmp_path)
    assert code == 1 and len(out.err.strip().splitlines()) == 1
    assert "--archive" in out.err and "kaggle" in out.err.lower()


def test_options_for_the_other_data_set_are_refused(sm, tmp_path):
    code, out = sm("download", "ferns", "--root", tmp_path, "--archive", tmp_path / "x.zip")
    assert code == 1 and "--archive is for halfearth" in out.err
    code, out = sm("download", "halfearth", "--root", tmp_path, "--article", "12")
    assert code == 1 and "--article is for ferns" in out.err
