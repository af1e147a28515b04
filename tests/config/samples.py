"""Sample config text and a helper to collect the problems reported for a text."""

from __future__ import annotations

import pytest

from datadesk.config.loader import parse_config
from datadesk.errors import ConfigError

VALID = """\
database:
  schema: MEDUNI
  include: ['STAFF*', DEPARTMENT]
  exclude: ['*_BAK']
  include_views: false
  pool_size: 8
app:
  title: Records
  page_size: 100
  page_size_options: [50, 100]
  count_cap: 5000
  count_cache_seconds: 0
  select_limit: 300
  reflection_cache: false
tables:
  STAFF:
    label: Staff member
    label_plural: Staff
    key: [staff_id]
    list_columns: [staff_id, last_name]
    search: [last_name]
    filters:
      - department_id
      - active
    default_sort: [-hired_on, last_name]
    page_size: 25
    row_label: '{last_name}, {first_name}'
    columns:
      ACTIVE: {flag: yn}
      is_external:
        flag: '01'
        widget: select
      salary:
        hidden: true
"""


def config_problems(text: str, source: str = "datadesk.yaml") -> list[str]:
    """The lines of the ConfigError that parsing ``text`` raises."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source)
    return str(caught.value).splitlines()
