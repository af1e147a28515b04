"""DDL of the demo schema: a medical university's records as an Oracle DBA wrote them in 2010.

The statements are kept in Oracle's dialect (NUMBER, VARCHAR2, CLOB, upper-case unquoted names)
and translated per backend just before execution.  Surrogate keys come from one sequence per
table on PostgreSQL (Oracle style) and from ``INTEGER PRIMARY KEY`` on SQLite.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from datadesk.demo.comments import COLUMN_COMMENTS, TABLE_COMMENTS

# Creation order: every table comes after the tables it references.
DEMO_TABLES: tuple[str, ...] = (
    "DEPARTMENTS",
    "STAFF_CATEGORIES",
    "STAFF",
    "PROGRAMMES",
    "STUDENTS",
    "VACCINES",
    "IMMUNIZATIONS",
    "TRAININGS",
    "CERTIFICATIONS",
    "PLACEMENT_SITES",
    "CLINICAL_PLACEMENTS",
    "LEGACY_ACCESS_LOG",
    "ACCESS_REQUESTS",
)
DEMO_VIEWS: tuple[str, ...] = ("V_STAFF_DIRECTORY",)

# Tables whose key is a generated number, with the column that holds it.
SURROGATE_KEYS: dict[str, str] = {
    "DEPARTMENTS": "DEPT_ID",
    "STAFF": "STAFF_ID",
    "STUDENTS": "STUDENT_ID",
    "IMMUNIZATIONS": "IMM_ID",
    "PLACEMENT_SITES": "SITE_ID",
    "CLINICAL_PLACEMENTS": "PLACEMENT_ID",
    "ACCESS_REQUESTS": "REQUEST_ID",
}
DEMO_SEQUENCES: tuple[str, ...] = tuple(f"{table}_SEQ" for table in SURROGATE_KEYS)

# ``{KEY}`` marks the surrogate key column's type; see ``_translate``.
_TABLE_DDL: dict[str, str] = {
    "DEPARTMENTS": """
CREATE TABLE DEPARTMENTS (
    DEPT_ID         {KEY},
    DEPT_CODE       VARCHAR2(10)  NOT NULL,
    DEPT_NAME       VARCHAR2(60)  NOT NULL,
    PARENT_DEPT_ID  NUMBER(10),
    LOCATION        VARCHAR2(40),
    PHONE           VARCHAR2(20),
    CREATED_DATE    DATE          NOT NULL,
    CONSTRAINT DEPARTMENTS_PK PRIMARY KEY (DEPT_ID),
    CONSTRAINT DEPARTMENTS_CODE_UK UNIQUE (DEPT_CODE),
    CONSTRAINT DEPARTMENTS_PARENT_FK FOREIGN KEY (PARENT_DEPT_ID) REFERENCES DEPARTMENTS (DEPT_ID)
)""",
    "STAFF_CATEGORIES": """
CREATE TABLE STAFF_CATEGORIES (
    CATEGORY_CODE   CHAR(3)       NOT NULL,
    CATEGORY_NAME   VARCHAR2(40)  NOT NULL,
    IS_CLINICAL     CHAR(1)       DEFAULT 'N' NOT NULL,
    CONSTRAINT STAFF_CATEGORIES_PK PRIMARY KEY (CATEGORY_CODE),
    CONSTRAINT STAFF_CATEGORIES_CLIN_CK CHECK (IS_CLINICAL IN ('Y', 'N'))
)""",
    "STAFF": """
