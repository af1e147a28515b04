"""Loading datadesk.yaml: valid files, defaults, and every kind of error with path and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from datadesk.config.loader import load_config, parse_config
from datadesk.config.schema import AppConfig, ColumnConfig, Config, DatabaseConfig, TableConfig
from datadesk.errors import ConfigError, DatadeskError

from .samples import VALID, config_problems


def problems(text: str) -> list[str]:
    """The lines of the ConfigError raised for ``text`` (dedented)."""
    return config_problems(textwrap.dedent(text))


def parse(text: str) -> Config:
    return parse_config(textwrap.dedent(text))


# -- valid files and defaults ---------------------------------------------------------------------


def test_valid_file_sets_every_section() -> None:
    config = parse_config(VALID)
    assert config.database == DatabaseConfig(
        schema="MEDUNI",
        include=("STAFF*", "DEPARTMENT"),
        exclude=("*_BAK",),
        include_views=False,
        pool_size=8,
    )
    assert config.app.page_size_options == (50, 100)
    assert config.app.count_cache_seconds == 0.0
    staff = config.tables["STAFF"]
    assert staff.filters == ("department_id", "active")
    assert staff.default_sort == ("-hired_on", "last_name")
    assert staff.columns["ACTIVE"].flag == "yn"
    assert staff.columns["is_external"] == ColumnConfig(flag="01", widget="select")
    assert staff.columns["salary"].hidden is True


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_file_means_all_defaults(text: str) -> None:
    assert parse_config(text) == Config()


def test_defaults() -> None:
    config = Config()
    assert config.database.schema_name is None
    assert config.database.include == ("*",)
    assert config.app == AppConfig()
    assert config.app.page_size == 50
    assert config.tables == {}


def test_empty_sections_mean_defaults() -> None:
    config = parse(
        """
        database:
        app:
        tables:
          staff:
          course:
            columns:
              code:
        """
    )
    assert config.database == DatabaseConfig()
    assert config.tables["staff"] == TableConfig()
    assert config.tables["course"].columns["code"] == ColumnConfig()


def test_table_lookup_is_case_insensitive() -> None:
    config = parse_config(VALID)
    assert config.table("staff") is config.tables["STAFF"]
    assert config.table("Staff").label == "Staff member"
    assert config.table("unconfigured") == TableConfig()


def test_names_that_look_like_numbers_or_booleans_stay_names() -> None:
    config = parse(
        """
        tables:
          2024:
            columns:
              on: {hidden: true}
              null: {label: Empty}
        """
    )
    assert config.tables["2024"].columns["on"].hidden is True
    assert set(config.tables["2024"].columns) == {"on", "null"}


def test_anchors_and_merge_keys_are_not_duplicates() -> None:
    config = parse(
        """
        tables:
          staff: &person
            search: [last_name]
            row_label: '{last_name}'
          student:
            <<: *person
            row_label: '{last_name} ({student_no})'
        """
    )
    assert config.tables["student"].search == ("last_name",)
    assert config.tables["student"].row_label == "{last_name} ({student_no})"


def test_load_config_reads_utf8_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "datadesk.yaml"
    path.write_bytes("\ufeffapp:\n  title: Očkování\n".encode())
    assert load_config(path).app.title == "Očkování"


def test_the_attribute_name_of_an_aliased_option_is_rejected() -> None:
    assert problems("database:\n  schema_name: HR\n") == [
        "datadesk.yaml:2: database.schema_name: unknown option (did you mean 'schema'?)"
    ]


# -- unknown options ------------------------------------------------------------------------------


def test_unknown_option_suggests_the_closest_name() -> None:
    text = """\
    tables:
      staff:
        lits_columns: [a]
        columns:
          salary:
            hiden: true
    apps:
      title: x
    """
    assert problems(text) == [
        "datadesk.yaml:3: tables.staff.lits_columns: unknown option (did you mean 'list_columns'?)",
        "datadesk.yaml:6: tables.staff.columns.salary.hiden:"
        " unknown option (did you mean 'hidden'?)",
        "datadesk.yaml:7: apps: unknown option (did you mean 'app'?)",
    ]


def test_unknown_option_without_a_close_name_lists_the_options() -> None:
    assert problems("database:\n  password: secret\n") == [
        "datadesk.yaml:2: database.password: unknown option; expected one of:"
        " schema, include, exclude, include_views, pool_size"
    ]


def test_column_setting_written_at_table_level() -> None:
    assert problems("tables:\n  staff:\n    widget: textarea\n") == [
        "datadesk.yaml:3: tables.staff.widget: unknown option;"
        " 'widget' is a column setting: put it under columns: <column>:"
    ]


# -- wrong types and values -----------------------------------------------------------------------


def test_bad_flag_value_names_path_and_line() -> None:
    text = "\n" * 10 + "tables:\n  staff:\n    columns:\n      salary:\n        flag: maybe\n"
    assert problems(text) == [
        "datadesk.yaml:15: tables.staff.columns.salary.flag: Input should be 'yn', '01' or 'none'"
    ]


def test_unquoted_01_flag_asks_for_quotes() -> None:
    assert problems("tables:\n  staff:\n    columns:\n      ext: {flag: 01}\n") == [
        "datadesk.yaml:4: tables.staff.columns.ext.flag: Input should be 'yn', '01' or 'none'"
        " (write it in quotes: '01')"
    ]


def test_yes_read_as_boolean() -> None:
    assert problems("tables:\n  t:\n    columns:\n      c:\n        flag: yes\n") == [
        "datadesk.yaml:5: tables.t.columns.c.flag: Input should be 'yn', '01' or 'none'"
        " (found the boolean true)"
    ]


def test_number_where_text_is_expected() -> None:
    assert problems("database:\n  schema: 2024\n") == [
        "datadesk.yaml:2: database.schema: Input should be a valid string"
        " (found the number 2024; put it in quotes)"
    ]


def test_list_item_has_its_own_line_and_index() -> None:
    text = """\
    tables:
      grades:
        key:
          - student_no
          - 17
    """
    assert problems(text) == [
        "datadesk.yaml:5: tables.grades.key[1]: Input should be a valid string"
        " (found the number 17; put it in quotes)"
    ]


def test_text_where_a_list_is_expected() -> None:
    assert problems("tables:\n  staff:\n    search: last_name\n") == [
        "datadesk.yaml:3: tables.staff.search: Input should be a list, e.g. [a, b] (found text)"
    ]


def test_list_where_a_section_is_expected() -> None:
    assert problems("app:\n  - title\n") == [
        "datadesk.yaml:1: app: Input should be a mapping of settings (found a list)"
    ]


def test_out_of_range_and_not_a_number() -> None:
    assert problems("app:\n  page_size: 1000\n  count_cap: many\n") == [
        "datadesk.yaml:2: app.page_size: Input should be less than or equal to 500",
        "datadesk.yaml:3: app.count_cap: Input should be a valid integer,"
        " unable to parse string as an integer",
    ]


def test_missing_value() -> None:
    assert problems("app:\n  reflection_cache:\n") == [
        "datadesk.yaml:2: app.reflection_cache: Input should be a valid boolean (found no value)"
    ]


def test_validator_message_without_prefix() -> None:
    assert problems("tables:\n  staff:\n    default_sort: ['-']\n") == [
        "datadesk.yaml:3: tables.staff.default_sort:"
        " sort entries are column names, optionally prefixed with '-'"
    ]


# -- duplicates -----------------------------------------------------------------------------------


def test_duplicate_keys_are_reported_not_silently_overwritten() -> None:
    text = """\
    app:
      title: One
    tables:
      staff:
        label: Staff
        label: Employee
    app:
      title: Two
    """
    assert problems(text) == [
        "datadesk.yaml:6: tables.staff.label: duplicate key (first written on line 5);"
        " merge the two into one",
        "datadesk.yaml:7: app: duplicate key (first written on line 1); merge the two into one",
    ]


def test_table_keys_differing_only_by_case() -> None:
    text = """\
    tables:
      staff:
        label: Staff
      course: {}
      STAFF:
        label_plural: Staff
    """
    assert problems(text) == [
        "datadesk.yaml:5: tables.STAFF: same table as 'staff' on line 2"
        " (table names are not case-sensitive); merge the two"
    ]


def test_column_keys_differing_only_by_case() -> None:
    text = "tables:\n  staff:\n    columns:\n      active: {}\n      Active: {}\n"
    assert problems(text) == [
        "datadesk.yaml:5: tables.staff.columns.Active: same column as 'active' on line 4"
        " (column names are not case-sensitive); merge the two"
    ]


# -- the whole message ----------------------------------------------------------------------------


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    text = """\
    tables:
      Staff: {}
      staff:
        page_size: 0
        label: a
        label: b
    database:
      pool: 3
    """
    lines = config_problems(textwrap.dedent(text), "site/datadesk.yaml")
    assert [line.split(":")[1] for line in lines] == ["3", "4", "6", "8"]
    assert all(line.startswith("site/datadesk.yaml:") for line in lines)


def test_config_error_is_a_datadesk_error_with_a_safe_message() -> None:
    with pytest.raises(DatadeskError) as caught:
        parse_config("app: [")
    assert isinstance(caught.value, ConfigError)
    assert caught.value.message == str(caught.value)
    assert "Traceback" not in caught.value.message
