"""Table and column comments of the demo schema, as the DBA documented them in the dictionary.

Each comment is written "Short name. Longer description.", the dictionary's house style: the
short name labels the column and the description becomes its help text.
"""

from __future__ import annotations

TABLE_COMMENTS: dict[str, str] = {
    "DEPARTMENTS": "Departments. Academic and administrative units; faculties head the hierarchy.",
    "STAFF_CATEGORIES": "Staff categories. Employment categories used by HR and health.",
    "STAFF": "Staff. Everyone employed or engaged by the university, current and former.",
    "PROGRAMMES": "Programmes. Degree and diploma programmes offered to students.",
    "STUDENTS": "Students. Everyone enrolled in a programme, including graduates and withdrawals.",
    "VACCINES": "Vaccines. Vaccines tracked by the occupational health service.",
    "IMMUNIZATIONS": "Immunizations. Vaccine doses given to staff and students, one row per dose.",
    "TRAININGS": "Trainings. Compulsory and optional trainings and how long a completion is valid.",
    "CERTIFICATIONS": "Certifications. Training completions, one per staff member and training.",
    "PLACEMENT_SITES": "Placement sites. Hospitals, clinics and services hosting students.",
    "CLINICAL_PLACEMENTS": "Clinical placements. A student at a site for part of a term.",
    "LEGACY_ACCESS_LOG": "Legacy access log. Kept from the previous records system for audits.",
    "ACCESS_REQUESTS": "Access requests. Staff requests for access to clinical and other systems.",
}

COLUMN_COMMENTS: dict[str, str] = {
    "DEPARTMENTS.DEPT_CODE": "Code. Short code used on forms and in reports.",
    "DEPARTMENTS.PARENT_DEPT_ID": "Part of. Faculty or unit this department belongs to.",
    "STAFF_CATEGORIES.IS_CLINICAL": "Clinical. Y when staff in this category have patient contact.",
    "STAFF.EMPLOYEE_NO": "Employee no. Six-digit payroll number, with leading zeros.",
    "STAFF.HIRE_DATE": "Hire date. First day of the current employment.",
    "STAFF.SALARY": "Salary. Annual base salary in dollars.",
    "STAFF.ACTIVE": "Active. 1 while employed, 0 after leaving.",
    "STAFF.SUPERVISOR_ID": "Supervisor. Line manager of the staff member.",
    "STAFF.NOTES": "Notes. Free-text remarks by HR.",
    "STUDENTS.STUDENT_NO": "Student no. Seven-digit student number, with leading zeros.",
    "STUDENTS.ENROL_DATE": "Enrolled. Date of first enrolment in the programme.",
    "STUDENTS.INTERNATIONAL": "International. Y for students on a student visa.",
    "VACCINES.DOSES_REQUIRED": "Doses required. Doses in the primary course.",
    "VACCINES.BOOSTER_MONTHS": "Booster after (months). Empty when no booster is needed.",
    "IMMUNIZATIONS.STAFF_ID": "Staff member. Empty when a student was vaccinated.",
    "IMMUNIZATIONS.STUDENT_ID": "Student. Empty when a staff member was vaccinated.",
    "IMMUNIZATIONS.DOSE_NO": "Dose. Position of this dose in the course, starting at 1.",
    "IMMUNIZATIONS.LOT_NUMBER": "Lot. Manufacturer lot number printed on the vial.",
    "IMMUNIZATIONS.VERIFIED": "Verified. Y once a health official has seen the evidence.",
    "TRAININGS.VALID_MONTHS": "Valid for (months). Empty when a completion never expires.",
    "CERTIFICATIONS.EXPIRY_DATE": "Expires. Date the certificate lapses; empty when it never does.",
    "CERTIFICATIONS.CERT_NO": "Certificate no. Number issued by the provider.",
    "CLINICAL_PLACEMENTS.TERM": "Term. Teaching period, year and semester, e.g. 2024S1.",
    "CLINICAL_PLACEMENTS.GRADE": "Grade. HD, D, CR, P or F; empty until assessed.",
    "ACCESS_REQUESTS.SYSTEM_NAME": "System. System the access is requested for.",
    "ACCESS_REQUESTS.STATUS": "Status. PENDING, APPROVED or REJECTED.",
}
