from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techexchange.search.index import SearchIndex
from techexchange.search.matching import (
    MATCH_RANKING,
    Candidate,
    FeedbackEvent,
    Matcher,
    Need,
    Weights,
    adjust_weights,
    rank_candidates,
)
from techexchange.search.registry import DocType, KeywordField, NumericField, TextField

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_structured_fit_breaks_a_text_tie():
    need = Need(text="锂电池", maturity_min=6, maturity_max=9, budget=100.0)
    early = Candidate("early", text_score=5.0, maturity=3, price_min=50)
    ready = Candidate("ready", text_score=5.0, maturity=7, price_min=50)
    ranked = rank_candidates(need, [early, ready])
    assert [m.candidate.id for m in ranked] == ["ready", "early"]


def test_components_report_value_and_weight():
    need = Need(text="x", ip_statuses=frozenset({"granted"}), modes=frozenset({"许可"}))
    cand = Candidate("c", text_score=1.0, ip_status="applied", modes=frozenset({"许可", "转让"}))
    match = rank_candidates(need, [cand])[0]
    ip = match.component("ip")
    mode = match.component("mode")
    assert ip is not None
    assert ip.value == 0.0
    assert ip.weight == Weights().ip
    assert mode is not None
    assert mode.value == 1.0
    assert match.component("price") is None  # the need states no budget


def test_missing_candidate_data_is_neutral():
    need = Need(text="x", budget=10.0)
    match = rank_candidates(need, [Candidate("c", text_score=1.0)])[0]
    price = match.component("price")
    assert price is not None
    assert price.value == 0.5


def test_price_above_budget_scores_lower_than_within_budget():
    need = Need(text="x", budget=100.0)
    cheap, dear = Candidate("a", price_min=80), Candidate("b", price_min=200)
    by_id = {m.candidate.id: m for m in rank_candidates(need, [dear, cheap])}
    assert by_id["a"].component("price").value == 1.0
    assert by_id["b"].component("price").value < 0.5


def test_region_preference_follows_the_order_given():
    need = Need(text="x", regions=("310000", "320000"))
    first = Candidate("sh", regions=frozenset({"310000"}))
    second = Candidate("js", regions=frozenset({"320000"}))
    other = Candidate("gd", regions=frozenset({"440000"}))
    ranked = rank_candidates(need, [other, second, first])
    assert [m.candidate.id for m in ranked] == ["sh", "js", "gd"]


def test_adjacent_chain_stages_count_partly():
    need = Need(text="x", chain_stages=frozenset({"电芯"}))
    neighbours = {"电芯": frozenset({"正极材料", "电池包"})}
    cand = Candidate("c", chain_stages=frozenset({"正极材料"}))
    match = rank_candidates(need, [cand], chain_neighbours=neighbours)[0]
    assert match.component("chain").value == 0.6


def test_stale_listings_lose_freshness():
    need = Need(text="x")
    fresh = Candidate("new", updated_at=NOW - timedelta(days=1))
    stale = Candidate("old", updated_at=NOW - timedelta(days=720))
    ranked = rank_candidates(need, [stale, fresh], now=NOW)
    assert ranked[0].candidate.id == "new"
    assert ranked[1].component("freshness").value < 0.1


def test_reason_names_the_strongest_components_in_both_languages():
    need = Need(text="x", maturity_min=5, maturity_max=8, budget=10.0)
    cand = Candidate("c", text_score=3.0, maturity=6, price_min=20.0)
    match = rank_candidates(need, [cand])[0]
    assert match.reason_zh.startswith("推荐理由：")
    assert "TRL 6" in match.reason_zh
    assert "报价高于预算" in match.reason_zh
    assert "maturity in the wanted window" in match.reason_en
    assert "priced above budget" in match.reason_en


def test_text_only_ranking_keeps_the_text_order():
    cands = [Candidate("a", text_score=1.0), Candidate("b", text_score=3.0)]
    assert [m.candidate.id for m in rank_candidates(Need(text="x"), cands)] == ["b", "a"]


def test_matcher_reads_candidates_from_the_index(tmp_path: Path):
    offers = DocType(
        "offer",
        (TextField("title", weight=3), TextField("summary")),
        keyword_fields=(KeywordField("modes"),),
        numeric_fields=(NumericField("price_min"),),
        stored=("maturity", "ip_status", "updated_at"),
    )
    index = SearchIndex(tmp_path / "offers", offers, ranking=MATCH_RANKING)
    index.upsert(
        [
            {
                "id": "o1",
                "title": "高镍正极材料制备技术",
                "summary": "锂电池",
                "maturity": 3,
                "modes": ["许可"],
                "price_min": 50,
            },
            {
                "id": "o2",
                "title": "高镍正极材料量产工艺",
                "summary": "锂电池",
                "maturity": 7,
                "modes": ["转让"],
                "price_min": 80,
                "updated_at": "2026-05-01T00:00:00+00:00",
            },
            {"id": "o3", "title": "水稻抗病育种", "summary": "分子标记", "maturity": 7},
        ]
    )
    need = Need(text="锂电池正极材料", maturity_min=6, maturity_max=9, budget=100.0)
    matches = Matcher(index).match(need, limit=5, now=NOW)
    assert [m.candidate.id for m in matches][:2] == ["o2", "o1"]
    assert "o3" not in [m.candidate.id for m in matches]
    assert matches[0].candidate.maturity == 7
    assert matches[0].component("freshness") is not None


