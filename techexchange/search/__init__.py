"""Search engine: text analysis, a tantivy index and explainable matching (knows no app).

Apps register a :class:`DocType`, feed documents to a :class:`SearchIndex` and, for the
technology market, rank candidates with :class:`Matcher`.
"""

from techexchange.search.analysis import Analyzed, analyze, analyze_all, cjk_bigrams
from techexchange.search.highlight import highlight
from techexchange.search.index import (
    FacetCount,
    Hit,
    IndexNeedsRebuild,
    Ranking,
    SearchIndex,
    SearchPage,
)
from techexchange.search.registry import (
    DocType,
    KeywordField,
    NumericField,
    Registry,
    TextField,
    registry,
)

__all__ = [
    "Analyzed",
    "DocType",
    "FacetCount",
    "Hit",
    "IndexNeedsRebuild",
    "KeywordField",
    "NumericField",
    "Ranking",
    "Registry",
    "SearchIndex",
    "SearchPage",
    "TextField",
    "analyze",
    "analyze_all",
    "cjk_bigrams",
    "highlight",
    "registry",
]
