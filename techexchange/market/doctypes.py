"""The market's search document types (no Django: the benchmarks import them as they are)."""

from __future__ import annotations

from techexchange.search import DocType, KeywordField, NumericField, TextField

__all__ = ["OFFER_DOC", "REQUEST_DOC"]

_TEXT = (
    TextField("title", weight=3),
    TextField("keywords_text", weight=2),
    TextField("summary", weight=1),
    TextField("body", weight=1),
)
_KEYWORDS = (KeywordField("fields"), KeywordField("province"), KeywordField("modes"))
_NUMERIC = (NumericField("price_min"), NumericField("price_max"))
_STORED = (
    "title_en",
    "maturity",
    "ip_status",
    "regions",
    "keywords",
    "chain_stages",
    "updated_at",
    "owner_id",
    "maturity_min",
    "maturity_max",
)

OFFER_DOC = DocType(
    name="market_offer",
    text_fields=_TEXT,
    keyword_fields=_KEYWORDS,
    numeric_fields=_NUMERIC,
    stored=_STORED,
)
REQUEST_DOC = DocType(
    name="market_request",
    text_fields=_TEXT,
    keyword_fields=_KEYWORDS,
    numeric_fields=_NUMERIC,
    stored=_STORED,
)
