"""The load benchmark's pieces: forms posted as a browser would, the write check catching lost,
duplicated and unexpected saves, and the recovery second after a spike."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from bench.browser import Recorder, edit_fields, post_forms
from bench.load import Edits
from bench.load_report import _recovery, check_writes

EDIT_PAGE = """
<nav><form method="post" action="/admin/logout">
  <input type="hidden" name="csrf_token" value="tok"><button>Sign out</button></form></nav>
<form method="POST" action="/admin/immunizations/edit/7">
  <input type="hidden" name="csrf_token" value="tok">
  <input type="hidden" name="row_version" value="v1">
  <input type="text" name="lot_number" value="A&amp;B">
  <input type="checkbox" name="verified" value="y" checked>
  <input type="checkbox" name="archived" value="y">
  <select name="vaccine_code"><option value="FLU">Flu</option>
    <option value="HEPB" selected>Hepatitis B</option></select>
  <select name="dose_no"><option value="1">1</option><option value="2">2</option></select>
  <textarea name="notes">
line one</textarea>
  <input type="submit" name="save" value="Save">
</form>"""


def test_edit_form_is_posted_as_a_browser_would() -> None:
    forms = post_forms(EDIT_PAGE)
    assert len(forms) == 2
    fields = edit_fields(EDIT_PAGE, {"lot_number": "L1"})
    assert fields == {
        "csrf_token": "tok",
        "row_version": "v1",
        "lot_number": "L1",
        "verified": "y",
        "vaccine_code": "HEPB",
        "dose_no": "1",
        "notes": "line one",
        "save": "Save",
    }


def make_database(path: Path, stored: dict[int, str], audited: list[tuple[int, str]]) -> str:
    """A SQLite file with the immunizations' lot numbers and audit entries of updates."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE immunizations (imm_id INTEGER, lot_number TEXT)")
        conn.exec_driver_sql(
            "CREATE TABLE datadesk_audit (id INTEGER PRIMARY KEY, table_name TEXT, "
            "action TEXT, row_key TEXT, changes TEXT)"
        )
        for key, lot in stored.items():
            conn.execute(sa.text("INSERT INTO immunizations VALUES (:k, :v)"), {"k": key, "v": lot})
        for key, lot in audited:
            conn.execute(
                sa.text(
                    "INSERT INTO datadesk_audit (table_name, action, row_key, changes) "
                    "VALUES ('immunizations', 'update', :k, :c)"
                ),
                {"k": str(key), "c": json.dumps({"lot_number": ["old", lot]})},
            )
    engine.dispose()
    return url


def test_write_check_passes_when_every_acknowledged_save_is_there_once(tmp_path: Path) -> None:
    edits = Edits(acknowledged={1: ["a1", "a2"], 2: ["b1"]}, uncertain={2: {"b2"}})
    url = make_database(
        tmp_path / "ok.sqlite3", {1: "a2", 2: "b2"}, [(1, "a1"), (2, "b1"), (1, "a2"), (2, "b2")]
    )
    check = check_writes(url, edits)
    assert check.ok
    assert (check.acknowledged, check.uncertain, check.rows) == (3, 1, 2)


def test_write_check_names_lost_duplicated_unexpected_and_wrong_rows(tmp_path: Path) -> None:
    edits = Edits(acknowledged={1: ["a1", "a2"], 2: ["b1"], 3: ["c1"]})
    url = make_database(
        tmp_path / "bad.sqlite3",
        {1: "a1", 2: "b1", 3: "zz"},
        [(1, "a1"), (2, "b1"), (2, "b1"), (3, "c1"), (3, "zz")],
    )
    check = check_writes(url, edits)
    assert not check.ok
    assert check.lost == ["1: a2"]
    assert check.duplicated == ["2: b1 x2"]
    assert check.unexpected == ["3: zz"]
    assert check.wrong_final == []
    url = make_database(tmp_path / "final.sqlite3", {1: "a1"}, [(1, "a1"), (1, "a2")])
    assert check_writes(url, Edits(acknowledged={1: ["a1", "a2"]})).wrong_final == [
        "1: stored 'a1', last 'a2'"
    ]


def test_recovery_counts_from_the_spikes_end_until_latency_stays_normal() -> None:
    recorder = Recorder()
    start = 1000.0
    samples = {0.5: 900, 1.5: 1200, 2.5: 800, 3.5: 90, 4.5: 500, 5.5: 60, 6.5: 50, 7.5: 40}
    for offset, latency in samples.items():
        recorder.phase = "spike" if offset < 2 else "recovery"
        stats = recorder.pages[(recorder.phase, "list")]
        stats.latencies.append(float(latency))
        stats.ended.append(start + offset)
    events = {"spike_start": start, "spike_end": start + 2}
    lines, recovered = _recovery(recorder, events, steady_p99=50.0)
    assert len(lines) == 8
    # Normal (<= 100 ms) from second 5 on; the brief dip at second 3 does not count.
    assert recovered == 3.0
    _, never = _recovery(recorder, events, steady_p99=10.0)
    assert never is None
    assert lines[0] == "| 0 | 1 | 900 | 900 |"
