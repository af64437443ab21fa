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
BASICS = {"devices", "errors", "faults", "options", "progress", "settings", "vocabulary"}
# What each subpackage of core may import besides the basics: the pipeline's direction.
MAY_IMPORT = {
    "io": set(),
    "store": {"io"},
    "masks": {"io"},
    "coldstart": {"io", "store", "masks"},
    "exchange": {"io", "store", "masks", "coldstart"},
    "datasets": {"io"},
    "sampling": {"io"},
    "demo": {"io", "store", "masks", "coldstart", "exchange"},
    "model": {"io", "store"},
    "inference": {"io", "store", "masks", "model"},
    "training": {"io", "store", "masks", "model", "inference"},
    "active": {"io", "store", "masks", "coldstart", "model", "inference", "exchange"},
    "loop": {"io", "store", "masks", "coldstart", "model", "inference", "exchange",
             "training", "active"},
}
TORCH_FREE = ("io", "store", "masks", "coldstart", "exchange", "datasets", "sampling", "demo")


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


def _absolute_imports(path: Path, root: Path) -> set[str]:
    """The modules ``path`` (inside package ``root``) imports, as absolute dotted names."""
    package = (root.name, *path.relative_to(root).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - (node.level - 1)]) if node.level else []
            found.add(".".join(base + ([node.module] if node.module else [])))
    return found


def _experiment_users(root: Path) -> list[str]:
    """Modules of the product that import the experiments (``sim``); only the
    ``specimask simulate`` command may."""
    users = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] == "sim" or rel.as_posix() == "cli/_active.py":
            continue
        if any(m == f"{root.name}.sim" or m.startswith(f"{root.name}.sim.")
               for m in _absolute_imports(path, root)):
            users.append(rel.as_posix())
    return users


def test_the_experiments_stay_outside_the_product():
    assert _experiment_users(ROOT / "napari_specimask") == []


