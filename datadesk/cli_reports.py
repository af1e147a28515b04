"""``datadesk report NAME -o FILE``: a named report as a workbook, optionally e-mailed (cron).

The same code as the Reports page (``ReportService``): parameters are given as
``--param NAME=VALUE`` (a date range as ``NAME=FROM..TO``), the acting user (``--as USER``;
without it full rights as ``system:<login>``) decides the rows and columns, and the workbook
appears at its path only when complete. With ``--mail-to`` it is then sent through the SMTP
server of the ``mail`` section.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from datadesk.cli_data import CONFIG_HELP, acting_user, add_as_option
from datadesk.errors import InvalidInput
from datadesk.settings import Settings


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` to the command's sub-parsers."""
    rep = sub.add_parser(
        "report",
        help="write a named report to a workbook, and e-mail it if asked",
        description="Run report NAME of datadesk.yaml with the given parameters and write it "
        "to FILE (.xlsx), as the acting user may see it; --mail-to sends it too.",
    )
    rep.add_argument("name", metavar="NAME", help="the report's name under reports:")
    rep.add_argument("-o", "--output", required=True, metavar="FILE", help=".xlsx file to write")
    rep.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter (repeatable); dates as YYYY-MM-DD or today-30, a date range as"
        " FROM..TO; parameters not given take their defaults",
    )
    rep.add_argument(
        "--mail-to",
        action="append",
        default=[],
        metavar="ADDR",
        help="e-mail the workbook to this address (repeatable)",
    )
    rep.add_argument(
        "--force", action="store_true", help="replace FILE when it exists (default: refuse)"
    )
    add_as_option(rep)
    rep.add_argument("--config", help=CONFIG_HELP)
    rep.set_defaults(handler=cmd_report)


def parameter_text(items: list[str], known: list[str]) -> dict[str, str]:
    """``--param`` options as submitted form fields; InvalidInput for a malformed or unknown one."""
    raw: dict[str, str] = {}
    for item in items:
        name, separator, value = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise InvalidInput(f"--param {item[:60]}: write it as NAME=VALUE")
        if name.split(".")[0] not in known:
            names = ", ".join(known) or "none"
            raise InvalidInput(f"--param {name[:60]}: the report has no such parameter ({names})")
        raw[name] = value
    return raw


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report (and mail it); print what was written and sent."""
    from datadesk.exports.reports_params import ParameterProblems
    from datadesk.exports.reports_service import XLSX_TYPE
    from datadesk.mailer import Attachment, check_address
    from datadesk.models.schema_version import require_current_schema
    from datadesk.runtime import open_runtime

    target = Path(args.output)
    if target.suffix.lower() != ".xlsx":
        raise InvalidInput(f"{target}: a report is a workbook; name the file .xlsx")
    if target.exists() and not args.force:
        raise InvalidInput(f"{target}: the file exists; use --force to replace it")
    if not target.parent.is_dir():
        raise InvalidInput(f"{target.parent}: no such folder")
    recipients = [check_address(address) for address in args.mail_to]
    runtime = open_runtime(settings)
    try:
        if recipients and not runtime.mailer.is_configured:
            raise InvalidInput("--mail-to: e-mail is not configured (set mail.host)")
        if args.as_user is not None:
            require_current_schema(runtime.engine, runtime.config.app_tables)
        actor = acting_user(runtime, args.as_user)
        service = runtime.reports
        spec = service.get(args.name)
        service.require(actor, spec)
        raw = parameter_text(args.param, list(spec.parameters))
        try:
            values = service.read_parameters(spec, actor, raw)
        except ParameterProblems as exc:
            problems = (f"--param {name}: {text}" for name, text in exc.errors.items())
            raise InvalidInput("; ".join(problems)) from None
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        os.close(handle)
        partial = Path(name)
        try:
            result = service.write(spec, actor, values, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        print(f"datadesk: wrote {target}: {result.summary()}")
        if recipients:
            runtime.mailer.send(
                recipients,
                f"{spec.title} ({result.generated_at})",
                result.message(),
                [Attachment(result.file_name, target.read_bytes(), XLSX_TYPE)],
            )
            print(f"datadesk: sent {result.file_name} to {', '.join(recipients)}")
    finally:
        runtime.engine.dispose()
    return 0
