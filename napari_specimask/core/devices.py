"""This process's share of a prediction or scoring run over several devices or nodes.

Lightning's Fabric starts and joins the processes, exactly as ``specimask train`` does
through its Trainer: with ``--devices N`` it runs the same command once per extra local
device, under SLURM (``srun``) or torchrun each task is one rank already, and two
machines meet through MASTER_ADDR, MASTER_PORT, NODE_RANK and WORLD_SIZE. There is no
launcher of our own.

Work is shared by whole batches, dealt round-robin: rank r takes batches r, r + N, ...
of the batches a one-process run makes, so every image is predicted once, in a batch of
the same images as in one process, and the outputs are the same bytes. Rank zero alone
writes what is shared (the manifest, the score cache); the others send it what they
made (``gather``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SpecimaskError

if TYPE_CHECKING:  # torch is loaded by the runs that use ranks, not by importing this
    import torch

SCRIPT_STRATEGIES = ("auto", "ddp")  # the ones whose ranks each run the command line
# what gloo's plain RuntimeErrors say when the other end of a connection is gone
PEER_GONE = ("Connection reset by peer", "Connection closed by peer", "Broken pipe",
             "Connection refused", "Socket closed", "Timed out", "timed out")


@dataclass
class Ranks:
    """Where this process stands in a run: rank ``rank`` of ``world``, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device | None = None
    fabric: Any = None  # lightning.fabric.Fabric when world > 1

    @property
    def is_zero(self) -> bool:
        return self.rank == 0

    def share(self, batches: Sequence[list[int]]) -> list[list[int]]:
        """This rank's batches of ``batches`` (all of them in one process)."""
        return list(batches[self.rank :: self.world])

    def barrier(self) -> None:
        if self.world > 1:
            with self._together():
                self.fabric.barrier()

    def broadcast(self, obj):
        """Rank zero's ``obj`` on every rank."""
        if self.world == 1:
            return obj
        with self._together():
            return self.fabric.broadcast(obj, src=0)

    def gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if self.world == 1:
            return [obj]
        import torch.distributed

        out: list = [None] * self.world
        with self._together():
            torch.distributed.all_gather_object(out, obj)
        return out

    def any(self, flag: bool) -> bool:
        """True on every rank if it is true on any."""
        return any(self.gather(bool(flag)))

    @contextlib.contextmanager
    def _together(self):
        """A rank that died (killed, its node lost) fails the others' next exchange with
        the backend's error ("Connection reset by peer"): said as what happened and what
        to do, since every output written so far is whole and a rerun resumes. Other
        errors (out of memory, a bug) pass as they are."""
        import torch.distributed

        try:
            yield
        except RuntimeError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            lost = isinstance(exc, torch.distributed.DistError) or any(
                words in text for words in PEER_GONE)
            if not lost:
                raise
            reason = re.sub(r"^\[[^\]]*\]\s*", "", text)[:120] or type(exc).__name__
            raise LostRank(f"rank {self.rank} of {self.world}: another process of this run "
                           f"stopped or cannot be reached ({reason}); what was written is "
                           "whole: run the same command again to finish the rest") from exc


class LostRank(SpecimaskError):
    """Another process of a run over several devices or nodes is gone."""


def one_process(device: torch.device | None = None) -> Ranks:
    return Ranks(device=device)


def single(devices: str | int, num_nodes: int) -> bool:
    """Whether the options ask for one process only (then Lightning is not started)."""
    return str(devices) in ("1", "cpu") and int(num_nodes) == 1


def join(devices: str | int = 1, strategy: str = "auto", num_nodes: int = 1) -> Ranks:
    """Start or join the run's processes through Fabric and say which rank this is.

    ``devices`` is what ``--devices`` takes (a count, "auto", or GPU ids like 0,1).
    """
    if single(devices, num_nodes):
        return one_process()
    if strategy not in SCRIPT_STRATEGIES:
        raise SpecimaskError(f"--strategy {strategy}: prediction and scoring run with "
                             f"{' or '.join(SCRIPT_STRATEGIES)} (each rank runs the command)")
    from lightning.fabric import Fabric

    fabric = Fabric(accelerator="auto", devices=parse_devices(devices), num_nodes=int(num_nodes),
                    strategy=strategy, precision="32-true")
    fabric.launch()
    return Ranks(fabric.global_rank, fabric.world_size, fabric.device, fabric)


def parse_devices(value: str | int):
    """What ``--devices`` says, as Lightning takes it."""
    text = str(value)
    if text == "auto":
        return "auto"
    if "," in text:
        return [int(v) for v in text.split(",") if v.strip()]
    try:
        return int(text)
    except ValueError:
        raise SpecimaskError(f"--devices {value}: give a count, auto, or GPU ids like "
                             "0,1") from None
