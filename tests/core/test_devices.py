"""Which errors of an exchange between ranks mean "another process is gone"."""

from __future__ import annotations

import pytest
import torch

from napari_specimask.core.devices import LostRank, Ranks


class Broken:
    """A Fabric whose exchanges fail with ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def barrier(self):
        raise self.error


def test_a_peer_gone_is_said_with_what_to_do():
    gloo = RuntimeError("[/__w/pytorch/third_party/gloo/transport/tcp/pair.cc:545] Read "
                        "error [127.0.0.1]:3970: Connection reset by peer. This is ...")
    with pytest.raises(LostRank, match=r"^rank 1 of 2: another process of this run stopped"
                       r" or cannot be reached \(Read error \[127.0.0.1\]:3970: Connection"
                       r" reset by peer") as caught:
        Ranks(1, 2, fabric=Broken(gloo)).barrier()
    assert "run the same command again" in str(caught.value)
    assert caught.value.__cause__ is gloo  # the backend's words kept for the log
    with pytest.raises(LostRank):
        Ranks(0, 2, fabric=Broken(torch.distributed.DistBackendError("NCCL error"))).barrier()


def test_other_errors_pass_as_they_are():
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(torch.cuda.OutOfMemoryError):
        Ranks(0, 2, fabric=Broken(oom)).barrier()
    with pytest.raises(RuntimeError, match="Default process group has not been"):
        Ranks(0, 2, fabric=Broken(RuntimeError("Default process group has not been "
                                               "initialized"))).barrier()
    Ranks().barrier()  # one process: nothing to exchange
