"""specimask.toml: read, written and refused with a clear error."""

from __future__ import annotations

import pytest

from napari_specimask.core.errors import ProjectError
from napari_specimask.core.settings import Settings, load_settings, save_settings


def test_settings_round_trip_and_errors(tmp_path):
    s = Settings(name="ferns")
    s.model.img_size = 256
    save_settings(tmp_path, s)
    assert load_settings(tmp_path) == s
    (tmp_path / "specimask.toml").write_text('[model]\nimg_sise = 256\n')
    with pytest.raises(ProjectError, match="model.img_sise"):
        load_settings(tmp_path)
    (tmp_path / "specimask.toml").write_text('[model]\nimg_size = "big"\n')
    with pytest.raises(ProjectError, match="model.img_size = 'big' should be int"):
        load_settings(tmp_path)
    (tmp_path / "specimask.toml").write_text("[model\n")
    with pytest.raises(ProjectError, match="not valid TOML"):
        load_settings(tmp_path)



def test_settings_under_a_former_name_are_read_as_the_new_one(tmp_path, caplog):
    """A project's specimask.toml from before the rename (use_pseudo, pseudo_roles) opens
    with those values, says so, and is written back with the new names."""
    (tmp_path / "specimask.toml").write_text(
        '[train]\nuse_pseudo = true\npseudo_roles = ["source"]\n')
    with caplog.at_level("WARNING", logger="napari_specimask"):
        s = load_settings(tmp_path)
    assert s.train.use_cold_start is True and s.train.cold_start_roles == ["source"]
    assert "train.use_pseudo is now called train.use_cold_start" in caplog.text
    save_settings(tmp_path, s)
    text = (tmp_path / "specimask.toml").read_text()
    assert "cold_start_roles" in text and "pseudo" not in text
    both = '[train]\nuse_pseudo = true\nuse_cold_start = false\n'
    (tmp_path / "specimask.toml").write_text(both)
    with pytest.raises(ProjectError, match="unknown setting"):
        load_settings(tmp_path)  # both names: which one was meant is not guessed
