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

