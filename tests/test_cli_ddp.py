"""`specimask train/predict/score --strategy ddp` on the CPU (gloo): one run, one version,
whatever the ranks; each image predicted and scored once, the same bytes as one process.

Each test starts real processes, as a person (or SLURM) would: two local ranks through
Lightning's launcher (`--devices 2`, it runs the command again for rank 1), and two
"nodes" of one process each on 127.0.0.1 set up through Lightning's environment
variables. Every process has a timeout and its whole process group is killed at the end,
so a hung collective fails the test instead of hanging CI.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.atomic import TMP_MARK
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import active_version, list_models
from napari_specimask.core.store.verdicts import GATE_KEY

SMALL = ["--img-size", "64", "--epochs", "1", "--max-steps", "2", "--encoder", "resnet18",
         "--encoder-weights", "none", "--batch-size", "2", "--samples-per-epoch", "8",
         "--val-fraction", "0.35"]
TIMEOUT = 240  # seconds per process; a run here takes 20-60 s on two CPU cores
N_VAL = 3      # round(0.35 * 8): an odd count, so the sampler repeats one for rank 1


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """8 pool images with verified masks and no validation images: the run holds out 3."""
    root = tmp_path_factory.mktemp("ddp") / "proj"
    project = run(create_demo_project(root, n_herbarium=6, n_plankton=6))
    for rec in project.images(role="pool"):
        project.save_mask(rec.id, read_mask(root / "truth" / f"{rec.name}.png"), "hand")
    project.set_role([r.id for r in project.images(role="val")], "test")
    project.close()
    return root


@pytest.fixture
def proj(labelled, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(labelled, root)
    return root


DISTRIBUTED = ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "RANK", "WORLD_SIZE",
               "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")


def cpu_env(**extra) -> dict:
    """CPU only (gloo) on any machine, one thread per process on a shared CPU, and no
    cluster around it (CI inside a SLURM job, say) for Lightning to detect."""
    env = {k: v for k, v in os.environ.items()
           if k not in DISTRIBUTED and not k.startswith("SLURM_")}
    return {**env, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", **extra}


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "napari_specimask", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group: the ranks it starts too


def finish(proc: subprocess.Popen, timeout: float = TIMEOUT) -> tuple[int, str, str]:
    """Exit status, stdout, stderr; reading to the end waits for the ranks Lightning
    started too (they hold the same pipes)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{err[-3000:]}")
    return proc.returncode, out, err


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_two_nodes(args: list[str], env1: dict | None = None) -> list[tuple[int, str, str]]:
    """``args`` as two 'nodes' of one process each on 127.0.0.1, started at once as srun
    or a scheduler would, through Lightning's environment variables (``env1``: more for
    node 1); each one's exit status, stdout and stderr."""
    port = free_port()
    procs = [start(args, cpu_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                                 NODE_RANK=str(rank), WORLD_SIZE="2",
                                 **((env1 or {}) if rank == 1 else {})))
             for rank in (0, 1)]
    try:
        return [finish(p) for p in procs]
    finally:
        for p in procs:
            kill_group(p)


def one_process_val_dice(root, version: str) -> float:
    """Val Dice of the registered weights over the val images, in one process."""
    import lightning as L

    from napari_specimask.core.model.weights import load_model
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.module import (
        ProjectDataModule,
        SegModule,
        quiet_lightning,
    )

    quiet_lightning()
    with Project.open(root) as project:
        model, config, _ = load_model(project, version)
        cfg = TrainConfig.from_settings(project.settings, img_size=config.img_size,
                                        batch_size=2, encoder_weights="none")
        trainer = L.Trainer(accelerator="cpu", devices=1, logger=False,
                            enable_progress_bar=False, enable_model_summary=False)
        module = SegModule(model, cfg.loss, cfg.lr, 1, channels_last=False)
        (out,) = trainer.validate(module, datamodule=ProjectDataModule(project, cfg),
                                  verbose=False)
    return out["val_dice"]


