"""Start-up time of reflection on a 500-table legacy-style schema: cold (reflect) vs cached.

    .venv/bin/python bench/reflection_cache.py [--tables 500] [--url DATABASE_URL]

Without ``--url`` a fresh SQLite file in a temporary folder is used.  The PostgreSQL URL, when
given, must name an empty database that may be filled.  Every start runs in a fresh process, as
a real start does; prints the median of each and the ratio cold / cached.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from datadesk.models.engine import create_db_engine


def create_schema(engine: sa.Engine, count: int) -> None:
    """``count`` tables of 12 columns: key, FK to the previous table, flags, CHAR, NUMBERs."""
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        for n in range(count):
            parent = (
                f", PARENT_ID INTEGER REFERENCES T{n - 1:04d}(ID)" if n else ", PARENT_ID INTEGER"
            )
            conn.exec_driver_sql(
                f"CREATE TABLE T{n:04d} (ID {serial} PRIMARY KEY{parent}, "
                "CODE CHAR(8) NOT NULL UNIQUE, NAME VARCHAR(80) NOT NULL, "
                "ACTIVE CHAR(1) DEFAULT 'Y' NOT NULL CHECK (ACTIVE IN ('Y','N')), "
                "ARCHIVED NUMERIC(1) DEFAULT 0 CHECK (ARCHIVED IN (0,1)), "
                "STATUS VARCHAR(1) CHECK (STATUS IN ('A','I','P')), AMOUNT NUMERIC(12,2), "
                "QUANTITY NUMERIC(10), SCORE NUMERIC, CREATED_AT TIMESTAMP, NOTES TEXT)"
            )


_ONE_START = """
import sys, time
from pathlib import Path
from datadesk.config.schema import Config
from datadesk.models.engine import create_db_engine
from datadesk.models.reflection import reflect_catalog
engine = create_db_engine(sys.argv[1])
started = time.perf_counter()
catalog = reflect_catalog(engine, Config(), cache_dir=Path(sys.argv[2]), refresh=sys.argv[3] == "1")
print(time.perf_counter() - started, len(catalog.tables))
engine.dispose()
"""


def measure(url: str, cache_dir: Path, *, refresh: bool, runs: int) -> float:
    """Median seconds of ``reflect_catalog`` over ``runs`` starts, each in a fresh process."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _ONE_START, url, str(cache_dir), "1" if refresh else "0"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        times.append(float(out[0]))
    return statistics.median(times)


def main() -> None:
    """Build the schema, then time cold and cached starts side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--url", default="")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = create_db_engine(url)
        create_schema(engine, args.tables)
        engine.dispose()
        cache_dir = Path(folder) / "cache"
        cold = measure(url, cache_dir, refresh=True, runs=args.runs)
        cached = measure(url, cache_dir, refresh=False, runs=args.runs)
    print(f"backend          {engine.dialect.name}, {args.tables} tables x 12 columns")
    print(f"cold start       {cold:8.3f} s  (reflect + build catalog)")
    print(f"cached start     {cached:8.3f} s  (unpickle + build catalog)")
    print(f"ratio            {cold / cached:8.1f} x")


if __name__ == "__main__":
    main()