CREATE TABLE STAFF (
    STAFF_ID        {KEY},
    EMPLOYEE_NO     VARCHAR2(6)   NOT NULL,
    TITLE           VARCHAR2(6),
    FIRST_NAME      VARCHAR2(30)  NOT NULL,
    LAST_NAME       VARCHAR2(30)  NOT NULL,
    DEPT_ID         NUMBER(10)    NOT NULL,
    CATEGORY_CODE   CHAR(3)       NOT NULL,
    HIRE_DATE       DATE          NOT NULL,
    SALARY          NUMBER(10,2),
    EMAIL           VARCHAR2(60),
    PHONE_EXT       VARCHAR2(6),
    ACTIVE          NUMBER(1)     DEFAULT 1 NOT NULL,
    SUPERVISOR_ID   NUMBER(10),
    NOTES           CLOB,
    CONSTRAINT STAFF_PK PRIMARY KEY (STAFF_ID),
    CONSTRAINT STAFF_EMPNO_UK UNIQUE (EMPLOYEE_NO),
    CONSTRAINT STAFF_EMAIL_UK UNIQUE (EMAIL),
    CONSTRAINT STAFF_ACTIVE_CK CHECK (ACTIVE IN (0, 1)),
    CONSTRAINT STAFF_SALARY_CK CHECK (SALARY >= 0),
    CONSTRAINT STAFF_DEPT_FK FOREIGN KEY (DEPT_ID) REFERENCES DEPARTMENTS (DEPT_ID),
    CONSTRAINT STAFF_CATEGORY_FK FOREIGN KEY (CATEGORY_CODE)
        REFERENCES STAFF_CATEGORIES (CATEGORY_CODE),
    CONSTRAINT STAFF_SUPERVISOR_FK FOREIGN KEY (SUPERVISOR_ID) REFERENCES STAFF (STAFF_ID)
)""",
    "PROGRAMMES": """
CREATE TABLE PROGRAMMES (
    PROG_CODE       VARCHAR2(8)   NOT NULL,
    PROG_NAME       VARCHAR2(80)  NOT NULL,
    DEPT_ID         NUMBER(10)    NOT NULL,
    DEGREE_LEVEL    VARCHAR2(10)  NOT NULL,
    DURATION_YEARS  NUMBER(1)     NOT NULL,
    CONSTRAINT PROGRAMMES_PK PRIMARY KEY (PROG_CODE),
    CONSTRAINT PROGRAMMES_LEVEL_CK
        CHECK (DEGREE_LEVEL IN ('DIPLOMA', 'BACHELOR', 'MASTER', 'DOCTORATE')),
    CONSTRAINT PROGRAMMES_DEPT_FK FOREIGN KEY (DEPT_ID) REFERENCES DEPARTMENTS (DEPT_ID)
)""",
    "STUDENTS": """
CREATE TABLE STUDENTS (
    STUDENT_ID      {KEY},
    STUDENT_NO      VARCHAR2(10)  NOT NULL,
    FIRST_NAME      VARCHAR2(30)  NOT NULL,
    LAST_NAME       VARCHAR2(30)  NOT NULL,
    DATE_OF_BIRTH   DATE          NOT NULL,
    EMAIL           VARCHAR2(60),
    PROG_CODE       VARCHAR2(8)   NOT NULL,
    ENROL_DATE      DATE          NOT NULL,
    INTERNATIONAL   CHAR(1)       DEFAULT 'N' NOT NULL,
    STATUS          VARCHAR2(10)  DEFAULT 'ACTIVE' NOT NULL,
    CONSTRAINT STUDENTS_PK PRIMARY KEY (STUDENT_ID),
    CONSTRAINT STUDENTS_NO_UK UNIQUE (STUDENT_NO),
    CONSTRAINT STUDENTS_INTL_CK CHECK (INTERNATIONAL IN ('Y', 'N')),
    CONSTRAINT STUDENTS_STATUS_CK
        CHECK (STATUS IN ('ACTIVE', 'GRADUATED', 'WITHDRAWN', 'SUSPENDED')),
    CONSTRAINT STUDENTS_PROG_FK FOREIGN KEY (PROG_CODE) REFERENCES PROGRAMMES (PROG_CODE)
)""",
    "VACCINES": """
CREATE TABLE VACCINES (
    VACCINE_CODE    VARCHAR2(10)  NOT NULL,
    VACCINE_NAME    VARCHAR2(60)  NOT NULL,
    DOSES_REQUIRED  NUMBER(2)     NOT NULL,
    BOOSTER_MONTHS  NUMBER(3),
    MANDATORY       CHAR(1)       DEFAULT 'N' NOT NULL,
    CONSTRAINT VACCINES_PK PRIMARY KEY (VACCINE_CODE),
    CONSTRAINT VACCINES_MANDATORY_CK CHECK (MANDATORY IN ('Y', 'N')),
    CONSTRAINT VACCINES_DOSES_CK CHECK (DOSES_REQUIRED >= 1)
)""",
    "IMMUNIZATIONS": """
