"""Reading datadesk.yaml from disk, YAML syntax errors, and locating paths in the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datadesk.config.document import ConfigDocument
from datadesk.config.loader import cross_check_error, load_config
from datadesk.errors import ConfigError
from datadesk.settings import DEMO_CONFIG

from .samples import VALID
from .samples import config_problems as problems

# -- files that cannot be read --------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found$"):
        load_config(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "datadesk.yaml"
    path.write_text("app: {}\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file")
        with pytest.raises(ConfigError, match=r"datadesk\.yaml: cannot read the file \(Permission"):
            load_config(path)
    finally:
        path.chmod(0o600)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="Linux /proc")
def test_file_that_fails_to_read() -> None:
    # Reading /proc/self/mem from offset 0 fails with EIO whatever the permissions.
    with pytest.raises(ConfigError) as caught:
        load_config(Path("/proc/self/mem"))
    assert str(caught.value) == "/proc/self/mem: cannot read the file (Input/output error)"


def test_file_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "datadesk.yaml"
    path.write_bytes("app:\n  title: Očkování\n".encode("cp1250"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}:2: the file is not UTF-8 text (byte 0xe8); save it with UTF-8 encoding"
    )


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("app:\n  page_size: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}:2: app.page_size: Input should be greater than or equal to 1"
    )


# -- YAML syntax ----------------------------------------------------------------------------------


def test_syntax_error_has_line_and_column() -> None:
    assert problems("app:\n  title: a\n  page_size: 5: 6\n") == [
        "datadesk.yaml:3:15: YAML syntax error: mapping values are not allowed here"
    ]


def test_unclosed_list() -> None:
    (line,) = problems("tables:\n  staff:\n    search: [a, b\n")
    assert line.startswith("datadesk.yaml:4:1: YAML syntax error: expected ',' or ']'")
    assert "started on line 3" in line


def test_tab_indentation_is_explained() -> None:
    (line,) = problems("app:\n\ttitle: x\n")
    assert line.startswith("datadesk.yaml:2:1: YAML syntax error: found character '\\t'")
    assert line.endswith("indent with spaces, not tabs")


def test_python_tags_are_refused() -> None:
    (line,) = problems("app: !!python/object/apply:os.system [ls]\n")
    assert line.startswith(
        "datadesk.yaml:1:6: YAML syntax error: could not determine a constructor"
    )


def test_control_character() -> None:
    assert problems("app:\n  title: a\x07b\n") == [
        "datadesk.yaml:2:11: YAML syntax error: character U+0007 is not allowed"
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [("- a\n- b\n", "a list"), ("just text\n", "text"), ("42\n", "the number 42")],
)
def test_top_level_must_be_a_mapping(text: str, found: str) -> None:
    assert problems(text) == [
        "datadesk.yaml:1: the file must be a mapping of sections (database:, app:, tables:),"
        f" found {found}"
    ]


def test_document_finds_lines_of_paths() -> None:
    document = ConfigDocument(VALID)
    assert document.line_of("tables.STAFF.filters[1]") == 24
    assert document.line_of(("tables", "STAFF", "columns", "ACTIVE", "flag")) == 29
    assert document.line_of("tables.STAFF.nothing_here") == 16  # the deepest part found
    assert document.line_of("elsewhere") is None


def test_bundled_demo_config_is_valid() -> None:
    if not DEMO_CONFIG.exists():
        pytest.skip("the demo has no datadesk.yaml yet")
    load_config(DEMO_CONFIG)


def test_cross_check_problems_get_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "datadesk.yaml"
    path.write_text("tables:\n  staff:\n    search: [last_name, nmae]\n  staf: {}\n")
    error = cross_check_error(
        path,
        [
            "tables.staf: no such table (did you mean 'staff'?)",
            "tables.staff.search[1]: no such column 'nmae' (did you mean 'name'?)",
            "a problem without a path",
        ],
    )
    assert str(error).splitlines() == [
        f"{path}:3: tables.staff.search[1]: no such column 'nmae' (did you mean 'name'?)",
        f"{path}:4: tables.staf: no such table (did you mean 'staff'?)",
        f"{path}: a problem without a path",
    ]
