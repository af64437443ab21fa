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


HEAVY = ("torch", "lightning", "albumentations", "segmentation_models_pytorch")


def _loaded_after(import_code: str, watched: tuple[str, ...]) -> list[str]:
    """The top-level packages of ``watched`` that a fresh interpreter has loaded after
    running ``import_code``."""
    code = (f"import sys\n{import_code}\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({watched!r})))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def _import_all(packages: tuple[str, ...]) -> str:
    return ("import importlib, pkgutil\n"
            f"for name in {packages!r}:\n"
            "    pkg = importlib.import_module(name)\n"
            "    for m in pkgutil.walk_packages(getattr(pkg, '__path__', []), name + '.'):\n"
            "        importlib.import_module(m.name)\n")


def test_core_import_loads_no_gui_module():
    assert _loaded_after(_import_all(("napari_specimask.core",)), GUI_MODULES) == []


CORE = ROOT / "napari_specimask" / "core"
BASICS = {"errors", "progress", "settings", "vocabulary"}
# What each subpackage of core may import besides the basics: the pipeline's direction.
MAY_IMPORT = {
    "io": set(),
    "store": {"io"},
    "masks": {"io"},
    "exchange": {"io", "store", "masks"},
    "collections": {"io", "store", "masks", "exchange"},
    "model": {"io", "store"},
    "inference": {"io", "store", "masks", "model"},
    "training": {"io", "store", "masks", "model", "inference"},
    "active": {"io", "store", "masks", "model", "inference", "exchange"},
    "loop": {"io", "store", "masks", "model", "inference", "exchange", "training", "active",
             "collections"},
}
TORCH_FREE = ("io", "store", "masks", "exchange", "collections")


def _core_imports(core: Path, path: Path) -> set[str]:
    """The core modules ``path`` imports (statically, lazy imports included), as dotted
    names relative to core (``store.project``, ``errors``); ``..`` for the package root."""
    package = path.relative_to(core).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        if node.level - 1 > len(package):
            found.add("..")
            continue
        target = list(package[: len(package) - (node.level - 1)])
        target += node.module.split(".") if node.module else []
        found |= {".".join(target + ([a.name] if not node.module else [])) for a in node.names}
    return found


def _direction_offenders(core: Path) -> list[str]:
    offenders = []
    for path in sorted(core.rglob("*.py")):
        rel = path.relative_to(core)
        own = rel.parts[0] if len(rel.parts) > 1 else None
        for target in _core_imports(core, path):
            top = target.split(".")[0]
            if target == ".." or top in BASICS or top == own:
                continue
            if own is None and top == "io":  # settings: atomic writes, the pixel limit
                continue
            if own is None or top not in MAY_IMPORT[own]:
                offenders.append(f"{rel}: imports {target}")
    return offenders


def test_core_subpackages_import_only_in_the_pipeline_direction():
    assert {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()} == set(MAY_IMPORT)
    assert _direction_offenders(CORE) == []


def test_direction_check_sees_a_forbidden_import(tmp_path):
    """The check must be able to fail: a store module importing training, lazily, is seen."""
    bad = tmp_path / "core" / "store" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from . import db\n\ndef f():\n    from ..training.fit import train\n")
    assert _direction_offenders(tmp_path / "core") == ["store/bad.py: imports training.fit"]


def test_light_subpackages_load_without_torch():
    """io, store, masks, exchange and collections serve `specimask status`, import and
    export on machines where importing torch takes seconds: none of them may load it."""
    packages = tuple(f"napari_specimask.core.{m}" for m in (*TORCH_FREE, *sorted(BASICS)))
    assert _loaded_after(_import_all(packages), HEAVY) == []


def test_command_line_starts_without_the_deep_learning_stack():
    """`specimask status` and `--help` must not wait for torch / Lightning (seconds on a
    laptop, far more on a cluster file system): those load when a command needs them."""
    assert _loaded_after("import napari_specimask.cli as cli\ncli.build_parser()", HEAVY) == []


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