CREATE TABLE IMMUNIZATIONS (
    IMM_ID          {KEY},
    STAFF_ID        NUMBER(10),
    STUDENT_ID      NUMBER(10),
    VACCINE_CODE    VARCHAR2(10)  NOT NULL,
    DOSE_NO         NUMBER(2)     NOT NULL,
    ADMIN_DATE      DATE          NOT NULL,
    LOT_NUMBER      VARCHAR2(20),
    VERIFIED        CHAR(1)       DEFAULT 'N' NOT NULL,
    CONSTRAINT IMMUNIZATIONS_PK PRIMARY KEY (IMM_ID),
    CONSTRAINT IMMUNIZATIONS_PERSON_CK CHECK (STAFF_ID IS NOT NULL OR STUDENT_ID IS NOT NULL),
    CONSTRAINT IMMUNIZATIONS_DOSE_CK CHECK (DOSE_NO >= 1),
    CONSTRAINT IMMUNIZATIONS_VERIFIED_CK CHECK (VERIFIED IN ('Y', 'N')),
    CONSTRAINT IMMUNIZATIONS_STAFF_FK FOREIGN KEY (STAFF_ID) REFERENCES STAFF (STAFF_ID),
    CONSTRAINT IMMUNIZATIONS_STUDENT_FK FOREIGN KEY (STUDENT_ID) REFERENCES STUDENTS (STUDENT_ID),
    CONSTRAINT IMMUNIZATIONS_VACCINE_FK FOREIGN KEY (VACCINE_CODE)
        REFERENCES VACCINES (VACCINE_CODE)
)""",
    "TRAININGS": """
CREATE TABLE TRAININGS (
    TRAINING_CODE   VARCHAR2(12)  NOT NULL,
    TRAINING_NAME   VARCHAR2(80)  NOT NULL,
    VALID_MONTHS    NUMBER(3),
    MANDATORY       CHAR(1)       DEFAULT 'N' NOT NULL,
    CONSTRAINT TRAININGS_PK PRIMARY KEY (TRAINING_CODE),
    CONSTRAINT TRAININGS_MANDATORY_CK CHECK (MANDATORY IN ('Y', 'N'))
)""",
    "CERTIFICATIONS": """
CREATE TABLE CERTIFICATIONS (
    STAFF_ID        NUMBER(10)    NOT NULL,
    TRAINING_CODE   VARCHAR2(12)  NOT NULL,
    COMPLETED_DATE  DATE          NOT NULL,
    EXPIRY_DATE     DATE,
    CERT_NO         VARCHAR2(20)  NOT NULL,
    PROVIDER        VARCHAR2(60),
    CONSTRAINT CERTIFICATIONS_PK PRIMARY KEY (STAFF_ID, TRAINING_CODE),
    CONSTRAINT CERTIFICATIONS_NO_UK UNIQUE (CERT_NO),
    CONSTRAINT CERTIFICATIONS_DATES_CK
        CHECK (EXPIRY_DATE IS NULL OR EXPIRY_DATE >= COMPLETED_DATE),
    CONSTRAINT CERTIFICATIONS_STAFF_FK FOREIGN KEY (STAFF_ID) REFERENCES STAFF (STAFF_ID),
    CONSTRAINT CERTIFICATIONS_TRAINING_FK FOREIGN KEY (TRAINING_CODE)
        REFERENCES TRAININGS (TRAINING_CODE)
)""",
    "PLACEMENT_SITES": """
CREATE TABLE PLACEMENT_SITES (
    SITE_ID         {KEY},
    SITE_CODE       VARCHAR2(10)  NOT NULL,
    SITE_NAME       VARCHAR2(80)  NOT NULL,
    SITE_TYPE       VARCHAR2(20)  NOT NULL,
    CITY            VARCHAR2(40),
    CAPACITY        NUMBER(4),
    CONSTRAINT PLACEMENT_SITES_PK PRIMARY KEY (SITE_ID),
    CONSTRAINT PLACEMENT_SITES_CODE_UK UNIQUE (SITE_CODE),
    CONSTRAINT PLACEMENT_SITES_TYPE_CK
        CHECK (SITE_TYPE IN ('HOSPITAL', 'CLINIC', 'COMMUNITY', 'AGED CARE'))
)""",
    "CLINICAL_PLACEMENTS": """
