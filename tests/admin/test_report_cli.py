"""``datadesk report NAME -o FILE``: the workbook, e-mail through a real local SMTP server,
``--as``, and one-line errors that leave no file behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from datadesk.cli import main
from tests.admin.report_books import demo_config_with, read_book
from tests.conftest import MailBox

DATADESK = str(Path(sys.executable).parent / "datadesk")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def environment(db_url: str, config: Path, var_dir: Path) -> dict[str, str]:
    """The variables a cron job would set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATADESK_")}
    return {
        **base,
        "DATADESK_DATABASE_URL": db_url,
        "DATADESK_CONFIG": str(config),
        "DATADESK_VAR_DIR": str(var_dir),
    }


def test_report_is_written_and_mailed(
    demo_db_url: str, tmp_path: Path, smtp_server: tuple[str, int, MailBox]
) -> None:
    host, port, box = smtp_server

    def with_mail(document: dict[str, Any]) -> None:
        document["mail"] = {"host": host, "port": port, "from_address": "reports@medu.example"}

    config = demo_config_with(tmp_path, with_mail)
    out = tmp_path / "out" / "compliance.xlsx"
    out.parent.mkdir()
    result = subprocess.run(
        [
            DATADESK,
            "report",
            "immunization_compliance",
            "-o",
            str(out),
            "--param",
            "vaccine=HEPB",
            "--param",
            "department=emergency medicine",  # a choice by its label, ignoring case
            "--as",
            "official",
            "--mail-to",
            "health.office@medu.example",
            "--mail-to",
            "dean@medu.example",
        ],
        env=environment(demo_db_url, config, tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "sent immunization_compliance-" in result.stdout
    assert [p.name for p in out.parent.iterdir()] == ["compliance.xlsx"]  # no partial file left
    sheets = read_book(out, {"By department": True})
    assert sheets["By department"].rows[0][0] == "Emergency Medicine"
    assert "Vaccine: Hepatitis B" in sheets["By department"].preamble
    assert sheets["By department"].preamble[-1].endswith(" by official")

    [message] = box.messages
    assert box.envelopes[0] == (
        "reports@medu.example",
        ["health.office@medu.example", "dean@medu.example"],
    )
    assert message["Subject"].startswith("Immunization compliance by department (")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Vaccine: Hepatitis B" in text and "Department: Emergency Medicine" in text
    assert "Sheet Overdue staff:" in text and "by official" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == XLSX
    assert attachment.get_filename().startswith("immunization_compliance-")
    assert attachment.get_content() == out.read_bytes()


@pytest.fixture
def cli_env(demo_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``datadesk`` in this process with a config of the test's choice."""

    def run(*args: str, config: Path | None = None) -> int:
        from datadesk.settings import DEMO_CONFIG

        variables = environment(demo_db_url, config or DEMO_CONFIG, tmp_path / "var")
        for name in [n for n in os.environ if n.startswith("DATADESK_")]:
            monkeypatch.delenv(name)
        for name, value in variables.items():
            if name.startswith("DATADESK_"):
                monkeypatch.setenv(name, value)
        return main(list(args))

    return run


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single error line the command printed."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("datadesk: error: "), err
    return lines[0]


def test_errors_are_one_line_and_leave_no_file(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    out = str(folder / "r.xlsx")
    cases: list[tuple[list[str], str]] = [
        (["report", "nope", "-o", out], "no report 'nope' (reports: immunization_compliance,"),
        (
            ["report", "headcount", "-o", out, "--param", "hired_by=2020-02-30"],
            "--param hired_by: '2020-02-30' is not a date",
        ),
        (
            ["report", "headcount", "-o", out, "--param", "hired=2020-01-01"],
            "--param hired: the report has no such parameter (hired_by, department)",
        ),
        (
            ["report", "headcount", "-o", out, "--param", "department=999"],
            "--param department: '999' is not one of the choices",
        ),
        (
            ["report", "placements_by_site", "-o", out, "--param", "period=2025-01-01"],
            "--param period: write a date range as FROM..TO",
        ),
        (
            ["report", "headcount", "-o", out, "--as", "auditor"],
            "you may not run the report 'Headcount by department and staff category'",
        ),
        (["report", "headcount", "-o", out, "--mail-to", "a@b.org"], "e-mail is not configured"),
        (["report", "headcount", "-o", out, "--mail-to", "not-an-address"], "is not an e-mail"),
        (["report", "headcount", "-o", str(folder / "r.csv")], "name the file .xlsx"),
    ]
    for args, message in cases:
        assert cli_env(*args) == 1, args
        assert message in one_line_error(capsys)
        assert list(folder.iterdir()) == []
    assert cli_env("report", "headcount", "-o", out) == 0
    assert "wrote" in capsys.readouterr().out
    assert cli_env("report", "headcount", "-o", out) == 1
    assert "the file exists; use --force" in one_line_error(capsys)
    assert cli_env("report", "headcount", "-o", out, "--force", "--param", "department=13") == 0


def test_too_many_rows_fails_without_a_file(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def small(document: dict[str, Any]) -> None:
        document["exports"] = {"max_rows": 5}

    config = demo_config_with(tmp_path, small)
    folder = tmp_path / "out"
    folder.mkdir()
    assert cli_env("report", "headcount", "-o", str(folder / "h.xlsx"), config=config) == 1
    assert "would hold more than 5 rows (exports.max_rows)" in one_line_error(capsys)
    assert list(folder.iterdir()) == []
