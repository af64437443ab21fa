"""`specimask sample` as a person types it: JSON, CSV and TSV inputs, errors, usable output."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
from PIL import Image

from napari_specimask.cli import _sample
from napari_specimask.cli import main as specimask
from napari_specimask.core.errors import SpecimaskError


def sample_cmd(*argv) -> int:
    parser = argparse.ArgumentParser()
    _sample.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sample", *map(str, argv)])
    return args.func(args)


# Orchidaceae: genus Aa (2 species, 4 images), Habenaria (1 species, 1 image)
# Pinaceae: Abies alba (2 images)
SPECIES = [("Aa calceata", "Orchidaceae"), ("Aa calceata", "Orchidaceae"),
           ("Aa paleacea", "Orchidaceae"), ("Aa paleacea", "Orchidaceae"),
           ("Habenaria repens", "Orchidaceae"), ("Abies alba", "Pinaceae"),
           ("Abies alba", "Pinaceae")]


@pytest.fixture
def collection(tmp_path, rgb_image):
    """A Herbarium-2021-like training folder: metadata.json + images/<sub>/<id>.jpg."""
    root = tmp_path / "train"
    names = sorted({s for s, _ in SPECIES})
    cats = [{"id": i, "name": n, "family": dict(SPECIES)[n], "order": "X"}
            for i, n in enumerate(names)]
    images, anns = [], []
    for i, (name, _) in enumerate(SPECIES):
        file = f"images/{names.index(name):03d}/{i}.jpg"
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.roll(rgb_image, i, axis=1)).save(root / file)
        images.append({"id": i, "file_name": file, "width": 60, "height": 40})
        anns.append({"id": i, "image_id": i, "category_id": names.index(name)})
    (root / "metadata.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": cats}))
    return root


def write_table(path, delimiter, header=("file", "Family", "Genus", "Species")):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        for i, (name, family) in enumerate(SPECIES):
            w.writerow([f"images/{i}.jpg", family, name.split()[0], name][:len(header)])
    return path


def test_json_sample_copies_images_and_makes_a_project(tmp_path, collection, capsys):
    out = tmp_path / "out"
    assert sample_cmd(collection / "metadata.json", 2, "--sample-level", "family",
                      "--weight-level", "genus", "--seed", 3, "--out", out) == 0
    text = capsys.readouterr().out
    assert "Orchidaceae" in text and "Pinaceae" in text
    assert "drew 4 image(s) from 2 group(s) (7 available, seed 3)" in text
    assert "fewer than" not in text
    with open(out / "sample.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [r["group"] for r in table] == ["Orchidaceae"] * 2 + ["Pinaceae"] * 2
    assert set(table[0]) == {"file", "order", "family", "genus", "species", "group", "weight"}
    files = sorted(p.relative_to(out / "images").as_posix()
                   for p in (out / "images").rglob("*.jpg"))
    assert files == sorted(r["file"] for r in table)
    # Orchidaceae has genera Aa (4 images) and Habenaria (1): weights 1/8 and 1/2
    weights = {r["genus"]: float(r["weight"]) for r in table if r["group"] == "Orchidaceae"}
    assert set(weights.values()) <= {0.125, 0.5}

    # the same seed gives the same sample; the folder is a valid `init --images` source
    assert sample_cmd(collection / "metadata.json", 2, "--sample-level", "family",
                      "--weight-level", "genus", "--seed", 3, "--out", tmp_path / "again",
                      "--link", "list") == 0
    assert [r["file"] for r in csv.DictReader(open(tmp_path / "again/sample.csv"))] == [
        r["file"] for r in table]
    capsys.readouterr()
    assert specimask(["init", str(tmp_path / "proj"), "--images", str(out / "images")]) == 0
    assert "added 4 image(s)" in capsys.readouterr().out


@pytest.mark.parametrize("suffix, delimiter", [(".csv", ","), (".tsv", "\t"), (".txt", ";")])
def test_csv_and_tsv_inputs(tmp_path, collection, suffix, delimiter, capsys):
    table = write_table(collection / f"list{suffix}", delimiter)
    for i in range(len(SPECIES)):
        (collection / f"images/{i}.jpg").write_bytes(b"jpeg")
    code = sample_cmd(table, 3, "--sample-level", "FAMILY", "--weight-level", "species",
                      "--out", tmp_path / "out", "--link", "symlink")
    assert code == 0
    text = capsys.readouterr().out
    assert "1 group(s) had fewer than 3 image(s) and gave all: Pinaceae" in text
    assert "drew 5 image(s)" in text
    links = list((tmp_path / "out/images").rglob("*.jpg"))
    assert len(links) == 5 and all(p.is_symlink() for p in links)


def test_n_larger_than_every_group_gives_everything(tmp_path, collection, capsys):
    sample_cmd(collection / "metadata.json", 50, "--sample-level", "family", "--weight-level",
               "genus", "--out", tmp_path / "out", "--link", "list")
    text = capsys.readouterr().out
    assert "2 group(s) had fewer than 50 image(s) and gave all: Orchidaceae, Pinaceae" in text
    assert "drew 7 image(s)" in text


@pytest.mark.parametrize("make, args, match", [
    (lambda d: write_table(d / "t.csv", ",", ("file", "Family")),
     ("--weight-level", "genus"), r"t.csv: unknown level 'genus'; the levels present are: family"),
    (lambda d: write_table(d / "t.csv", ",", ("file",)),
     ("--weight-level", "genus"), r"t.csv: no taxon columns.*columns present: file"),
    (lambda d: write_table(d / "t.csv", ",", ("picture", "family", "genus")),
     ("--weight-level", "genus"), r"no file column; name one of file_name.*present: picture"),
    (lambda d: d / "metadata.json", ("--weight-level", "tribe"),
     r"unknown level 'tribe'; the levels present are: family, order, genus, species"),
    (lambda d: (d / "bad.json").write_text("{oops") and d / "bad.json",
     ("--weight-level", "genus"), r"bad.json: not valid JSON"),
    (lambda d: d / "missing.csv", ("--weight-level", "genus"), "missing.csv: no such file"),
])
def test_bad_metadata_gives_one_clear_line(tmp_path, collection, make, args, match):
    with pytest.raises(SpecimaskError, match=match):
        sample_cmd(make(collection), 2, "--sample-level", "family", *args,
                   "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_images_stop_before_writing(tmp_path, collection):
    table = write_table(collection / "t.csv", ",")  # images/<i>.jpg do not exist
    with pytest.raises(SpecimaskError, match=r"5 of 5 drawn image\(s\) not found under "
                                             r".*train: images/1.jpg, .*--images-root") as exc:
        sample_cmd(table, 3, "--sample-level", "family", "--weight-level", "genus",
                   "--out", tmp_path / "out")
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "out").exists()