CREATE TABLE CLINICAL_PLACEMENTS (
    PLACEMENT_ID    {KEY},
    STUDENT_ID      NUMBER(10)    NOT NULL,
    SITE_ID         NUMBER(10)    NOT NULL,
    TERM            VARCHAR2(6)   NOT NULL,
    START_DATE      DATE          NOT NULL,
    END_DATE        DATE          NOT NULL,
    SUPERVISOR_ID   NUMBER(10),
    GRADE           VARCHAR2(2),
    CONSTRAINT CLINICAL_PLACEMENTS_PK PRIMARY KEY (PLACEMENT_ID),
    CONSTRAINT CLINICAL_PLACEMENTS_TERM_UK UNIQUE (STUDENT_ID, TERM),
    CONSTRAINT CLINICAL_PLACEMENTS_DATES_CK CHECK (END_DATE >= START_DATE),
    CONSTRAINT CLINICAL_PLACEMENTS_GRADE_CK CHECK (GRADE IN ('HD', 'D', 'CR', 'P', 'F')),
    CONSTRAINT CLINICAL_PLACEMENTS_STUDENT_FK FOREIGN KEY (STUDENT_ID)
        REFERENCES STUDENTS (STUDENT_ID),
    CONSTRAINT CLINICAL_PLACEMENTS_SITE_FK FOREIGN KEY (SITE_ID)
        REFERENCES PLACEMENT_SITES (SITE_ID),
    CONSTRAINT CLINICAL_PLACEMENTS_SUPER_FK FOREIGN KEY (SUPERVISOR_ID)
        REFERENCES STAFF (STAFF_ID)
)""",
    # Kept from the system this one replaced: no key, no constraints beyond NOT NULL.
    "LEGACY_ACCESS_LOG": """
CREATE TABLE LEGACY_ACCESS_LOG (
    USERNAME        VARCHAR2(30)  NOT NULL,
    ACCESS_DATE     TIMESTAMP     NOT NULL,
    ACTION_CODE     VARCHAR2(10)  NOT NULL,
    DETAILS         VARCHAR2(200)
)""",
    "ACCESS_REQUESTS": """
