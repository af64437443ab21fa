"""Stratified, taxon-weighted sampling: quotas, independence, reproducibility, and the law."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.sampling.stratified import (
    draw_weighted,
    stratified_sample,
    write_sample,
)
from napari_specimask.core.sampling.taxon_tables import Row, read_collection


def make_rows(spec: list[tuple[str, str, str]]) -> list[Row]:
    """(family, genus, species epithet) per image -> rows named img<i>.jpg."""
    return [Row(f"img{i:03d}.jpg", {"family": f, "genus": g, "species": f"{g} {s}"}, f"line {i}")
            for i, (f, g, s) in enumerate(spec)]


collections = st.lists(
    st.tuples(st.sampled_from("FGHK"), st.sampled_from("abc"), st.sampled_from("xyz")),
    min_size=1, max_size=40,
).map(lambda spec: make_rows([(f, f + g, s) for f, g, s in spec]))
seeds = st.integers(0, 2**32 - 1)


def picks(sample) -> list[str]:
    return [p.row.file for p in sample.chosen]


@settings(max_examples=60, deadline=None)
@given(rows=collections, n=st.integers(1, 8), seed=seeds)
def test_every_group_gives_min_n_size_distinct_images_of_its_own(rows, n, seed):
    sample = stratified_sample(rows, n, "family", "genus", seed)
    sizes = Counter(r.taxa["family"] for r in rows)
    drawn = Counter(p.group for p in sample.chosen)
    assert drawn == {g: min(n, size) for g, size in sizes.items()}
    assert len(set(picks(sample))) == len(sample.chosen)
    assert all(p.row.taxa["family"] == p.group and p.row in rows for p in sample.chosen)
    assert [(g.group, g.available, g.drawn) for g in sample.groups] == sorted(
        (g, sizes[g], min(n, sizes[g])) for g in sizes)
    assert {g.group for g in sample.short} == {g for g, s in sizes.items() if s < n}
    # first-draw probabilities of a group sum to 1
    for g in sample.groups:
        if g.drawn == g.available:
            total = sum(p.weight for p in sample.chosen if p.group == g.group)
            assert total == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(rows=collections, n=st.integers(1, 5), seed=seeds, data=st.data())
def test_independent_of_row_order_and_of_other_groups(rows, n, seed, data):
    sample = stratified_sample(rows, n, "family", "genus", seed)
    again = stratified_sample(rows, n, "family", "genus", seed)
    assert picks(sample) == picks(again)  # seeds reproduce
    shuffled = stratified_sample(data.draw(st.permutations(rows)), n, "family", "genus", seed)
    assert picks(shuffled) == picks(sample)  # order of rows (and groups) does not matter
    assert picks(sample) == sorted(picks(sample), key=lambda f: (
        next(p.group for p in sample.chosen if p.row.file == f), f))  # stable output order
    dropped = data.draw(st.sampled_from(sorted({r.taxa["family"] for r in rows})))
    rest = [r for r in rows if r.taxa["family"] != dropped]
    if rest:  # removing a whole group changes no other group's draw or quota
        fewer = stratified_sample(rest, n, "family", "genus", seed)
        assert picks(fewer) == [p.row.file for p in sample.chosen if p.group != dropped]


def test_different_seeds_differ():
    rows = make_rows([("F", "A", str(i)) for i in range(30)])
    draws = {tuple(picks(stratified_sample(rows, 3, "family", "genus", s))) for s in range(20)}
    assert len(draws) > 15


# A family where genus and species weighting disagree: genus A has one species with 6
# images; genus B has species y (1 image), z (1) and w (2). By genus: A 1/2, B 1/2.
# By species: A 1/4, B 3/4. Uniform over images would be A 6/10.
FIXED = make_rows([("F", "A", "x")] * 6 + [("F", "B", "y"), ("F", "B", "z")]
                  + [("F", "B", "w")] * 2 + [("G", "C", "u")] * 3 + [("G", "D", "v")]
                  + [("G", "E", "t")] * 2)
SEEDS = range(3000)


def first_draw_counts(weight_level: str, family: str, key: str) -> Counter:
    counts = Counter()
    for seed in SEEDS:
        (pick,) = [p for p in stratified_sample(FIXED, 1, "family", weight_level, seed).chosen
                   if p.group == family]
        counts[pick.row.taxa[key] if key != "file" else pick.row.file] += 1
    return counts


def test_genus_weighting_makes_each_genus_equally_likely():
    for family, genera in (("F", ["A", "B"]), ("G", ["C", "D", "E"])):
        counts = first_draw_counts("genus", family, "genus")
        observed = [counts[g] for g in genera]
        assert chisquare(observed).pvalue > 1e-3, observed
    # ... and an image uniformly within its genus: B's four images 1/8 each
    by_file = first_draw_counts("genus", "F", "file")
    b_files = [r.file for r in FIXED if r.taxa["genus"] == "B"]
    assert chisquare([by_file[f] for f in b_files]).pvalue > 1e-3


def test_species_weighting_is_a_different_distribution():
    by_species = first_draw_counts("species", "F", "genus")
    observed = [by_species["A"], by_species["B"]]
    assert chisquare(observed, [len(SEEDS) / 4, 3 * len(SEEDS) / 4]).pvalue > 1e-3, observed
    assert chisquare(observed).pvalue < 1e-12  # far from genus weighting's 1/2, 1/2
    by_genus = first_draw_counts("genus", "F", "genus")
    assert abs(by_genus["A"] - by_species["A"]) > 0.15 * len(SEEDS)
    # species weighting within genus B: y 1/4, z 1/4, each w image 1/8
    by_file = first_draw_counts("species", "F", "file")
    expected = {"B y": 1 / 4, "B z": 1 / 4, "B w": 1 / 8}
    b_rows = [r for r in FIXED if r.taxa["genus"] == "B"]
    obs = [by_file[r.file] for r in b_rows]
    exp = [expected[r.taxa["species"]] * len(SEEDS) for r in b_rows]
    assert chisquare(obs, np.array(exp) * sum(obs) / sum(exp)).pvalue > 1e-3


def successive_pair_law(w: np.ndarray) -> np.ndarray:
    """Exact inclusion probabilities of 2 successive draws proportional to weight."""
    p = w / w.sum()
    incl = p.copy()
    for i, j in itertools.permutations(range(len(w)), 2):
        incl[j] += p[i] * p[j] / (1 - p[i])
    return incl


def test_without_replacement_follows_the_successive_draw_law():
    """N=2 in family F: inclusion frequencies match successive weighted draws exactly
    (what Generator.choice(replace=False, p=...) does), the law the docs state."""
    fam = [r for r in FIXED if r.taxa["family"] == "F"]
    genus_n = Counter(r.taxa["genus"] for r in fam)
    w = np.array([1 / genus_n[r.taxa["genus"]] for r in fam])
    counts = Counter()
    for seed in SEEDS:
        counts.update(p.row.file for p in stratified_sample(FIXED, 2, "family", "genus",
                                                           seed).chosen if p.group == "F")
    observed = np.array([counts[r.file] for r in fam]) / len(SEEDS)
    assert np.abs(observed - successive_pair_law(w)).max() < 0.03


def test_draw_weighted_matches_numpy_choice_in_law():
    w = np.array([5.0, 1, 1, 2, 0.5])
    rng = np.random.default_rng(1)
    ours, theirs = Counter(), Counter()
    for _ in range(4000):
        ours[tuple(draw_weighted(w, 2, rng))] += 1
        theirs[tuple(rng.choice(5, 2, replace=False, p=w / w.sum()))] += 1
    pairs = sorted(set(ours) | set(theirs))
    table = np.array([[ours[p] for p in pairs], [theirs[p] for p in pairs]]) + 0.5
    assert chi2_contingency(table).pvalue > 1e-3


# ---------------------------------------------------------------- errors and edges


def test_errors_name_the_problem():
    rows = make_rows([("F", "A", "x")] * 3)
    with pytest.raises(SpecimaskError, match="at least 1"):
        stratified_sample(rows, 0, "family", "genus")
    with pytest.raises(SpecimaskError, match=r"unknown level 'tribe'.*family, genus, species"):
        stratified_sample(rows, 1, "family", "tribe")
    with pytest.raises(SpecimaskError, match=">= 0"):
        stratified_sample(rows, 1, "family", "genus", seed=-1)
    with pytest.raises(SpecimaskError, match="more than once: img000.jpg"):
        stratified_sample(rows + rows[:1], 1, "family", "genus")
    # level names are case-insensitive
    assert len(stratified_sample(rows, 2, "Family", " GENUS ", 0).chosen) == 2


def test_rows_without_a_used_taxon_are_skipped_and_counted():
    rows = make_rows([("F", "A", "x")] * 3) + [
        Row("nogenus.jpg", {"family": "F", "genus": "", "species": ""}, "line 9"),
        Row("nofamily.jpg", {"family": "", "genus": "A", "species": "A x"}, "line 10")]
    sample = stratified_sample(rows, 10, "family", "genus", 0)
    assert len(sample.chosen) == 3
    assert [r.where for r in sample.skipped] == ["line 9", "line 10"]
    empty = [Row("a.jpg", {"family": "", "genus": "A"})]
    with pytest.raises(SpecimaskError, match="no image has both a family and a genus"):
        stratified_sample(empty, 1, "family", "genus")


def test_weight_level_equal_to_sample_level_is_uniform():
    rows = make_rows([("F", "A", "x")] * 4 + [("F", "B", "y")])
    sample = stratified_sample(rows, 1, "family", "family", 0)
    assert [p.weight for p in sample.chosen] == [pytest.approx(0.2)]


# ---------------------------------------------------------------- readers and writer


def herbarium_json(tmp_path, with_genus=False):
    cats = [{"id": 0, "name": "Aa calceata", "family": "Orchidaceae", "order": "Asparagales"},
            {"id": 1, "name": "Aa paleacea", "family": "Orchidaceae", "order": "Asparagales"},
            {"id": 2, "name": "Abies alba", "family": "Pinaceae", "order": "Pinales"}]
    if with_genus:  # Herbarium 2022 style: genus and a bare epithet
        cats = [{"id": c["id"], "genus": c["name"].split()[0], "species": c["name"].split()[1],
                 "family": c["family"]} for c in cats]
    images = [{"id": i, "file_name": f"images/00{i % 3}/{i}.jpg"} for i in range(7)]
    anns = [{"id": i, "image_id": i, "category_id": i % 3, "institution_id": 0}
            for i in range(6)]  # image 6 has no label
    meta = {"images": images, "annotations": anns, "categories": cats,
            "institutions": [{"id": 0, "name": "NY"}]}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(meta))
    return path


def test_read_herbarium_metadata(tmp_path):
    coll = read_collection(herbarium_json(tmp_path))
    assert {"order", "family", "genus", "species", "institution"} <= set(coll.levels)
    assert coll.unlabeled == 1 and len(coll.rows) == 7
    r = next(r for r in coll.rows if r.file == "images/001/1.jpg")
    assert r.taxa["genus"] == "Aa" and r.taxa["species"] == "Aa paleacea"
    assert r.taxa["family"] == "Orchidaceae" and r.taxa["institution"] == "NY"
    sample = stratified_sample(coll.rows, 5, "family", "species", 0, levels=coll.levels)
    assert len(sample.skipped) == 1 and sample.skipped[0].where == "image id 6"

    coll = read_collection(herbarium_json(tmp_path, with_genus=True))
    r = next(r for r in coll.rows if r.file == "images/002/2.jpg")
    assert r.taxa["genus"] == "Abies" and r.taxa["species"] == "Abies alba"


def test_read_csv_tsv_and_semicolon(tmp_path):
    (tmp_path / "a.tsv").write_text("Path\tFamily\tGenus\nx.jpg\tF\tA\ny.jpg\tF\tB\n")
    coll = read_collection(tmp_path / "a.tsv")
    assert coll.levels == ("family", "genus") and [r.file for r in coll.rows] == ["x.jpg", "y.jpg"]
    (tmp_path / "b.txt").write_text('image;family;genus\n"x;1.jpg";F;A\n\n')
    coll = read_collection(tmp_path / "b.txt")
    assert coll.rows[0].file == "x;1.jpg" and coll.rows[0].taxa == {"family": "F", "genus": "A"}


@pytest.mark.parametrize("text, match", [
    ("family,genus\nF,A\n", r"no file column.*columns present: family, genus"),
    ("file\nx.jpg\n", r"no taxon columns.*columns present: file"),
    ("file,family\nx.jpg,F\nx.jpg,F\n", "listed more than once: x.jpg"),
    ("file,family\n,F\n", r"1 row\(s\) with an empty file: line 2"),
    ("", "empty file"),
    ("file,family,Family\nx.jpg,F,G\n", "appear twice"),
])
def test_bad_tables(tmp_path, text, match):
    (tmp_path / "c.csv").write_text(text)
    with pytest.raises(SpecimaskError, match=match):
        read_collection(tmp_path / "c.csv")


def test_bad_json_and_missing_file(tmp_path):
    with pytest.raises(SpecimaskError, match="no such file"):
        read_collection(tmp_path / "nope.json")
    (tmp_path / "m.json").write_text('{"images": [')
    with pytest.raises(SpecimaskError, match=r"m.json: not valid JSON \(line 1"):
        read_collection(tmp_path / "m.json")
    (tmp_path / "m.json").write_text('{"images": [{"id": 1, "file_name": "a.jpg"}]}')
    with pytest.raises(SpecimaskError, match="no 'annotations'.*test-set"):
        read_collection(tmp_path / "m.json")
    (tmp_path / "m.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 0, "name": "A b"}],
        "annotations": [{"image_id": 1, "category_id": 5}]}))
    with pytest.raises(SpecimaskError, match="categories that are not listed"):
        read_collection(tmp_path / "m.json")


def test_write_sample_modes(tmp_path):
    rows = make_rows([("F", "A", "x"), ("F", "B", "y"), ("G", "C", "z")])
    root = tmp_path / "coll"
    (root / "sub").mkdir(parents=True)
    rows = [Row(f"sub/{r.file}", r.taxa, r.where) for r in rows]
    for r in rows:
        (root / r.file).write_bytes(b"img")
    sample = stratified_sample(rows, 5, "family", "genus", 0)

    write_sample(sample, tmp_path / "copy", root, "copy")
    assert (tmp_path / "copy/images/sub/img000.jpg").read_bytes() == b"img"
    lines = (tmp_path / "copy/sample.csv").read_text().splitlines()
    assert lines[0] == "file,family,genus,species,group,weight"
    assert lines[1] == "sub/img000.jpg,F,A,A x,F,0.5"
    assert json.loads((tmp_path / "copy/sample.json").read_text())["drawn"] == 3

    write_sample(sample, tmp_path / "link", root, "symlink")
    assert (tmp_path / "link/images/sub/img002.jpg").is_symlink()
    write_sample(sample, tmp_path / "list", None, "list")
    assert not (tmp_path / "list/images").exists()
    with pytest.raises(SpecimaskError, match="already there"):
        write_sample(sample, tmp_path / "copy", root, "copy")

    (root / "sub/img001.jpg").unlink()
    with pytest.raises(SpecimaskError, match=r"1 of 3 drawn image\(s\) not found.*img001"):
        write_sample(sample, tmp_path / "holes", root, "copy")
    assert not (tmp_path / "holes").exists()  # nothing written

    evil = stratified_sample([Row("../x.jpg", {"family": "F", "genus": "A"})], 1,
                             "family", "genus")
    with pytest.raises(SpecimaskError, match="leaves the images root"):
        write_sample(evil, tmp_path / "evil", root, "copy")


def test_one_file_spelt_several_ways_is_a_duplicate(tmp_path):
    # a/b.jpg, ./a/b.jpg and a\b.jpg land on one place under images/: copying would
    # overwrite silently and symlinking would fail half-way, leaving images/ behind.
    spellings = ["sub/x.jpg", "./sub/x.jpg", "sub\\x.jpg", "sub//x.jpg"]
    taxa = {"family": "F", "genus": "A"}
    rows = [Row(f, taxa) for f in [*spellings, "sub/y.jpg"]]
    named = " = ".join(spellings).replace("\\", "\\\\")
    with pytest.raises(SpecimaskError, match=f"1 file\\(s\\) listed more than once: {named};"):
        stratified_sample(rows, 5, "family", "genus")
    (tmp_path / "c.csv").write_text("file,family\nsub/x.jpg,F\n./sub/x.jpg,F\nsub/y.jpg,F\n")
    with pytest.raises(SpecimaskError, match=r"more than once: sub/x.jpg = ./sub/x.jpg;"):
        read_collection(tmp_path / "c.csv")

    # absolute and relative: one file only once the images root is known
    root = tmp_path / "coll"
    (root / "sub").mkdir(parents=True)
    (root / "sub/x.jpg").write_bytes(b"img")
    absolute = str(root / "sub/x.jpg")
    sample = stratified_sample([Row("sub/x.jpg", taxa), Row(absolute, taxa)], 5,
                               "family", "genus")
    for link in ("copy", "symlink"):
        with pytest.raises(SpecimaskError, match="more than once: .*x.jpg = .*x.jpg"):
            write_sample(sample, tmp_path / link, root, link)
        assert not (tmp_path / link).exists()  # nothing written: a re-run is not blocked
