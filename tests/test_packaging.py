"""Packaging: the manifest is found and valid, the wheel carries it, core stays headless."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy",
               "superqt")


def test_core_never_imports_gui_code_statically():
    offenders = []
    for path in (ROOT / "napari_specimask" / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in GUI_MODULES]
    assert not offenders


def test_core_import_loads_no_gui_module():
    code = (
        "import sys, importlib, pkgutil, napari_specimask.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module(f'{c.__name__}.{m.name}')\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_command_line_starts_without_the_deep_learning_stack():
    """`specimask status` and `--help` must not wait for torch / Lightning (seconds on a
    laptop, far more on a cluster file system): those load when a command needs them."""
    code = (
        "import sys, napari_specimask.cli as cli\n"
        "cli.build_parser()\n"
        "heavy = sorted(m for m in ('torch', 'lightning', 'albumentations',\n"
        "               'segmentation_models_pytorch') if m in sys.modules)\n"
        "print(heavy); sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_found_through_entry_point_and_valid():
    npe2 = pytest.importorskip("npe2")
    pm = npe2.PluginManifest.from_distribution("napari-specimask")
    assert pm.name == "napari-specimask"
    assert {s.key for s in pm.contributions.sample_data} == {"herbarium", "plankton"}
    result = subprocess.run([sys.executable, "-m", "npe2", "validate", "napari-specimask"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_symlink_points_at_top_level_file():
    link = ROOT / "napari_specimask" / "napari.yaml"
    assert link.is_symlink() and link.resolve() == (ROOT / "napari.yaml").resolve()


def test_wheel_carries_manifest_and_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("napari_specimask-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "napari_specimask/napari.yaml" in names
        assert zf.read("napari_specimask/napari.yaml") == (ROOT / "napari.yaml").read_bytes()
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        text = zf.read(entry).decode()
        assert "[napari.manifest]" in text and "napari_specimask:napari.yaml" in text
        assert "specimask = napari_specimask.cli:main" in text
    # installed from the wheel alone, npe2 finds and validates the manifest
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(target), str(wheel)], check=True)
    code = ("import npe2, napari_specimask, sys; assert str(napari_specimask.__file__)"
            f".startswith({str(target)!r}), napari_specimask.__file__; "
            "pm = npe2.PluginManifest.from_distribution('napari-specimask'); print(pm.name)")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0 and "napari-specimask" in result.stdout, result.stderr


def test_code_passes_ruff():
    """Unused imports, undefined names and friends fail the suite, not a later review."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "napari_specimask", "tests",
                             "benchmarks", "scripts"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
