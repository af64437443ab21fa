"""docs/development.md is the map a successor reads: it names every module of core and
of the experiments, and every dotted name it cites (``store.registry.activate``,
``Project.save_mask``) exists in the code, as the recipe tests do for commands."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "napari_specimask"
DOC = ROOT / "docs" / "development.md"
DOTTED = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`")
FILE_ENDINGS = {"toml", "md", "py", "json", "yaml", "yml", "csv", "png", "jpg", "tif",
                "db", "sh", "txt", "log", "safetensors", "ckpt", "cfg"}
ALIASES = {"np": "numpy", "ndi": "scipy", "plt": "matplotlib"}


def _modules(package: Path) -> dict[str, Path]:
    """Dotted name (from the package root, ``core.store.masks``) -> file."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _names(tree: ast.AST) -> dict[str, ast.AST | None]:
    """The names a module or class body defines (functions, classes, assignments,
    imports); a class maps to its node, so its own names can be looked up."""
    names: dict[str, ast.AST | None] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        names[name.id] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(a.asname or a.name).split(".")[0]: None for a in node.names})
    return names


def unresolved(doc: str, package: Path) -> list[str]:
    """The dotted names in backticks that name nothing in ``package`` (names of other
    libraries, ``torch.distributed``, pass when they import)."""
    modules = _modules(package)
    trees = {name: ast.parse(path.read_text()) for name, path in modules.items()}
    classes = {n: node for tree in trees.values() for n, node in _names(tree).items()
               if isinstance(node, ast.ClassDef)}
    missing = []
    for token in sorted(set(DOTTED.findall(doc))):
        parts = token.split(".")
        if parts[-1] in FILE_ENDINGS:
            continue  # a file name (`specimask.toml`)
        scope = None
        for k in range(len(parts), 0, -1):  # the longest leading run that is a module
            head = ".".join(parts[:k])
            match = [m for m in modules if m == head or m.endswith("." + head)]
            if match:
                scope, rest = trees[match[0]], parts[k:]
                break
        if scope is None and parts[0] in classes:
            scope, rest = classes[parts[0]], parts[1:]
        if scope is None:
            if importlib.util.find_spec(ALIASES.get(parts[0], parts[0])) is None:
                missing.append(token)
            continue
        for name in rest:
            names = _names(scope)
            if name not in names:
                missing.append(token)
                break
            scope = names[name]
            if scope is None:
                break  # a function or a value: what it holds is not looked into
    return missing


def unnamed_modules(doc: str, package: Path) -> list[str]:
    return [name for name, path in sorted(_modules(package).items())
            if name.split(".")[0] in ("core", "sim") and path.stem != "__init__"
            and f"`{path.stem}`" not in doc]


def test_development_md_names_every_module_of_core_and_sim():
    assert unnamed_modules(DOC.read_text(), PACKAGE) == []


def test_every_dotted_name_development_md_cites_exists():
    assert unresolved(DOC.read_text(), PACKAGE) == []


def test_the_checks_see_a_missing_module_and_a_name_that_is_gone(tmp_path):
    """Both checks must be able to fail: a module the doc does not name, a method cited
    that the code no longer has (the doc once cited ``Comparison.should_activate``)."""
    pkg = tmp_path / "napari_specimask"
    (pkg / "core" / "loop").mkdir(parents=True)
    (pkg / "core" / "loop" / "gate.py").write_text(
        "class Comparison:\n    def verdict(self):\n        pass\n")
    (pkg / "core" / "loop" / "rounds.py").write_text("def run_round():\n    pass\n")
    doc = "`gate`: `Comparison.should_activate`, `loop.gate.Comparison.verdict`, `np.clip`"
    assert unnamed_modules(doc, pkg) == ["core.loop.rounds"]
    assert unresolved(doc, pkg) == ["Comparison.should_activate"]
    assert unresolved("`loop.rounds.run_round` `gate.Missing`", pkg) == ["gate.Missing"]
