"""Val Dice in a distributed run: every val image counted once, as in one process."""

from __future__ import annotations

import torch

from napari_specimask.core.training.module import once_per_image


def test_images_the_sampler_repeated_count_once():
    # 5 val images over 2 ranks: Lightning's DistributedSampler pads to 6, giving rank 0
    # images 0, 2, 4 and rank 1 images 1, 3 and 0 again
    dice = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7])
    rank0 = torch.stack([torch.tensor([0., 2, 4]), dice[[0, 2, 4]], dice[[0, 2, 4]] / 2], 1)
    rank1 = torch.stack([torch.tensor([1., 3, 0]), dice[[1, 3, 0]], dice[[1, 3, 0]] / 2], 1)
    gathered = torch.stack([rank0, rank1])  # what all_gather returns: (ranks, N, 3)
    per_image = once_per_image(gathered)
    assert torch.equal(per_image[:, 0], dice) and torch.equal(per_image[:, 1], dice / 2)
    assert per_image.mean(0)[0] == dice.mean()
    # the mean of the ranks' means, what was reported before, counts image 0 twice
    assert (rank0[:, 1].mean() + rank1[:, 1].mean()) / 2 != dice.mean()


def test_one_process_rows_come_back_as_they_are():
    rows = torch.tensor([[0., 0.8, 0.6], [1, 0.2, 0.1], [2, 0.5, 0.4]])
    assert torch.equal(once_per_image(rows), rows[:, 1:])
