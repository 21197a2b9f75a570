"""Load the reference regions and blocs; idempotent, used by the data migration."""

from __future__ import annotations

from typing import Any

from techexchange.regions import data

__all__ = ["load_reference_regions"]


def load_reference_regions(region_model: Any, bloc_model: Any) -> int:
    """Create or update every reference region and bloc; return the number of regions."""
    rows: list[dict[str, Any]] = []
    for s in data.STATISTICAL:
        rows.append(dict(code=s.code, name_zh=s.name_zh, name_en=s.name_en, level="statistical"))
    for p in data.PROVINCES:
        rows.append(
            dict(
                code=p.code,
                name_zh=p.name_zh,
                name_en=p.name_en,
                level="province",
                stat_group=p.stat_group,
            )
        )
    for c in data.CITIES:
        rows.append(
            dict(
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                level="city",
                parent_id=c.code[:2] + "0000",
                latitude=round(c.lat, 5),
                longitude=round(c.lon, 5),
            )
        )
    for d in data.DISTRICTS:
        rows.append(
            dict(
                code=d.code,
                name_zh=d.name_zh,
                name_en=d.name_en,
                level="district",
                parent_id=d.code[:4] + "00",
                latitude=round(d.lat, 5),
                longitude=round(d.lon, 5),
            )
        )
    for row in rows:
        code = row.pop("code")
        region_model.objects.update_or_create(code=code, defaults=row)
    for b in data.BLOCS:
        bloc, _ = bloc_model.objects.update_or_create(
            code=b.code,
            defaults=dict(name_zh=b.name_zh, name_en=b.name_en, description=b.description),
        )
        bloc.members.set(region_model.objects.filter(code__in=b.members))
    return len(rows)
