"""Fixed reference content of the demo: code tables and the name pools people are drawn from."""

from __future__ import annotations

from datetime import date

# Every date in the demo is relative to this day, never to the clock.
REFERENCE_DATE = date(2026, 1, 1)
EMAIL_DOMAIN = "medu.example"

# (code, name, parent code, location)
DEPARTMENTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("MED", "Faculty of Medicine", None, "Main Campus, Building A"),
    ("NMW", "School of Nursing and Midwifery", None, "Main Campus, Building C"),
    ("HSC", "Faculty of Health Sciences", None, "North Campus"),
    ("ADM", "University Administration", None, "Main Campus, Chancellery"),
    ("IMED", "Internal Medicine", "MED", "Teaching Hospital, Level 4"),
    ("PAED", "Paediatrics", "MED", "Children's Wing, Level 2"),
    ("SURG", "Surgery", "MED", "Teaching Hospital, Level 6"),
    ("OBGY", "Obstetrics and Gynaecology", "MED", "Women's Wing, Level 3"),
    ("PSYC", "Psychiatry", "MED", "Mental Health Unit"),
    ("PATH", "Pathology", "MED", "Building B, Basement"),
    ("RADI", "Radiology", "MED", "Teaching Hospital, Level 1"),
    ("ANAE", "Anaesthesia", "MED", "Teaching Hospital, Level 6"),
    ("EMED", "Emergency Medicine", "MED", "Teaching Hospital, Ground"),
    ("GENP", "General Practice", "MED", "Community Clinic"),
    ("NURS", "Nursing", "NMW", "Main Campus, Building C"),
    ("MIDW", "Midwifery", "NMW", "Women's Wing, Level 1"),
    ("PHAR", "Pharmacy", "HSC", "North Campus, Building N2"),
    ("PHYS", "Physiotherapy", "HSC", "North Campus, Building N3"),
    ("PUBH", "Public Health", "HSC", "North Campus, Building N1"),
    ("OCCT", "Occupational Therapy", "HSC", "North Campus, Building N3"),
    ("OHS", "Occupational Health Service", "ADM", "Main Campus, Building D"),
    ("HRS", "Human Resources", "ADM", "Main Campus, Chancellery"),
)

# (code, name, is clinical, share of staff, salary range)
STAFF_CATEGORIES: tuple[tuple[str, str, str, float, tuple[int, int]], ...] = (
    ("ACA", "Academic", "N", 0.20, (78_000, 165_000)),
    ("CLN", "Clinician", "Y", 0.22, (95_000, 240_000)),
    ("NUR", "Nursing", "Y", 0.22, (62_000, 115_000)),
    ("RES", "Research", "N", 0.10, (60_000, 130_000)),
    ("ADM", "Administrative", "N", 0.14, (48_000, 98_000)),
    ("TEC", "Technical", "N", 0.09, (52_000, 96_000)),
    ("HON", "Honorary", "N", 0.03, (0, 0)),
)

# (code, name, department code, level, years, clinical)
PROGRAMMES: tuple[tuple[str, str, str, str, int, bool], ...] = (
    ("MBBS", "Bachelor of Medicine, Bachelor of Surgery", "MED", "BACHELOR", 6, True),
    ("BNURS", "Bachelor of Nursing", "NURS", "BACHELOR", 3, True),
    ("BMIDW", "Bachelor of Midwifery", "MIDW", "BACHELOR", 3, True),
    ("BPHARM", "Bachelor of Pharmacy", "PHAR", "BACHELOR", 4, True),
    ("BPHYSIO", "Bachelor of Physiotherapy", "PHYS", "BACHELOR", 4, True),
    ("BOCCTH", "Bachelor of Occupational Therapy", "OCCT", "BACHELOR", 4, True),
    ("BBIOMED", "Bachelor of Biomedical Science", "PATH", "BACHELOR", 3, False),
    ("DIPPARA", "Diploma of Paramedical Science", "EMED", "DIPLOMA", 2, True),
    ("MPH", "Master of Public Health", "PUBH", "MASTER", 2, False),
    ("MNURSPR", "Master of Nurse Practitioner", "NURS", "MASTER", 2, True),
    ("MPSYC", "Master of Clinical Psychiatry", "PSYC", "MASTER", 2, True),
    ("PHDMED", "Doctor of Philosophy (Medicine)", "MED", "DOCTORATE", 4, False),
)

# (code, name, primary doses, booster months, mandatory, lot prefix)
VACCINES: tuple[tuple[str, str, int, int | None, str, str], ...] = (
    ("HEPB", "Hepatitis B", 3, None, "Y", "HB"),
    ("MMR", "Measles, mumps and rubella", 2, None, "Y", "MR"),
    ("VAR", "Varicella (chickenpox)", 2, None, "Y", "VZ"),
    ("TDAP", "Tetanus, diphtheria and pertussis", 1, 120, "Y", "TD"),
    ("FLU", "Influenza (seasonal)", 1, 12, "Y", "FL"),
    ("COVID19", "COVID-19", 2, 12, "N", "CV"),
    ("HEPA", "Hepatitis A", 2, None, "N", "HA"),
    ("MENACWY", "Meningococcal ACWY", 1, None, "N", "MN"),
)

