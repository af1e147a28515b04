"""The ``reports`` section: shape errors and problems found against the schema and the roles,
each naming its YAML path (and line), as the loader and ``datadesk check-config`` report them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from datadesk.config.loader import parse_config
from datadesk.errors import ConfigError
from tests.admin.report_books import demo_config_with

SHEET = "sheets: [{name: S, columns: [last_name]}]"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"table: staff\n    {SHEET}\n    filters: [{{column: a, equals: 1, in: [1]}}]",
            "reports.r.filters[0]: a filter needs exactly one operator",
        ),
        (
            f"table: staff\n    {SHEET}\n    parameters: {{d: {{type: choice}}}}",
            "reports.r.parameters.d: a choice needs table and column (a table's rows) or options",
        ),
        (
            f"table: staff\n    {SHEET}\n    parameters: {{d: {{type: date, min: 3}}}}",
            "reports.r.parameters.d: min and max are for integer parameters",
        ),
        ("table: staff\n    sheets: [{name: 'a/b', columns: [x]}]", "cannot contain"),
        (
            "table: staff\n    sheets: [{name: S, columns: [{column: x, where: [{column: y, "
            "is_empty: true}]}]}]",
            "'where' is for aggregates",
        ),
        (
            "table: staff\n    sheets: [{name: S, columns: [x]}, {name: s, columns: [y]}]",
            "two sheets are called 's'",
        ),
        ("table: staff", "reports.r.sheets: Field required"),
    ],
)
def test_shape_errors_name_the_yaml_path_and_line(body: str, message: str) -> None:
    text = f"reports:\n  r:\n    title: R\n    {body}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "datadesk.yaml")
    assert message in caught.value.message
    assert caught.value.message.startswith("datadesk.yaml:")


def broken(document: dict[str, Any]) -> None:
    """Demo reports changed to hold one mistake of each kind the schema check finds."""
    reports = document["reports"]
    headcount = reports["headcount"]
    headcount["filters"].append({"column": "dept_id.dept_nmae", "equals": "x"})
    headcount["filters"].append({"column": "hire_date", "at_least": {"param": "nope"}})
    headcount["sheets"][0]["columns"].append({"column": "last_name", "aggregate": "sum"})
    headcount["sheets"][0]["sort"] = ["salary"]
    headcount["roles"].append("offical")
    reports["certifications_expiring"]["table"] = "certification"
    reports["placements_by_site"]["parameters"]["site"]["table"] = "sites"
    reports["immunization_compliance"]["filters"].append(
        {"column": "hire_date", "contains": "2020"}
    )
    reports["pay/roll"] = {
        "title": "Pay",
        "table": "staff",
        "sheets": [{"name": "S", "columns": ["salary"]}],
    }


def test_schema_and_role_problems_name_their_paths(runtimes: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        runtimes(demo_config_with(tmp_path, broken))
    message = caught.value.message
    for expected in (
        "reports.headcount.filters[3].column: departments has no column 'dept_nmae'"
        " (did you mean 'dept_name'?)",
        "reports.headcount.filters[4].at_least.param: no parameter 'nope'"
        " (parameters: hired_by, department)",
        "reports.headcount.sheets[0].columns[5].aggregate: sum needs a number column;"
        " last_name is text",
        "reports.headcount.sheets[0].sort[0]: a grouped sheet sorts by its own columns",
        "reports.headcount.roles[2]: no such role 'offical' (did you mean 'official'?)",
        "reports.certifications_expiring.table: no such table 'certification'"
        " (did you mean 'certifications'?)",
        "reports.placements_by_site.parameters.site.table: no such table 'sites'",
        "reports.immunization_compliance.filters[2].contains: needs a text column;"
        " hire_date is date",
        "reports.pay/roll: a report name is letters, digits and '_', starting with a letter",
    ):
        assert expected in message, message
    # Each problem is on its own line, with the file and the line it is on.
    source = re.escape(str(tmp_path / "datadesk.yaml"))
    assert all(re.match(rf"{source}:\d+: reports\.", line) for line in message.splitlines())


def test_roles_that_could_never_run_a_report_are_refused(runtimes: Any, tmp_path: Path) -> None:
    def auditors_too(document: dict[str, Any]) -> None:
        document["reports"]["headcount"]["roles"].append("auditor")

    with pytest.raises(ConfigError) as caught:
        runtimes(demo_config_with(tmp_path, auditors_too))
    assert (
        "reports.headcount.roles[2]: role 'auditor' may not export staff, so it could never"
        " run this report"
    ) in caught.value.message


def test_a_filter_on_a_column_hidden_from_a_role_is_refused(runtimes: Any, tmp_path: Path) -> None:
    def salary_filter(document: dict[str, Any]) -> None:
        document["reports"]["headcount"]["filters"].append(
            {"column": "salary", "more_than": 100000}
        )

    with pytest.raises(ConfigError) as caught:
        runtimes(demo_config_with(tmp_path, salary_filter))
    assert (
        "reports.headcount.filters[3].column: staff.salary is hidden from role 'official',"
        " who may run this report; a filter on it would reveal it"
    ) in caught.value.message
