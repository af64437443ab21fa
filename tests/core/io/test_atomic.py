"""Atomic writes: the old file or the new one, never half; and the mode the user's umask
asks for, not mkstemp's 0600. (Kills mid-save: tests/crash/.)"""

from __future__ import annotations

import os
import stat
import sys

import pytest

from napari_specimask.core.io.atomic import (
    TMP_MARK,
    atomic_path,
    atomic_write_bytes,
    atomic_write_with,
    publish,
    stage_file,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def _bytes(target):
    atomic_write_bytes(target, b"x")


def _with(target):
    atomic_write_with(target, lambda tmp: tmp.write_bytes(b"x"))


def _path(target):
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"x")


def _staged(target):
    publish(stage_file(target, lambda tmp: tmp.write_bytes(b"x")), target)


@pytest.mark.parametrize("write", [_bytes, _with, _path, _staged])
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_file_honours_umask(tmp_path, write, umask, mode):
    old = os.umask(umask)
    try:
        write(tmp_path / "out.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == mode
    assert (tmp_path / "out.png").read_bytes() == b"x"
    assert not list(tmp_path.glob(f"{TMP_MARK}*"))


def test_overwrite_takes_umask_mode(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    target.chmod(0o600)  # a file from an older version, still 0600
    old = os.umask(0o022)
    try:
        atomic_write_bytes(target, b"new")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_stage_file_in_staging_dir(tmp_path):
    staging = tmp_path / "staging"  # made when missing
    target = tmp_path / "out" / "mask.png"
    tmp = stage_file(target, lambda t: t.write_bytes(b"x"), staging_dir=staging)
    assert tmp.parent == staging and tmp.name.startswith(TMP_MARK) and tmp.suffix == ".png"
    assert not target.exists()
    publish(tmp, target)
    assert target.read_bytes() == b"x" and not list(staging.iterdir())


def test_failed_write_removes_temp_and_names_target(tmp_path):
    def fail(tmp):
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as info:
        atomic_write_with(tmp_path / "out.png", fail)
    assert info.value.filename == str(tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_temp_name_collision_retries(tmp_path, monkeypatch):
    from napari_specimask.core.io import atomic

    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    first = stage_file(tmp_path / "x.png", lambda t: None)
    second = stage_file(tmp_path / "x.png", lambda t: None)
    assert first.name == f"{TMP_MARK}aaaa.png" and second.name == f"{TMP_MARK}bbbb.png"


def test_failed_write_leaves_target_untouched(tmp_path):
    target = tmp_path / "settings.toml"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]