def check_one_version(root, out: str) -> dict:
    """Exactly one version, ready, judged and activated once, with its val Dice, its
    validation images held out once and its metrics.csv written by one process."""
    assert out.count("model v001 (ready)") == 1 and "v002" not in out, out
    assert out.count("held out 3 verified image(s)") == 1, out
    assert out.count("v001 now active") == 1, out
    with Project.open(root) as project:
        (model,) = list_models(project)
        assert active_version(project) == "v001"
        assert len(project.images(role="val")) == N_VAL
    m = model["metrics"]
    assert model["status"] == "ready" and m["n_val"] == N_VAL and m["steps"] == 2
    assert m["best_val_dice"] is not None and m[GATE_KEY]["images"] == N_VAL
    assert sorted(p.name for p in (root / "models").iterdir() if p.is_dir()) == ["v001"]
    with open(root / "models" / "v001" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    steps = [r["step"] for r in rows if r.get("train_loss_step")]
    assert sorted(steps, key=int) == ["0", "1"], rows  # each step logged once, not per rank
    assert any(r.get("val_dice") for r in rows)
    assert json.loads((root / "models" / "v001" / "metrics.json").read_text()) == m
    return m


def test_two_local_ranks_register_one_version(proj):
    proc = start(["train", str(proj), "--devices", "2", "--strategy", "ddp", *SMALL,
                  "--activate", "yes"], cpu_env())
    try:
        rc, out, err = finish(proc)
    finally:
        kill_group(proc)
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    m = check_one_version(proj, out)
    # reduced over all val images, each once: what one process measures on the weights
    assert m["best_val_dice"] == pytest.approx(one_process_val_dice(proj, "v001"), abs=1e-6)


def test_two_nodes_on_loopback_register_one_version(proj):
    """Two 'nodes' of one process each, started at once as srun or a scheduler would:
    rank 1 reads nothing from the store; it trains on what rank 0 broadcasts."""
    (rc0, out0, err0), (rc1, out1, err1) = on_two_nodes(
        ["train", str(proj), "--num-nodes", "2", "--devices", "1", "--strategy", "ddp",
         *SMALL, "--activate", "yes"])
    assert rc0 == 0 and rc1 == 0, err0[-2000:] + err1[-2000:]
    assert "Traceback" not in err0 + err1, err0[-2000:] + err1[-2000:]
    assert out1 == "", out1  # rank 1 reports nothing: rank 0 does, once
    m = check_one_version(proj, out0)
    assert m["best_val_dice"] == pytest.approx(one_process_val_dice(proj, "v001"), abs=1e-6)


def test_sigterm_to_rank_zero_stops_every_rank_and_keeps_a_stopped_version(proj):
    """A time limit or a pre-emption (SIGTERM), here to rank 0 only: all ranks stop at
    the same step (the stop is reduced across them), the model so far is kept as one
    stopped version, nothing is activated, and the command exits 0."""
    args = ["train", str(proj), "--devices", "2", "--strategy", "ddp", *SMALL,
            "--epochs", "500", "--max-steps", "-1", "--patience", "0"]
    proc = start(args, cpu_env())
    weights = proj / "models" / "v001" / "weights.safetensors"
    try:
        deadline = time.monotonic() + TIMEOUT
        while not weights.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # written after the first validation
        assert weights.exists(), proc.poll()
        proc.send_signal(signal.SIGTERM)
        rc, out, err = finish(proc)
    finally:
        kill_group(proc)
    assert rc == 0, err[-3000:]
    assert "model v001 (stopped)" in out and "v001 stopped: not activated" in out, out
    with Project.open(proj) as project:
        (model,) = list_models(project)
        assert active_version(project) is None
    assert model["status"] == "stopped" and model["metrics"]["stopped"]
    assert model["metrics"]["best_val_dice"] is not None
    assert 2 <= model["metrics"]["steps"] < 1000


# --- prediction and scoring across ranks ------------------------------------------------

PREDICT = ["--batch-size", "2", "--tta", "2", "--workers", "1", "--maps", "full"]


@pytest.fixture(scope="module")
def predicting(tmp_path_factory):
    """A project of 9 demo images (an odd count: the ranks' shares differ) whose active
    model is a random Unet/resnet18 at 64 px (probabilities near 0.5 everywhere, so a
    rounding difference would flip mask pixels), and a one-process run's outputs."""
    from dataclasses import asdict

    import torch

    from napari_specimask.core.model.factory import create_model
    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.store.registry import activate, finish_version, new_version

    root = tmp_path_factory.mktemp("ddp_predict") / "proj"
    project = run(create_demo_project(root, n_herbarium=5, n_plankton=4))
    torch.manual_seed(0)
    config = ModelConfig(encoder="resnet18", img_size=64)
    version = new_version(project, None, 0, [], asdict(config))
    save_weights(root / "models" / version,
                 create_model("unet", "resnet18", None).state_dict(), config)
    finish_version(project, version, "ready", {})
    activate(project, version)
    n_images = len(project.images())
    project.close()
    reference = root.parent / "one"
    rc, out, err = finish(start(["predict", str(root), "--out", str(reference), *PREDICT],
                                cpu_env()))
    assert rc == 0, err[-3000:]
    return root, n_images, output_files(reference)


def output_files(out) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def check_same_outputs(out, n_images: int, reference: dict, stdout: str) -> None:
    """Every image's mask and maps, byte for byte those of one process; the run reported
    once, by rank zero, with every image counted once; the manifest says complete."""
    assert output_files(out) == reference
    assert len(reference) == 3 * n_images  # mask, probability, uncertainty
    assert stdout.count("wrote ") == 1 and f"wrote {n_images} mask(s)" in stdout, stdout
    assert "on 2 processes" in stdout, stdout
    manifest = json.loads((out / ".specimask-predict.json").read_text())
    assert manifest["complete"] and manifest["masks"] == n_images


def test_predict_on_two_local_ranks_writes_one_process_bytes(predicting, tmp_path):
    root, n_images, reference = predicting
    out = tmp_path / "ddp"
    proc = start(["predict", str(root), "--out", str(out), *PREDICT, "--devices", "2",
                  "--strategy", "ddp"], cpu_env())
    try:
        rc, stdout, err = finish(proc)
    finally:
        kill_group(proc)
    assert rc == 0 and "Traceback" not in err, err[-3000:]
    check_same_outputs(out, n_images, reference, stdout)


def test_predict_on_two_nodes_resumes_a_one_process_run(predicting, tmp_path):
    """Two 'nodes' on 127.0.0.1 finish what a one-process run left (its outputs of three
    images deleted): only those are predicted, and the folder ends as one run's."""
    root, n_images, reference = predicting
    out = tmp_path / "nodes"
    shutil.copytree(root.parent / "one", out)
    gone = sorted(p for p in out.glob("*.png"))[:3]
    for mask in gone:
        mask.unlink()
    (rc0, out0, err0), (rc1, out1, err1) = on_two_nodes(
        ["predict", str(root), "--out", str(out), *PREDICT, "--num-nodes", "2",
         "--devices", "1", "--strategy", "ddp"])
    assert rc0 == 0 and rc1 == 0, err0[-2000:] + err1[-2000:]
    assert out1 == "", out1
    assert output_files(out) == reference
    assert f"wrote 3 mask(s) and probability and uncertainty map(s) to {out} " \
           f"({n_images - 3} already there); skipped 0 on 2 processes" in out0, out0


def test_predict_on_two_ranks_killed_mid_run_then_rerun_gives_one_process_bytes(
        predicting, tmp_path):
    """Every rank SIGKILLs itself at its second written image (a node lost, a kill -9):
    what is in the folder is whole, and the same DDP command run again finishes it with
    the bytes of one uninterrupted process and no temp file left."""
    root, n_images, reference = predicting
    out = tmp_path / "killed"
    args = ["predict", str(root), "--out", str(out), *PREDICT, "--devices", "2",
            "--strategy", "ddp"]
    proc = start(args, cpu_env(SPECIMASK_KILL_AT="predict.written:2"))
    try:  # rank zero killed itself, or stopped on finding rank one gone (it may go first)
        rc = proc.wait(TIMEOUT)
    finally:
        kill_group(proc)  # a rank still waiting for the dead one
        _, err = proc.communicate()
    assert rc == -signal.SIGKILL or (rc == 1 and LOST in err), err[-3000:]
    left = sorted(out.glob("*.png"))
    assert 0 < len(left) < n_images
    for path in out.rglob("*.png"):  # masks and maps: whole, as the finished run's
        if not path.name.startswith(TMP_MARK):
            assert path.read_bytes() == reference[path.relative_to(out).as_posix()]
    # done: an image with every output (a rank may die between its mask and its map)
    folders = {Path(name).parent for name in reference}
    done = [p for p in left if all((out / f / p.name).exists() for f in folders)]
    rc, stdout, err = finish(start(args, cpu_env()))
    assert rc == 0 and "Traceback" not in err, err[-3000:]
    assert output_files(out) == reference
    assert f"({len(done)} already there)" in stdout, stdout
    assert not list(out.rglob(f"{TMP_MARK}*"))


LOST = "another process of this run stopped or cannot be reached"


def test_a_node_lost_mid_run_stops_the_other_with_what_to_do(predicting, tmp_path):
    """Node 1 is killed at its first written image: node 0 does not hang or print a
    traceback; it says a process is gone and that a rerun finishes, and one does."""
    root, n_images, reference = predicting
    out = tmp_path / "lost"
    args = ["predict", str(root), "--out", str(out), *PREDICT, "--num-nodes", "2",
            "--devices", "1", "--strategy", "ddp"]
    (rc0, _, err0), (rc1, _, _) = on_two_nodes(
        args, env1={"SPECIMASK_KILL_AT": "predict.written:1"})
    assert rc1 == -signal.SIGKILL
    assert rc0 == 1 and f"rank 0 of 2: {LOST}" in err0, err0[-3000:]
    assert "Traceback" not in err0 and "run the same command again" in err0
    rc, stdout, err = finish(start(["predict", str(root), "--out", str(out), *PREDICT],
                                   cpu_env()))  # finished in one process, here
    assert rc == 0, err[-3000:]
    assert output_files(out) == reference and "already there" in stdout


def test_score_on_two_local_ranks_stores_one_process_scores(predicting, tmp_path):
    """Each pool image scored once across the ranks, stored by rank zero: the scores
    one process computes (the same batches), to the last bit."""
    root, _, _ = predicting
    one, two = tmp_path / "one", tmp_path / "two"
    for dest in (one, two):
        shutil.copytree(root, dest)
    score = ["--tta", "4", "--json"]
    results = []
    for dest, extra in ((one, []), (two, ["--devices", "2", "--strategy", "ddp"])):
        proc = start(["score", str(dest), *score, *extra], cpu_env())
        try:
            rc, stdout, err = finish(proc)
        finally:
            kill_group(proc)
        assert rc == 0 and "Traceback" not in err, err[-3000:]
        assert stdout.count("model_version") == 1, stdout  # reported once
        results.append(json.loads(stdout))
    (a, b) = results
    assert a["computed"] == b["computed"] == len(a["images"]) > 2
    assert (a["processes"], b["processes"]) == (1, 2)
    assert b["images"] == a["images"]  # same ids, paths and float scores
    with Project.open(two) as project:
        stored = project.store.read("SELECT image_id, score FROM scores ORDER BY image_id")
    assert len(stored) == a["computed"]
