"""Resumable downloads and the ferns / halfearth data sets, against a server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.datasets.ferns import clean_fern_mask, download_ferns
from napari_specimask.core.datasets.halfearth import download_halfearth
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.io.archives import extract_archive
from napari_specimask.core.io.download import download_file, fetch_json, part_path
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.progress import run

# -- a tiny HTTP server ------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        srv = self.server
        url = urlsplit(self.path)
        srv.requests.append(self.path)
        if url.path in srv.json:
            body = json.dumps(srv.json[url.path](parse_qs(url.query))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = srv.files.get(url.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if srv.bad_range == "shift":  # a part, but not the one asked for
                start = max(0, start - 1000)
            self.send_response(206)
            if srv.bad_range != "missing":
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.drop_after is not None:  # announce everything, send part, hang up
            cut, srv.drop_after = srv.drop_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        srv.sent += len(body)  # counted first: the client may finish before we return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.json, srv.requests = {}, {}, []
    srv.honour_range, srv.drop_after, srv.sent = True, None, 0
    srv.bad_range = None  # "shift": 206 from another start; "missing": no Content-Range
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PAYLOAD = bytes(range(256)) * 4000  # 1 MB, bigger than one read chunk


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- download_file -------------------------------------------------------------------------


def test_full_download_with_checksums(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    target = tmp_path / "sub" / "f.bin"
    seen = []
    got = run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD),
                            md5=hashlib.md5(PAYLOAD).hexdigest()), seen.append)
    assert got == target and target.read_bytes() == PAYLOAD
    assert not part_path(target).exists()
    assert seen[-1].message.startswith("verifying") or seen[-1].done == len(PAYLOAD)
    assert any(p.total == len(PAYLOAD) for p in seen)
    # An already complete file with a good checksum is not fetched again.
    before = len(server.requests)
    assert run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD))) == target
    assert len(server.requests) == before


def test_resume_after_truncated_part(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    target = tmp_path / "f.bin"
    half = len(PAYLOAD) // 2
    part_path(target).write_bytes(PAYLOAD[:half])
    run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD)))
    assert target.read_bytes() == PAYLOAD
    assert server.sent == len(PAYLOAD) - half  # only the missing half travelled


def test_dropped_connection_keeps_part_and_resumes(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.drop_after = 300_000
    target = tmp_path / "f.bin"
    with pytest.raises(SpecimaskError, match="run the same command again to resume") as err:
        run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD)))
    assert "\n" not in str(err.value) and f"{server.base}/f.bin" in str(err.value)
    assert not target.exists()
    kept = part_path(target).stat().st_size
    assert 0 < kept <= 300_000
    run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD)))
    assert target.read_bytes() == PAYLOAD
    assert server.sent == len(PAYLOAD) - kept < len(PAYLOAD)


def test_server_ignoring_range_restarts(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.honour_range = False
    target = tmp_path / "f.bin"
    part_path(target).write_bytes(b"garbage that must not be kept" * 10)
    run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD)))
    assert target.read_bytes() == PAYLOAD and server.sent == len(PAYLOAD)


@pytest.mark.parametrize("bad_range", ["shift", "missing"])
def test_206_from_another_start_restarts_without_range(server, tmp_path, bad_range):
    # No checksum to catch it: a body appended at the wrong place (or written as the
    # start of the file) would be renamed into place as a corrupt file.
    server.files["/f.bin"] = PAYLOAD
    server.bad_range = bad_range
    target = tmp_path / "f.bin"
    half = len(PAYLOAD) // 2
    part_path(target).write_bytes(PAYLOAD[:half])
    assert run(download_file(f"{server.base}/f.bin", target)) == target
    assert target.read_bytes() == PAYLOAD and not part_path(target).exists()
    assert len(server.requests) == 2  # the resume, then once afresh (no Range: a 200)


def test_whole_part_answered_416_is_finished(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    target = tmp_path / "f.bin"
    part_path(target).write_bytes(PAYLOAD)
    run(download_file(f"{server.base}/f.bin", target, sha256=sha(PAYLOAD)))
    assert target.read_bytes() == PAYLOAD and server.sent == 0


def test_checksum_mismatch_deletes_part(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    target = tmp_path / "f.bin"
    wrong = "0" * 64
    with pytest.raises(SpecimaskError) as err:
        run(download_file(f"{server.base}/f.bin", target, sha256=wrong))
    msg = str(err.value)
    assert "checksum mismatch" in msg and wrong in msg and sha(PAYLOAD) in msg
    assert not target.exists() and not part_path(target).exists()


def test_stop_keeps_part(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    target = tmp_path / "f.bin"
    stop = threading.Event()
    job = download_file(f"{server.base}/f.bin", target, stop=stop)

    def on_progress(p):
        if p.done > 0:
            stop.set()

    assert run(job, on_progress) is None
    assert not target.exists() and part_path(target).stat().st_size > 0


def test_connection_refused_is_one_clear_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/f.bin"
    with pytest.raises(SpecimaskError) as err:
        run(download_file(url, tmp_path / "f.bin"))
    msg = str(err.value)
    assert url in msg and "connection refused" in msg and "run the same command again" in msg
    assert "\n" not in msg
    with pytest.raises(SpecimaskError, match="connection refused"):
        fetch_json(url)


def test_http_404_and_bad_json(server, tmp_path):
    with pytest.raises(SpecimaskError, match="HTTP 404"):
        run(download_file(f"{server.base}/nothing", tmp_path / "x"))
    server.files["/page"] = b"<html>captive portal</html>"
    with pytest.raises(SpecimaskError, match="not JSON"):
        fetch_json(f"{server.base}/page")


def test_unresolvable_host_says_no_network(tmp_path):
    with pytest.raises(SpecimaskError) as err:
        run(download_file("http://no-such-host.invalid/f.bin", tmp_path / "f.bin"))
    assert "no-such-host.invalid" in str(err.value)


# -- ferns -------------------------------------------------------------------------------------


def raw_mask() -> np.ndarray:
    """Left half 40 (background after the threshold), right half 60 (specimen), with
    isolated salt-and-pepper pixels that only the median removes."""
    m = np.full((20, 24), 40, np.uint8)
    m[:, 12:] = 60
    m[5, 3] = 255  # a speck on the background
    m[14, 18] = 0  # a pin-hole in the specimen
    return m


def fern_archives(encode) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    images = io.BytesIO()
    with zipfile.ZipFile(images, "w") as zf:
        for name in ("US123", "US456"):
            img = rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)
            zf.writestr(f"original_hires_images/{name}.png", encode.png(img))
        zf.writestr("original_hires_images/._US123.png", b"AppleDouble clutter")
    masks = encode.tar_gz({f"hires_masks/{name}_mask.png": encode.png(raw_mask())
                           for name in ("US123", "US456")})
    return {"images.zip": images.getvalue(), "masks.tar.gz": masks,
            "metadata.tsv": b"catalog\tgenus\nUS123\tPolypodium\nUS456\tAsplenium\n"}


@pytest.fixture
def figshare(server, monkeypatch, encode):
    """A fake figshare: API listing for article 4242 and the ndownloader file ids."""
    files = fern_archives(encode)
    listing = []
    for i, (name, data) in enumerate(files.items()):
        server.files[f"/ndownloader/files/{900 + i}"] = data
        listing.append({"id": 900 + i, "name": name, "size": len(data),
                        "computed_md5": hashlib.md5(data).hexdigest(),
                        "download_url": f"{server.base}/ndownloader/files/{900 + i}"})

    def page(query):
        n, per = int(query.get("page", ["1"])[0]), int(query.get("page_size", ["10"])[0])
        return listing[(n - 1) * per: n * per]

    server.json["/v2/articles/4242/files"] = page
    monkeypatch.setenv("SPECIMASK_FIGSHARE_API", f"{server.base}/v2")
    monkeypatch.setenv("SPECIMASK_FIGSHARE_DOWNLOAD", f"{server.base}/ndownloader")
    monkeypatch.setattr("napari_specimask.core.datasets.ferns.FERN_FILES",
                        tuple((name, 900 + i) for i, name in enumerate(files)))
    return server


def test_clean_fern_mask_threshold_then_median():
    out = clean_fern_mask(raw_mask())
    assert out.dtype == bool
    assert not out[10, 3] and out[10, 20]  # 40 -> 0, 60 -> 255
    assert not out[5, 3]  # the speck is gone
    assert out[14, 18]  # the pin-hole is filled
    assert (raw_mask() > 50)[5, 3]  # ... which the threshold alone would have kept
    rgb = np.repeat(raw_mask()[..., None], 3, axis=2)
    assert np.array_equal(clean_fern_mask(rgb), out)


@pytest.mark.parametrize("article", [None, 4242])
def test_ferns_end_to_end(figshare, tmp_path, project, article):
    report = run(download_ferns(tmp_path / "data", article=article))
    base = tmp_path / "data" / "ferns"
    assert report.files == 3 + 4 and report.skipped == 0 and report.masks == 2
    assert report.images == 2 and not report.problems
    assert sorted(p.name for p in (base / "masks").iterdir()) == ["US123.png", "US456.png"]
    assert (base / "images" / "original_hires_images" / "US123.png").is_file()
    assert not (base / "images" / "original_hires_images" / "._US123.png").exists()
    assert (base / "masks_raw" / "hires_masks" / "US123_mask.png").is_file()
    assert (base / "metadata.tsv").is_file()
    m = np.asarray(Image.open(base / "masks" / "US123.png"))
    assert set(np.unique(m)) == {0, 255}
    assert m[10, 3] == 0 and m[10, 20] == 255 and m[5, 3] == 0 and m[14, 18] == 255
    manifest = json.loads((base / "MANIFEST.json").read_text())
    entry = manifest["files"]["downloads/masks.tar.gz"]
    assert entry["sha256"] == sha((base / "downloads" / "masks.tar.gz").read_bytes())
    if article:
        assert entry["md5"] == hashlib.md5((base / "downloads/masks.tar.gz").read_bytes()
                                           ).hexdigest()
    # Directly usable by `specimask init --images ... --masks ...`.
    imported = run(import_images(project, base / "images", base / "masks"))
    assert len(imported.added) == 2 and imported.masks == 2 and not imported.skipped
    assert read_mask(base / "masks" / "US456.png").shape == (20, 24)


def test_ferns_rerun_verifies_without_downloading(figshare, tmp_path):
    run(download_ferns(tmp_path, article=4242))
    sent = figshare.sent
    downloads = [r for r in figshare.requests if r.startswith("/ndownloader")]
    again = run(download_ferns(tmp_path, article=4242))
    assert figshare.sent == sent
    assert [r for r in figshare.requests if r.startswith("/ndownloader")] == downloads
    assert again.files == 0 and again.masks == 0 and again.skipped == 3 + 4
    # Offline, a finished folder is still verified from its manifest.
    figshare.json.clear()
    assert run(download_ferns(tmp_path, article=4242)).skipped == 3 + 4


def test_ferns_resumes_a_partial_archive(figshare, tmp_path):
    base = tmp_path / "ferns"
    data = figshare.files["/ndownloader/files/900"]
    (base / "downloads").mkdir(parents=True)
    part_path(base / "downloads" / "images.zip").write_bytes(data[: len(data) // 2])
    run(download_ferns(tmp_path, article=4242))
    total = sum(len(d) for d in figshare.files.values())
    assert figshare.sent == total - len(data) // 2


def test_ferns_bad_md5_from_figshare(figshare, tmp_path):
    figshare.files["/ndownloader/files/901"] = b"tampered"
    with pytest.raises(SpecimaskError, match="checksum mismatch"):
        run(download_ferns(tmp_path, article=4242))
    assert not (tmp_path / "ferns" / "downloads" / "masks.tar.gz").exists()


def test_ferns_offline_without_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECIMASK_FIGSHARE_DOWNLOAD", f"http://127.0.0.1:{free_port()}/nd")
    with pytest.raises(SpecimaskError) as err:
        run(download_ferns(tmp_path))
    msg = str(err.value)
    assert "connection refused" in msg and "copy" in msg and "\n" not in msg


# -- halfearth -----------------------------------------------------------------------------

META = {
    "images": [{"id": 1, "file_name": "images/000/00/1.jpg", "height": 4, "width": 3},
               {"id": 2, "file_name": "images/000/01/2.jpg", "height": 4, "width": 3}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "institution_id": 0},
                    {"id": 2, "image_id": 2, "category_id": 1, "institution_id": 0}],
    "categories": [{"id": 0, "name": "Abies alba", "family": "Pinaceae", "order": "Pinales"},
                   {"id": 1, "name": "Acer rubrum", "family": "Sapindaceae",
                    "order": "Sapindales"}],
}


def halfearth_members(meta=META) -> dict[str, bytes]:
    return {"train/metadata.json": json.dumps(meta).encode(),
            "train/images/000/00/1.jpg": b"\xff\xd8 jpeg one",
            "train/images/000/01/2.jpg": b"\xff\xd8 jpeg two",
            "sample_submission.csv": b"Id,Predicted\n"}


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def no_kaggle(monkeypatch, tmp_path):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("make", [make_zip, make_tar])
def test_halfearth_from_archive(tmp_path, make, no_kaggle):
    archive = make(tmp_path / "herbarium-2021-fgvc8.bin", halfearth_members())
    report = run(download_halfearth(tmp_path / "data", archive))
    base = tmp_path / "data" / "halfearth"
    assert report.files == 4 and report.skipped == 0 and not report.problems
    assert report.images == 2 and report.categories == 2
    assert report.metadata == base / "train" / "metadata.json"
    assert (base / "train" / "images" / "000" / "01" / "2.jpg").read_bytes() == b"\xff\xd8 jpeg two"
    again = run(download_halfearth(tmp_path / "data", archive))
    assert again.files == 0 and again.skipped == 4
    # A finished folder is checked again without an archive or Kaggle.
    assert run(download_halfearth(tmp_path / "data")).images == 2


def test_halfearth_resumes_after_a_truncated_member(tmp_path, no_kaggle):
    archive = make_zip(tmp_path / "h.zip", halfearth_members())
    run(download_halfearth(tmp_path, archive))
    victim = tmp_path / "halfearth" / "train" / "images" / "000" / "00" / "1.jpg"
    victim.write_bytes(b"\xff")
    report = run(download_halfearth(tmp_path, archive))
    assert report.files == 1 and report.skipped == 3
    assert victim.read_bytes() == b"\xff\xd8 jpeg one"


@pytest.mark.parametrize("make", [make_zip, make_tar])
@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil-abs.txt", "train/../../evil.txt"])
def test_halfearth_refuses_path_traversal(tmp_path, make, evil, no_kaggle):
    members = {**halfearth_members(), evil: b"owned"}
    archive = make(tmp_path / "evil.bin", members)
    with pytest.raises(SpecimaskError, match="refusing member") as err:
        run(download_halfearth(tmp_path / "data", archive))
    assert evil in str(err.value)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "data" / "evil.txt").exists()


def test_tar_link_members_refused(tmp_path):
    path = tmp_path / "link.tar"
    with tarfile.open(path, "w") as tf:
        info = tarfile.TarInfo("train/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(SpecimaskError, match="link"):
        run(extract_archive(path, tmp_path / "out"))


def test_truncated_archive_is_one_clear_error(tmp_path):
    whole = make_tar(tmp_path / "h.tar.gz", halfearth_members()).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SpecimaskError, match="damaged or truncated archive"):
        run(extract_archive(cut, tmp_path / "out"))


def test_halfearth_missing_metadata(tmp_path, no_kaggle):
    members = halfearth_members()
    del members["train/metadata.json"]
    archive = make_zip(tmp_path / "h.zip", members)
    with pytest.raises(SpecimaskError, match="train/metadata.json is missing"):
        run(download_halfearth(tmp_path / "data", archive))


def test_halfearth_metadata_without_categories(tmp_path, no_kaggle, monkeypatch):
    meta = {k: v for k, v in META.items() if k != "categories"}
    archive = make_zip(tmp_path / "h.zip", halfearth_members(meta))
    with pytest.raises(SpecimaskError, match="no categories list"):
        run(download_halfearth(tmp_path / "a", archive))
    monkeypatch.setattr("napari_specimask.core.datasets.halfearth.METADATA_PARSE_LIMIT", 10)  # the big-file key scan
    with pytest.raises(SpecimaskError, match="no categories list"):
        run(download_halfearth(tmp_path / "b", archive))


def test_halfearth_not_an_archive(tmp_path, no_kaggle):
    bogus = tmp_path / "h.zip"
    bogus.write_bytes(b"not an archive")
    with pytest.raises(SpecimaskError, match="not a zip or tar"):
        run(download_halfearth(tmp_path / "data", bogus))
    with pytest.raises(SpecimaskError, match="no such file"):
        run(download_halfearth(tmp_path / "data", tmp_path / "missing.zip"))


def test_halfearth_without_archive_or_kaggle(tmp_path, no_kaggle, monkeypatch):
    monkeypatch.setattr("napari_specimask.core.datasets.halfearth.importlib.util.find_spec", lambda name: None)
    with pytest.raises(SpecimaskError) as err:
        run(download_halfearth(tmp_path / "data"))
    msg = str(err.value)
    assert "--archive" in msg and "kaggle" in msg.lower() and "KAGGLE_USERNAME" in msg
    assert "not installed" in msg and "no Kaggle credentials" in msg and "\n" not in msg


def test_halfearth_through_kaggle_api(tmp_path, monkeypatch):
    """The Kaggle path, with a stand-in for the kaggle client (no network, no account)."""
    import sys
    import types

    calls = []

    class KaggleApi:
        def authenticate(self):
            calls.append("auth")

        def competition_download_files(self, competition, path=None, force=False, quiet=True):
            calls.append(competition)
            make_zip(Path(path) / f"{competition}.zip", halfearth_members())

    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = KaggleApi
    monkeypatch.setitem(sys.modules, "kaggle", types.ModuleType("kaggle"))
    monkeypatch.setitem(sys.modules, "kaggle.api", types.ModuleType("kaggle.api"))
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    monkeypatch.setattr("napari_specimask.core.datasets.halfearth.importlib.util.find_spec", lambda name: object())
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    report = run(download_halfearth(tmp_path))
    assert calls == ["auth", "herbarium-2021-fgvc8"]
    assert report.images == 2 and report.files == 4
    assert (tmp_path / "halfearth" / "downloads" / "herbarium-2021-fgvc8.zip").is_file()
