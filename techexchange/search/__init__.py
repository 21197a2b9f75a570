"""Search engine: text analysis, a tantivy index and explainable matching (knows no app).

Apps register a :class:`DocType`, feed documents to a :class:`SearchIndex` and, for the
technology market, rank candidates with :class:`Matcher`.
"""

from techexchange.search.analysis import Analyzed, analyze, analyze_all, cjk_bigrams
from techexchange.search.highlight import highlight
from techexchange.search.index import (
    FacetCount,
    Hit,
    IdHit,
    IdPage,
    IndexNeedsRebuild,
    Ranking,
    SearchIndex,
    SearchPage,
)
from techexchange.search.matching import (
    MATCH_RANKING,
    Candidate,
    Component,
    FeedbackEvent,
    Match,
    Matcher,
    Need,
    Weights,
    adjust_weights,
    candidate_from_hit,
    rank_candidates,
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
    "MATCH_RANKING",
    "Analyzed",
    "Candidate",
    "Component",
    "DocType",
    "FacetCount",
    "FeedbackEvent",
    "Hit",
    "IdHit",
    "IdPage",
    "IndexNeedsRebuild",
    "KeywordField",
    "Match",
    "Matcher",
    "Need",
    "NumericField",
    "Ranking",
    "Registry",
    "SearchIndex",
    "SearchPage",
    "TextField",
    "Weights",
    "adjust_weights",
    "analyze",
    "analyze_all",
    "candidate_from_hit",
    "cjk_bigrams",
    "highlight",
    "rank_candidates",
    "registry",
]
