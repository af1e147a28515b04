"""The embedded demo: a medical university's legacy-style schema, seed data and config."""