CREATE TABLE ACCESS_REQUESTS (
    REQUEST_ID      {KEY},
    STAFF_ID        NUMBER(10)    NOT NULL,
    SYSTEM_NAME     VARCHAR2(20)  NOT NULL,
    STATUS          VARCHAR2(10)  DEFAULT 'PENDING' NOT NULL,
    REQUEST_DATE    DATE          NOT NULL,
    DECIDED_DATE    DATE,
    DECIDED_BY      NUMBER(10),
    REASON          VARCHAR2(200),
    CONSTRAINT ACCESS_REQUESTS_PK PRIMARY KEY (REQUEST_ID),
    CONSTRAINT ACCESS_REQUESTS_STATUS_CK CHECK (STATUS IN ('PENDING', 'APPROVED', 'REJECTED')),
    CONSTRAINT ACCESS_REQUESTS_STAFF_FK FOREIGN KEY (STAFF_ID) REFERENCES STAFF (STAFF_ID),
    CONSTRAINT ACCESS_REQUESTS_DECIDER_FK FOREIGN KEY (DECIDED_BY) REFERENCES STAFF (STAFF_ID)
)""",
}

# Foreign-key and search columns of the big tables, indexed as the grids sort and filter by them.
_INDEX_DDL: tuple[str, ...] = (
    "CREATE INDEX STAFF_DEPT_IX ON STAFF (DEPT_ID)",
    "CREATE INDEX STAFF_LAST_NAME_IX ON STAFF (LAST_NAME)",
    "CREATE INDEX STUDENTS_PROG_IX ON STUDENTS (PROG_CODE)",
    "CREATE INDEX STUDENTS_LAST_NAME_IX ON STUDENTS (LAST_NAME)",
    "CREATE INDEX IMMUNIZATIONS_STAFF_IX ON IMMUNIZATIONS (STAFF_ID)",
    "CREATE INDEX IMMUNIZATIONS_STUDENT_IX ON IMMUNIZATIONS (STUDENT_ID)",
    "CREATE INDEX IMMUNIZATIONS_VACCINE_IX ON IMMUNIZATIONS (VACCINE_CODE)",
    "CREATE INDEX IMMUNIZATIONS_DATE_IX ON IMMUNIZATIONS (ADMIN_DATE)",
    "CREATE INDEX CLINICAL_PLACEMENTS_SITE_IX ON CLINICAL_PLACEMENTS (SITE_ID)",
    "CREATE INDEX ACCESS_REQUESTS_STAFF_IX ON ACCESS_REQUESTS (STAFF_ID)",
)

_VIEW_DDL = """
CREATE VIEW V_STAFF_DIRECTORY AS
SELECT S.STAFF_ID       AS STAFF_ID,
       S.EMPLOYEE_NO    AS EMPLOYEE_NO,
       S.TITLE          AS TITLE,
       S.LAST_NAME      AS LAST_NAME,
       S.FIRST_NAME     AS FIRST_NAME,
       S.EMAIL          AS EMAIL,
       S.PHONE_EXT      AS PHONE_EXT,
       D.DEPT_CODE      AS DEPT_CODE,
       D.DEPT_NAME      AS DEPT_NAME,
       C.CATEGORY_NAME  AS CATEGORY_NAME
  FROM STAFF S
  JOIN DEPARTMENTS D ON D.DEPT_ID = S.DEPT_ID
  JOIN STAFF_CATEGORIES C ON C.CATEGORY_CODE = S.CATEGORY_CODE
 WHERE S.ACTIVE = 1"""

_ORACLE_TYPES = (
    (re.compile(r"\bNUMBER\("), "NUMERIC("),
    (re.compile(r"\bVARCHAR2\("), "VARCHAR("),
    (re.compile(r"\bCLOB\b"), "TEXT"),
)


def _translate(ddl: str, dialect: str, table: str) -> str:
    """Rewrite Oracle types and the surrogate-key marker for one backend."""
    for pattern, replacement in _ORACLE_TYPES:
        ddl = pattern.sub(replacement, ddl)
    if dialect == "postgresql":
        key = f"NUMERIC(10) DEFAULT nextval('{table}_SEQ') NOT NULL"
    else:
        # SQLite assigns the rowid only to a column declared exactly INTEGER PRIMARY KEY.
        key = "INTEGER NOT NULL"
    return ddl.replace("{KEY}", key).strip()


def schema_statements(dialect: str) -> list[str]:
    """Every statement that creates the demo schema on a backend ('sqlite' or 'postgresql')."""
    if dialect not in {"sqlite", "postgresql"}:
        raise ValueError(f"the demo schema supports sqlite and postgresql, not {dialect}")
    statements: list[str] = []
    if dialect == "postgresql":
        statements += [f"CREATE SEQUENCE {name} START WITH 1" for name in DEMO_SEQUENCES]
    statements += [_translate(_TABLE_DDL[table], dialect, table) for table in DEMO_TABLES]
    statements += list(_INDEX_DDL)
    statements.append(_VIEW_DDL.strip())
    if dialect == "postgresql":
        statements += _comment_statements()
    return statements


def _comment_statements() -> list[str]:
    """COMMENT ON statements for tables and columns (PostgreSQL; SQLite has no comments)."""
    statements = [
        f"COMMENT ON TABLE {table} IS {_quote(text)}" for table, text in TABLE_COMMENTS.items()
    ]
    statements += [
        f"COMMENT ON COLUMN {column} IS {_quote(text)}" for column, text in COLUMN_COMMENTS.items()
    ]
    return statements


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def create_schema(conn: sa.Connection) -> None:
    """Create the demo tables, indexes, view, sequences and comments on this connection."""
    for statement in schema_statements(conn.dialect.name):
        conn.exec_driver_sql(statement)


def drop_schema(conn: sa.Connection) -> None:
    """Drop everything ``create_schema`` creates, dependents first; missing objects are skipped."""
    for view in DEMO_VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
    for table in reversed(DEMO_TABLES):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    if conn.dialect.name == "postgresql":
        for sequence in DEMO_SEQUENCES:
            conn.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {sequence}")


def reset_sequences(conn: sa.Connection) -> None:
    """Move each key sequence past the highest key present, so new rows get fresh keys."""
    if conn.dialect.name != "postgresql":
        return
    for table, column in SURROGATE_KEYS.items():
        conn.exec_driver_sql(
            f"SELECT setval('{table}_SEQ', "
            f"CAST(COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1 AS BIGINT), false)"
        )