# (code, name, valid months or None, mandatory, who takes it: "all" or "clinical")
TRAININGS: tuple[tuple[str, str, int | None, str, str], ...] = (
    ("BLS", "Basic Life Support", 12, "Y", "clinical"),
    ("ALS", "Advanced Life Support", 24, "N", "clinical"),
    ("HANDHYG", "Hand Hygiene", 12, "Y", "clinical"),
    ("INFCTRL", "Infection Prevention and Control", 24, "Y", "clinical"),
    ("FIRESAFE", "Fire Safety and Evacuation", 12, "Y", "all"),
    ("PRIVACY", "Privacy and Health Records", 24, "Y", "all"),
    ("MANHAND", "Manual Handling", 36, "N", "all"),
    ("RADSAFE", "Radiation Safety", 36, "N", "clinical"),
    ("CHILDPROT", "Child Protection", 36, "Y", "clinical"),
    ("GCP", "Good Clinical Practice (research)", 36, "N", "all"),
    ("CYTOTOX", "Safe Handling of Cytotoxic Drugs", 24, "N", "clinical"),
    ("ORIENT", "Staff Orientation", None, "Y", "all"),
)
TRAINING_PROVIDERS = (
    "University Learning Centre",
    "Teaching Hospital Education Unit",
    "Resuscitation Council",
    "SafeWork Training Ltd",
)

SITE_AREAS = (
    "Northside", "Riverside", "Eastbrook", "Westmead Park", "Harbourview", "Southgate",
    "Hillcrest", "Lakeside", "Kingsford", "Greenvale", "Bayswater", "Mount Pleasant",
)  # fmt: skip
# (type, name suffix, capacity range)
SITE_KINDS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("HOSPITAL", "General Hospital", (40, 160)),
    ("HOSPITAL", "Children's Hospital", (20, 80)),
    ("CLINIC", "Medical Clinic", (4, 20)),
    ("COMMUNITY", "Community Health Centre", (6, 30)),
    ("AGED CARE", "Aged Care Residence", (4, 16)),
)
CITIES = ("Port Avalon", "Fairhaven", "Brookfield", "Aldermoor")

SYSTEMS = ("EMR", "PACS", "LIS", "PHARMACY", "ROSTER", "LMS", "FINANCE", "RESEARCH_DB")
REQUEST_REASONS = (
    "New starter in the department",
    "Change of role",
    "Covering for a colleague on leave",
    "Required for clinical duties",
    "Research project approved by the ethics committee",
    "Audit of records",
)

LEGACY_USERS = (
    "JSMITH", "MNGUYEN", "OHS_ADMIN", "APATEL", "KOBRIEN", "LCHEN", "HR_CLERK1", "HR_CLERK2",
    "BATCH", "RWILLIAMS",
)  # fmt: skip
LEGACY_ACTIONS = ("LOGIN", "LOGOUT", "VIEW", "UPDATE", "PRINT", "EXPORT")

FIRST_NAMES = (
    "James", "Olivia", "William", "Charlotte", "Jack", "Amelia", "Noah", "Isla", "Thomas",
    "Mia", "Henry", "Grace", "Oliver", "Chloe", "Lucas", "Sophie", "Ethan", "Emily", "Liam",
    "Ava", "Daniel", "Hannah", "Samuel", "Zoe", "Benjamin", "Ella", "Matthew", "Ruby",
    "Alexander", "Lily", "Mohammed", "Aisha", "Wei", "Mei", "Hiroshi", "Yuki", "Arjun",
    "Priya", "Rahul", "Ananya", "Minh", "Linh", "Jin", "Soo-ah", "Mateo", "Sofia", "Diego",
    "Valentina", "Kwame", "Amara", "Tariq", "Fatima", "Nikolai", "Anastasia", "Giorgos",
    "Eleni", "Sean", "Siobhan", "Rhys", "Niamh", "Tane", "Aroha", "Oscar", "Freya", "Leo",
    "Matilda", "Isaac", "Harper", "Elijah", "Evie", "Kai", "Ines", "Rafael", "Joao", "Ana",
    "Marta", "Pieter", "Anouk", "Lars", "Ingrid",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White", "Martin",
    "Anderson", "Thompson", "Nguyen", "Thomas", "Walker", "Harris", "Lee", "Ryan", "Robinson",
    "Kelly", "King", "Davis", "Wright", "Evans", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Patel", "Singh", "Chen", "Wang", "Li", "Zhang", "Kim", "Park", "Tran", "Le",
    "Pham", "Sato", "Tanaka", "Garcia", "Rodriguez", "Martinez", "Lopez", "Rossi", "Russo",
    "Papadopoulos", "Georgiou", "O'Brien", "O'Connor", "Murphy", "MacDonald", "Campbell",
    "Stewart", "Ahmed", "Khan", "Hussain", "Ali", "Kowalski", "Nowak", "Muller", "Schmidt",
    "Novak", "Horvath", "Silva", "Santos", "Ferreira", "Okafor", "Mensah", "Van der Berg",
    "De Jong", "Andersson", "Johansson", "Ngata", "Te Rangi", "Fitzgerald", "Kennedy",
    "Sutherland",
)  # fmt: skip

STAFF_NOTES = (
    "Part-time, 0.6 FTE.",
    "On parental leave until further notice.",
    "Conjoint appointment with the teaching hospital.",
    "Visa sponsorship; renewal handled by HR.",
    "Returned from secondment to the Ministry of Health.",
    "Working with children check on file.",
)
