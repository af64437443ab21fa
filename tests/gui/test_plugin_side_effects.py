"""The plugin shares napari's process with every other plugin: importing it must change
nothing there, and the triton guard and the heap freeze act only where specimask owns
the moment (see napari_specimask/_widgets/_process.py). Each case runs in a fresh
interpreter, since a test process has long since imported torch and made viewers."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

from napari_specimask._widgets import _process  # noqa: E402


def run_python(code: str, timeout: int = 300) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return result.stdout


def test_importing_the_plugin_leaves_the_process_as_it_was():
    out = run_python(
        "import gc, importlib, pkgutil, sys\n"
        "state = lambda: (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold())\n"
        "before = state()\n"
        "import napari_specimask, napari_specimask._widgets, napari_specimask._launch\n"
        "import napari_specimask._reader, napari_specimask._writer\n"
        "assert 'triton' not in sys.modules, 'the plugin package touched triton'\n"
        "import napari_specimask._widgets as w\n"
        "for m in pkgutil.iter_modules(w.__path__, w.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "for name in w.WIDGET_MODULES:\n"
        "    getattr(w, name)\n"
        "import napari_specimask.cli\n"
        "assert state() == before, (before, state())\n"
        "# no OpenGL context, so triton may load for real, but is never marked missing\n"
        "assert sys.modules.get('triton', 'absent') is not None\n"
        "print('unchanged')\n")
    assert "unchanged" in out


def test_train_widget_opened_from_napari_plugins_menu_trains_a_step():
    """The user's path: `napari`, then Plugins > specimask > Train, then torch at work
    (regression: segfault when torch._dynamo imported triton after the OpenGL context
    existed, under Mesa)."""
    out = run_python(
        "import sys\n"
        "import napari\n"
        "from qtpy.QtWidgets import QApplication\n"
        "viewer = napari.Viewer()\n"
        "QApplication.processEvents()\n"
        "from napari_specimask._widgets._process import mesa_llvm_loaded\n"
        "mesa = mesa_llvm_loaded()\n"
        "menu = next(a.menu() for a in viewer.window.plugins_menu.actions()\n"
        "            if a.text() == 'specimask')\n"
        "next(a for a in menu.actions() if a.text() == 'Train').trigger()\n"
        "QApplication.processEvents()\n"
        "(widget,) = [w for n, w in viewer.window.dock_widgets.items()\n"
        "             if n.startswith('Train (')]\n"
        "import lightning, torch, torchvision.ops\n"
        "from napari_specimask.core.model.factory import create_model\n"
        "net = create_model('unet', 'resnet18', encoder_weights=None)\n"
        "net(torch.rand(1, 3, 64, 64)).mean().backward()\n"
        "blocked = sys.modules.get('triton', 'absent') is None\n"
        "assert blocked or not mesa, 'Mesa LLVM loaded, triton not kept out'\n"
        "print(type(widget).__name__, 'stepped')\n"
        "viewer.close()\n")
    assert "TrainWidget stepped" in out


def test_train_widget_docked_after_the_plugin_was_imported_before_any_window():
    """`specimask gui` and the test suite import the widgets' helpers (and torch) before
    napari makes its OpenGL context; docking Train later must still be safe."""
    out = run_python(
        "import napari\n"
        "from napari_specimask._launch import dock_widgets\n"
        "from napari_specimask._widgets._session import session_for\n"
        "viewer = napari.Viewer()\n"
        "_dock, w = viewer.window.add_plugin_dock_widget('napari-specimask', 'Train')\n"
        "import lightning, torchvision.ops\n"
        "print(type(w).__name__); viewer.close()\n")
    assert "TrainWidget" in out


def test_the_launcher_freezes_the_heap_and_docking_alone_does_not(make_napari_viewer,
                                                                    tmp_path):
    import gc

    from napari_specimask._launch import dock_widgets

    frozen = gc.get_freeze_count()
    dock_widgets(make_napari_viewer())
    assert gc.get_freeze_count() <= frozen  # (frozen objects of earlier tests may be freed)
    out = run_python(
        "import gc\n"
        "from napari_specimask._launch import open_gui\n"
        f"open_gui(screenshot={str(tmp_path / 'shot.png')!r})\n"
        "print('frozen', gc.get_freeze_count())\n")
    assert int(out.split("frozen")[-1]) > 100_000


def test_mesa_llvm_is_seen_in_the_memory_map(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libGLX_mesa.so.0\n")
    assert not _process.mesa_llvm_loaded(str(maps))
    maps.write_text("7f00-7f01 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/libLLVM-15.so.1\n")
    assert _process.mesa_llvm_loaded(str(maps))
    assert not _process.mesa_llvm_loaded(str(tmp_path / "no-proc"))  # macOS, Windows


@pytest.mark.parametrize("present, mesa, blocked", [
    ("absent", True, True), ("absent", False, False), ("loaded", True, False)])
def test_triton_is_kept_out_only_when_the_clash_can_happen(monkeypatch, present, mesa,
                                                           blocked):
    monkeypatch.setattr(_process, "mesa_llvm_loaded", lambda: mesa)
    monkeypatch.setitem(sys.modules, "triton", object())  # undone after the test
    if present == "absent":
        monkeypatch.delitem(sys.modules, "triton")
    assert _process.keep_triton_out() is blocked
    assert (sys.modules.get("triton", "absent") is None) is blocked
