"""Analytics engine: rollup cuboids, flow matrices and report tables (knows no app).

Apps feed it aggregated rows (plain dicts with dimension values and the three measures
`contracts`, `turnover_fen`, `technical_fen`) and get back `Table`s that render to JSON, CSV,
xlsx or text. Nothing here imports Django models or any techexchange app.
"""

from techexchange.analytics.cube import Cuboid, Measures, choose_cuboid, sum_by
from techexchange.analytics.render import to_csv, to_json, to_text, to_xlsx
from techexchange.analytics.tables import (
    Table,
    breakdown_table,
    flow_table,
    headline,
    region_table,
)

__all__ = [
    "Cuboid",
    "Measures",
    "Table",
    "breakdown_table",
    "choose_cuboid",
    "flow_table",
    "headline",
    "region_table",
    "sum_by",
    "to_csv",
    "to_json",
    "to_text",
    "to_xlsx",
]
