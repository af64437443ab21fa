"""The command in real processes: output into a closed pipe, and a headless install."""

from __future__ import annotations

import os
import subprocess
import sys

from napari_specimask.core.store.project import Project

CLI = [sys.executable, "-m", "napari_specimask"]


def _into_closed_pipe(*args: str) -> tuple[int, str]:
    """Run the command with its stdout a pipe whose reader is gone before anything is
    written, as with `specimask ... | head` once head has had its lines."""
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=120), err


def test_command_output_into_a_closed_pipe_exits_141_quietly(tmp_path):
    Project.create(tmp_path / "proj").close()
    assert _into_closed_pipe("status", str(tmp_path / "proj")) == (141, "")


def test_long_output_read_in_part_exits_141_quietly(tmp_path):
    """A reader that takes the first bytes and closes, while the command still writes."""
    code = ("import sys; from napari_specimask.cli import main, _project\n"
            "def many(args):\n"
            "    for i in range(200_000): print(f'row {i}')\n"
            "_project.cmd_status = many\n"
            "sys.exit(main(['status', 'x']))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b"row 0\nrow "
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert (proc.wait(timeout=120), err) == (141, "")


def _headless(tmp_path) -> dict:
    """An environment where `import napari` fails as it does when napari is not installed."""
    fake = tmp_path / "no-napari" / "napari"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'napari'\", name='napari')\n")
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def test_gui_and_demo_without_napari_say_how_to_install(tmp_path):
    env = _headless(tmp_path)
    wanted = ('specimask: error: napari is not installed; install the GUI with '
              '`pip install "napari-specimask[all]"`')
    for args in (["gui"], ["demo", "--out", str(tmp_path / "demo"), "--small"]):
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=120)
        assert (result.returncode, result.stderr.strip()) == (1, wanted), result.stderr
    assert not (tmp_path / "demo").exists()  # refused before the project was made
