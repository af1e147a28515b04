"""Observability: JSON logs with request context, Prometheus metrics, error reports, readiness.

``context``, ``logs`` and ``metrics`` are framework-free and may be used from any layer;
``error_reports`` and ``readiness`` use the models and the mailer; only ``web`` knows Starlette
and is imported by ``datadesk.app`` alone.
"""
