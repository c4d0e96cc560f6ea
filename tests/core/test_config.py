"""YAML files read into mappings with one-sentence errors; the strict base model; first_error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nasbench.core.config import Strict, first_error, load_yaml_mapping, parse_yaml_mapping
from nasbench.errors import ConfigError


class Section(Strict):
    size: int = 1


class Doc(Strict):
    name: str
    sections: list[Section] = []


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return path


def test_a_mapping_is_read(tmp_path: Path) -> None:
    assert load_yaml_mapping(write(tmp_path, "a: 1\nb: [x, y]\n"), "widget") == {"a": 1, "b": ["x", "y"]}


@pytest.mark.parametrize("text, message", [
    ("a: [1, 2\n", "x.yaml: not valid YAML (line 2, column 1)."),
    ("a: b: c\n", "x.yaml: not valid YAML (line 1, column 5)."),
    ("a: \x07\n", "x.yaml: not valid YAML (unacceptable character #x0007: special characters are not allowed)."),
    ("- a\n- b\n", "x.yaml: a widget file must be a YAML mapping."),
    ("", "x.yaml: a widget file must be a YAML mapping."),
])
def test_bad_files_are_one_sentence_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_yaml_mapping(write(tmp_path, text), "widget")
    assert str(e.value) == f"{tmp_path}/{message}"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: widget file not found\.$"):
        load_yaml_mapping(tmp_path / "nope.yaml", "widget")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        parse_yaml_mapping("3", "inline", "widget")


def test_strict_models_refuse_unknown_fields_and_changes() -> None:
    doc = Doc(name="d")
    with pytest.raises(ValidationError):
        doc.name = "e"  # type: ignore[misc]
    with pytest.raises(ValidationError) as e:
        Doc.model_validate({"name": "d", "sections": [{"size": 1}, {"sise": 2}]})
    assert first_error(e.value) == "field 'sections[1].sise': unknown field."


def test_first_error_names_the_field_and_drops_the_value_error_prefix() -> None:
    with pytest.raises(ValidationError) as e:
        Doc.model_validate({"sections": []})
    assert first_error(e.value) == "field 'name': Field required."
    with pytest.raises(ValidationError) as e:
        Section.model_validate({"size": "big"})
    assert first_error(e.value).startswith("field 'size': Input should be a valid integer")