def test_experiment_check_sees_core_importing_them(tmp_path):
    root = tmp_path / "napari_specimask"
    (root / "core" / "loop").mkdir(parents=True)
    (root / "core" / "loop" / "a.py").write_text("from ...sim.annotator import x\n")
    (root / "core" / "loop" / "b.py").write_text("import napari_specimask.sim\n")
    (root / "core" / "loop" / "c.py").write_text("from ..masks import metrics\n")
    assert _experiment_users(root) == ["core/loop/a.py", "core/loop/b.py"]


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
    import npe2
    pm = npe2.PluginManifest.from_distribution("napari-specimask")
    assert pm.name == "napari-specimask"
    assert {s.key for s in pm.contributions.sample_data} == {"herbarium", "plankton"}
    result = subprocess.run([sys.executable, "-m", "npe2", "validate", "napari-specimask"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_is_one_plain_file_inside_the_package():
    manifest = ROOT / "napari_specimask" / "napari.yaml"
    assert manifest.is_file() and not manifest.is_symlink()
    assert not (ROOT / "napari.yaml").exists()


def test_the_version_is_written_once():
    """pyproject.toml reads it from the package (napari-animation's way: one source)."""
    from importlib import metadata

    import napari_specimask

    project = _pyproject()["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "napari_specimask.__version__"}
    assert metadata.version("napari-specimask") == napari_specimask.__version__


def test_wheel_carries_manifest_and_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("napari_specimask-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "napari_specimask/napari.yaml" in names
        assert zf.read("napari_specimask/napari.yaml") == (ROOT / "napari_specimask" / "napari.yaml").read_bytes()
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


# -- dependencies and the Python floor (issue 10: pyproject says what the code needs) ----

def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _catches_import_error(node: ast.Try) -> bool:
    names = []
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names += [getattr(k, "id", None) for k in kinds]
    return bool({"ImportError", "ModuleNotFoundError", "Exception"} & set(names))


def _third_party_imports(folder: Path) -> tuple[dict[str, str], set[str]]:
    """Top-level modules imported by the files under ``folder`` that are not stdlib nor
    ours: {module: first file} for required ones, and the set of optional ones (imported
    inside a ``try`` that catches ImportError)."""
    required, optional = {}, set()
    local = {p.stem for p in folder.rglob("*.py")}  # helpers a test imports by its name
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text())
        guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)
                   and _catches_import_error(t) for n in ast.walk(t)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names):
                if top in ("napari_specimask", "tests") or top in local:
                    continue
                if id(node) in guarded:
                    optional.add(top)
                else:
                    required.setdefault(top, str(path.relative_to(ROOT)))
    return required, optional


def _installed_closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements bring in, transitively, as installed here."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [(r, {""}) for r in requirements]
    while todo:
        text, extras = todo.pop()
        req = Requirement(text)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [(r, set(req.extras) | {""}) for r in requires]
    return {name for name, _ in seen}


def _named(requirements: list[str]) -> set[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _undeclared(required: dict[str, str], requirements: list[str],
                directly: bool = False) -> list[str]:
    """Imports whose distribution the requirements do not bring in (``directly``: do
    not name themselves; a package that only comes with napari may leave with it)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    provided = _named(requirements) if directly else _installed_closure(requirements)
    owners = metadata.packages_distributions()
    return [f"{file}: {top}" for top, file in sorted(required.items())
            if not {canonicalize_name(d) for d in owners.get(top, [])} & provided]


def _unused(requirements: list[str], *needs: dict[str, str]) -> list[str]:
    """Declared distributions that no listed import comes from."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    owners = metadata.packages_distributions()
    used = {canonicalize_name(d) for need in needs for top in need
            for d in owners.get(top, [])}
    return sorted(_named(requirements) - used)


def test_dependencies_cover_every_import_and_headless_installs_stay_small():
    """Core's imports come with the plain install; the GUI's with [all]; the tests' with
    [all,test] (what scripts/setup.sh --test installs). napari's plugin machinery (npe2),
    pycocotools (the coco extra) and the unused imageio stay out of the plain install."""
    project = _pyproject()["project"]
    base, extras = project["dependencies"], project["optional-dependencies"]
    names = {r.split(";")[0].split(">")[0].split("[")[0].strip() for r in base}
    assert not names & {"npe2", "napari", "pycocotools", "imageio", "PyQt6", "PyQt5"}
    for extra in ("all", "test"):
        assert {"npe2>=0.7", "pycocotools>=2.0.7"} <= set(extras[extra])
    assert extras["coco"] == ["pycocotools>=2.0.7"]
    core_needs, core_optional = _third_party_imports(ROOT / "napari_specimask" / "core")
    assert _undeclared(core_needs, base) == []
    assert "pycocotools" in core_optional and "imageio" not in core_needs
    gui_needs, gui_optional = _third_party_imports(ROOT / "napari_specimask")
    assert _undeclared(gui_needs, base + extras["all"], directly=True) == []
    test_needs, _ = _third_party_imports(ROOT / "tests")
    assert _undeclared(test_needs, base + extras["all"] + extras["test"]) == []
    assert "napari[pyqt6]>=0.5" in extras["test"]  # GUI tests fail, not skip, without it
    # every declared package is imported (tomli on 3.10 only; npe2 reads the manifest;
    # the rest run as plugins or loggers)
    runtime_only = {"tomli", "npe2", "tensorboard", "wandb", "pytest-qt", "pytest-xvfb", "pytest"}
    assert [n for n in _unused(base + extras["all"], gui_needs,
                               {m: "" for m in gui_optional}) if n not in runtime_only] == []


def test_unused_check_sees_a_declared_package_nothing_imports():
    assert _unused(["numpy>=1", "torchvision>=0.16"], {"numpy": "core/x.py"}) == [
        "torchvision"]


def _python_310() -> str | None:
    """A working Python 3.10 interpreter (pyenv's, or one on PATH), if there is one."""
    import glob
    import shutil

    candidates = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.10*/bin/python3.10")))
    candidates += [shutil.which("python3.10") or ""]
    for python in filter(None, candidates):
        check = subprocess.run([python, "-c", "import sys; assert sys.version_info[:2] == "
                                "(3, 10)"], capture_output=True)
        if check.returncode == 0:
            return python
    return None


def test_python_310_floor_is_kept():
    """pyproject says >=3.10 while CI runs 3.11, so the floor is checked here: the floor
    is the same in pyproject, ruff and setup.sh; tomllib (3.11+) always has the tomli
    fallback, which pyproject declares for 3.10; and where a Python 3.10 is installed
    (pyenv has one on the project's machines), every source file compiles under it."""
    data = _pyproject()
    assert data["project"]["requires-python"] == ">=3.10"
    assert data["tool"]["ruff"]["target-version"] == "py310"
    assert "sys.version_info < (3, 10)" in (ROOT / "scripts" / "setup.sh").read_text()
    assert "tomli>=1.1; python_version < '3.11'" in data["project"]["dependencies"]
    sources = [p for d in ("napari_specimask", "tests", "benchmarks", "scripts")
               for p in sorted((ROOT / d).rglob("*.py"))]
    unguarded = []
    for path in sources:
        tree = ast.parse(path.read_text())
        fallback = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)
                    and _catches_import_error(t)
                    and any(isinstance(h, ast.Import) and h.names[0].name == "tomli"
                            for handler in t.handlers for h in handler.body)
                    for n in t.body}
        unguarded += [str(path.relative_to(ROOT)) for node in ast.walk(tree)
                      if isinstance(node, ast.Import) and id(node) not in fallback
                      and any(a.name == "tomllib" for a in node.names)]
    assert unguarded == []
    python310 = _python_310()
    if python310 is None:
        pytest.skip("no Python 3.10 here to compile the sources with")
    code = ("import sys\nfor f in sys.argv[1:]:\n"
            "    compile(open(f, encoding='utf-8').read(), f, 'exec')\nprint('ok')\n")
    result = subprocess.run([python310, "-c", code, *map(str, sources)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_reader_claims_project_folders_and_their_settings_file_only(tmp_path):
    """npe2 offers the specimask reader for a folder (the reader then checks it is a
    project) and for specimask.toml, never for an image or any other file."""
    import npe2
    pm = npe2.PluginManager()
    pm.register(npe2.PluginManifest.from_distribution("napari-specimask"))
    (tmp_path / "sheet.png").write_bytes(b"")
    (tmp_path / "specimask.toml").write_text("")

    def offered(path: Path) -> bool:
        return any(r.plugin_name == "napari-specimask"
                   for r in pm.iter_compatible_readers([str(path)]))

    assert offered(tmp_path) and offered(tmp_path / "specimask.toml")
    assert not offered(tmp_path / "sheet.png")


def test_coco_export_without_pycocotools_names_the_extra(tmp_path, monkeypatch):
    from napari_specimask.core.errors import SpecimaskError
    from napari_specimask.core.exchange.export import export_coco
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.project import Project

    monkeypatch.setitem(sys.modules, "pycocotools", None)  # as if not installed
    with Project.create(tmp_path / "p") as project:
        with pytest.raises(SpecimaskError, match=r'pip install "napari-specimask\[coco\]"'):
            run(export_coco(project, tmp_path / "coco.json"))


def _oversized(core: Path, max_module: int = 300, max_function: int = 60) -> list[str]:
    """Modules of core over ``max_module`` lines and functions (anywhere in the package)
    over ``max_function``: small files with one purpose each."""
    found = []
    for path in sorted(core.parent.rglob("*.py")):
        text = path.read_text()
        if path.is_relative_to(core) and len(text.splitlines()) > max_module:
            found.append(f"{path.relative_to(core.parent)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > max_function:
                    found.append(f"{path.relative_to(core.parent)}:{node.lineno} {node.name}: "
                                 f"{length} lines")
    return found


def test_modules_and_functions_stay_small():
    assert _oversized(CORE) == []


def test_size_check_sees_a_long_function(tmp_path):
    core = tmp_path / "pkg" / "core"
    core.mkdir(parents=True)
    (core / "big.py").write_text("def f():\n" + "    x = 1\n" * 70)
    assert _oversized(core) == ["core/big.py:1 f: 71 lines"]


@pytest.mark.parametrize("ci", [True, False])
def test_gui_tests_fail_under_ci_without_napari_and_are_left_out_with_a_note_elsewhere(ci):
    import os
    import textwrap

    hide = textwrap.dedent("""
        import sys, pytest
        class NoNapari:  # as on a machine where napari is not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "napari":
                    raise ModuleNotFoundError(f"No module named {name!r}")
        sys.meta_path.insert(0, NoNapari())
        sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider",
                              "tests/gui"]))
        """)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # napari's own pytest plugin imports it
    result = subprocess.run([sys.executable, "-c", hide], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    out = result.stdout + result.stderr
    if ci:
        assert result.returncode != 0 and "the GUI tests need napari" in out
    else:
        assert "tests/gui is left out" in out and "test_jobs.py::" not in out
