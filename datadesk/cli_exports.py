"""``datadesk export TABLE -o FILE``: a grid's rows for a list state, as .xlsx or .csv.

The same code as the Export link of the grid (``GridExporter``): the list state is given as
options (``--search``, ``--filter COL=VALUE``, ``--sort``), the access policy of the acting
user (``--as USER``; without it full rights as ``system:<login>``) decides columns and rows.
The file appears at its path only when complete: it is written next to it and then renamed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from datadesk.cli_data import CONFIG_HELP, acting_user, add_as_option
from datadesk.errors import InvalidInput
from datadesk.settings import Settings

SUFFIXES = {".xlsx": "xlsx", ".csv": "csv"}


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` to the command's sub-parsers."""
    exp = sub.add_parser(
        "export",
        help="export a table's rows (search, filters, sort) to .xlsx or .csv",
        description="Write the rows of TABLE that the grid shows for the given search, "
        "filters and sort to FILE (.xlsx or .csv), as the acting user may see them.",
    )
    exp.add_argument("table", metavar="TABLE", help="table name, as in the grid's address")
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    exp.add_argument("--format", choices=("xlsx", "csv"), help="default: from FILE's suffix")
    exp.add_argument("--search", metavar="TEXT", help="the grid's search text")
    exp.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="a grid filter (repeatable); ranges as COL.from=VALUE and COL.to=VALUE",
    )
    exp.add_argument(
        "--sort",
        metavar="COLS",
        help="columns to sort by, comma-separated, - for descending (--sort=-hire_date,name)",
    )
    exp.add_argument(
        "--all-columns", action="store_true", help="every column the user may see, not the grid's"
    )
    exp.add_argument(
        "--force", action="store_true", help="replace FILE when it exists (default: refuse)"
    )
    add_as_option(exp)
    exp.add_argument("--config", help=CONFIG_HELP)
    exp.set_defaults(handler=cmd_export)


def list_state(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The options as the query parameters of the grid's list page."""
    params: list[tuple[str, str]] = []
    if args.search:
        params.append(("search", args.search))
    for item in args.filter:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--filter {item[:60]}: write it as COLUMN=VALUE")
        params.append((f"f.{name.strip().lower()}", value))
    if args.sort:
        params.append(("sort", args.sort))
    return params


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the export; print the number of rows."""
    from datadesk.runtime import open_runtime

    target = Path(args.output)
    file_format = args.format or SUFFIXES.get(target.suffix.lower())
    if file_format is None:
        raise InvalidInput(f"{target}: name the file .xlsx or .csv, or give --format")
    if target.exists() and not args.force:
        raise InvalidInput(f"{target}: the file exists; use --force to replace it")
    if not target.parent.is_dir():
        raise InvalidInput(f"{target.parent}: no such folder")
    params = list_state(args)
    runtime = open_runtime(settings)
    try:
        actor = acting_user(runtime, args.as_user)
        exporter = runtime.exports
        plan = exporter.plan(actor, args.table, params, file_format, all_columns=args.all_columns)
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        os.close(handle)
        partial = Path(name)
        try:
            result = exporter.write(plan, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        runtime.engine.dispose()
    print(
        f"datadesk: exported {result.rows} rows of {plan.table.name} to {target}", file=sys.stdout
    )
    return 0