def shown(**values: float) -> dict[str, float]:
    return values


def test_accepted_matches_raise_the_weights_of_their_strong_components():
    w = Weights()
    after = adjust_weights(w, [FeedbackEvent("accepted", shown(region=1.0, text=0.2))])
    assert after.region > w.region
    assert after.text < w.text  # weak in the accepted match: relatively lower
    assert sum(after.as_dict().values()) == pytest.approx(sum(w.as_dict().values()))


@pytest.mark.parametrize(
    ("reason", "component"),
    [("price", "price"), ("too_early", "maturity"), ("ip", "ip"), ("not_relevant", "text")],
)
def test_declines_with_a_reason_lower_the_matching_component(reason, component):
    w = Weights()
    event = FeedbackEvent("declined", shown(**{component: 0.9}), reason=reason)
    after = adjust_weights(w, [event])
    assert getattr(after, component) < getattr(w, component)


def test_a_decline_the_component_had_warned_about_raises_its_weight():
    w = Weights()
    after = adjust_weights(w, [FeedbackEvent("declined", shown(price=0.1), reason="price")])
    assert after.price > w.price


def test_declines_without_a_known_reason_change_nothing():
    w = Weights()
    assert adjust_weights(w, [FeedbackEvent("declined", reason="other")]) == w


def test_weights_never_reach_zero():
    w = Weights()
    events = [FeedbackEvent("declined", reason="price")] * 200
    assert adjust_weights(w, events).price > 0


def test_rank_candidates_limit_returns_the_same_best():
    need = Need(text="x", maturity_min=5, maturity_max=8, budget=100.0)
    cands = [
        Candidate(f"c{i}", text_score=float(i % 7), maturity=i % 10, price_min=30.0 * (i % 5))
        for i in range(30)
    ]
    full = rank_candidates(need, cands)
    top = rank_candidates(need, cands, limit=5)
    assert [(m.candidate.id, m.score, m.reason_zh) for m in top] == [
        (m.candidate.id, m.score, m.reason_zh) for m in full[:5]
    ]


def _offer_index(tmp_path: Path) -> SearchIndex:
    doc_type = DocType("offer", (TextField("title", weight=3),), stored=("maturity",))
    index = SearchIndex(tmp_path / "offers", doc_type, ranking=MATCH_RANKING)
    index.upsert(
        [
            {"id": "o1", "title": "高镍正极材料制备", "maturity": 7},
            {"id": "o2", "title": "固态电解质界面改性", "maturity": 5},
            {"id": "o3", "title": "水稻抗病育种", "maturity": 6},
            {"id": "o4", "title": "高镍正极材料回收", "maturity": 3},
        ]
    )
    return index


NEEDS = [
    Need(text="正极材料", maturity_min=6, maturity_max=9),
    Need(text="固态电解质"),
    Need(text="水稻育种"),
    Need(text="的"),
]


@pytest.mark.parametrize("processes", [1, 2])
def test_match_many_equals_one_by_one(tmp_path: Path, processes: int):
    matcher = Matcher(_offer_index(tmp_path))
    one_by_one = [matcher.match(n, limit=3, now=NOW) for n in NEEDS]
    batch = list(matcher.match_many(NEEDS, limit=3, now=NOW, processes=processes, chunk_size=1))
    assert batch == one_by_one
    assert [m.candidate.id for m in batch[0]][:2] == ["o1", "o4"]
    assert batch[3] == []


def test_a_doc_cache_reads_each_document_once_and_follows_changes(tmp_path: Path):
    doc_type = DocType(
        "offer",
        (TextField("title", weight=3),),
        keyword_fields=(KeywordField("fields"), KeywordField("modes")),
        numeric_fields=(NumericField("price_min"), NumericField("price_max")),
        stored=("maturity", "ip_status", "regions", "keywords", "chain_stages", "updated_at"),
    )
    doc = {
        "id": "o1",
        "title": "高镍正极材料制备",
        "fields": ["new_energy"],
        "modes": ["licence"],
        "price_min": 10.0,
        "price_max": 20.0,
        "maturity": 7,
        "ip_status": "granted",
        "regions": ["330000"],
        "keywords": ["正极"],
        "chain_stages": ["材料"],
        "updated_at": "2026-01-01T00:00:00+00:00",
    }
    plain = SearchIndex(tmp_path / "offers", doc_type, ranking=MATCH_RANKING)
    plain.upsert([doc, {**doc, "id": "o2", "title": "高镍正极材料回收", "maturity": 3}])
    cached = SearchIndex(tmp_path / "offers", doc_type, ranking=MATCH_RANKING, doc_cache=10)
    need = Need(text="高镍正极材料", maturity_min=6, keywords=frozenset({"正极"}))
    expected = Matcher(plain).match(need, now=NOW)
    matcher = Matcher(cached)
    first = matcher.match(need, now=NOW)
    again = matcher.match(need, now=NOW)
    assert first == expected and again == expected  # every Candidate field, score and note
    assert again[0].candidate.maturity == 7 and again[0].candidate.price_max == 20.0
    cached.upsert([{**doc, "maturity": 2}])  # o1 changes: its stored bytes differ
    changed = {m.candidate.id: m.candidate.maturity for m in matcher.match(need, now=NOW)}
    assert changed == {"o1": 2, "o2": 3}
