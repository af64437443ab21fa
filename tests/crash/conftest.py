"""The crash scenarios live in benchmarks/kill_loop.py (the randomized kill loop runs
them too); a prepared workspace is built once per test session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_kill_loop():
    spec = importlib.util.spec_from_file_location("kill_loop", ROOT / "benchmarks" /
                                                  "kill_loop.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill_loop"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def kill_loop():
    return _load_kill_loop()


@pytest.fixture(scope="session")
def workspace(kill_loop, tmp_path_factory):
    work = tmp_path_factory.mktemp("crash")
    kill_loop.make_workspace(work)
    return work
