"""Shared fixtures of the importer tests: LibreOffice to turn openpyxl workbooks into the
formats openpyxl cannot write (.xls, .ods)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.importers.reader_files import rich_workbook

CONVERT_TIMEOUT = 120


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], Path]:
    """``convert(src, fmt)``: the file LibreOffice writes when converting ``src`` to ``fmt``
    (e.g. 'xls', 'ods'), in a fresh folder. One throw-away LibreOffice profile serves the
    session. Raises RuntimeError with soffice's output when no file comes out."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = tmp_path_factory.mktemp("libreoffice-profile")

    def convert(src: Path, fmt: str) -> Path:
        outdir = tmp_path_factory.mktemp("libreoffice-out")
        command = [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            str(src),
        ]
        # A session of its own, so that a hung conversion is killed with all its children.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=CONVERT_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(
                f"soffice did not convert {src.name} within {CONVERT_TIMEOUT} s"
            ) from exc
        target = outdir / f"{src.stem}.{fmt.split(':', 1)[0]}"
        if process.returncode != 0 or not target.is_file():
            raise RuntimeError(
                f"soffice could not convert {src.name} to {fmt} (exit {process.returncode}):\n"
                f"{stderr or stdout}"
            )
        return target

    return convert


@pytest.fixture(scope="session")
def rich_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rich_workbook(tmp_path_factory.mktemp("rich") / "report.xlsx")


@pytest.fixture(scope="session")
def rich_converted(rich_xlsx: Path, libreoffice: Callable[[Path, str], Path]) -> dict[str, Path]:
    """The rich workbook as LibreOffice writes it in .xls and .ods (two conversions only)."""
    return {fmt: libreoffice(rich_xlsx, fmt) for fmt in ("xls", "ods")}
