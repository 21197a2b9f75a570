"""The ids-only search, stored documents by id and facet counts over a set of ids."""

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import tantivy

from techexchange.search import index as index_module
from techexchange.search.index import IdPage, IndexNeedsRebuild, Ranking, SearchIndex
from techexchange.search.matching import MATCH_RANKING
from techexchange.search.registry import DocType, KeywordField, NumericField, TextField

THING = DocType(
    name="thing",
    text_fields=(TextField("title", weight=3), TextField("body")),
    keyword_fields=(KeywordField("province"), KeywordField("mode")),
    numeric_fields=(NumericField("price"),),
    stored=("label",),
)

WORDS = ["扫描", "电镜", "质谱", "色谱", "激光", "显微镜", "光谱", "材料", "细胞", "分析", "测试"]
PROVINCES = ["上海", "江苏", "浙江", "安徽"]
MODES = ["occupy", "entrusted", "training"]


def _corpus(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        # 分析 is in almost every document: common under MATCH_RANKING's max_df.
        body = " ".join(rng.choices(WORDS, k=rng.randint(3, 12))) + " 分析"
        # Rarer terms: 钙钛矿 in a tenth, 石墨烯 in a seventh, 常用 in two fifths.
        body += " 钙钛矿" * (i % 10 == 0) + " 石墨烯" * (i % 7 == 0) + " 常用" * (i % 5 < 2)
        doc: dict[str, Any] = {
            "id": str(i + 1),
            "title": " ".join(rng.choices(WORDS, k=rng.randint(1, 3))),
            "body": body,
            "province": rng.choice([*PROVINCES, ""]),
            "mode": sorted(set(rng.choices(MODES, k=rng.randint(0, 3)))),
            "label": f"第{i + 1}号",
        }
        if rng.random() < 0.8:
            doc["price"] = rng.randint(1, 20) * 50
        docs.append(doc)
    return docs


QUERIES = ["扫描电镜", "质谱 色谱", "分析", "钙钛矿 石墨烯 常用", "材料 细胞 测试 光谱", ""]


@pytest.fixture(params=["plain", "match"])
def corpus_index(request, tmp_path: Path) -> SearchIndex:
    ranking = Ranking() if request.param == "plain" else MATCH_RANKING
    ix = SearchIndex(tmp_path / request.param, THING, ranking=ranking)
    ix.upsert(_corpus(300))
    return ix


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"filters": {"province": ["上海", "江苏"]}},
        {"ranges": {"price": (100, 600)}},
        {"sort": "price"},
        {"sort": "-price", "filters": {"mode": "occupy"}},
        {"offset": 7, "limit": 15},
    ],
)
def test_ids_only_search_ranks_exactly_as_search(corpus_index, q, kw):
    kw = {"limit": 120, **kw}
    page = corpus_index.search(q, count=False, **kw)
    ids = corpus_index.search_ids(q, **kw)
    assert isinstance(ids, IdPage)
    assert [h.id for h in ids.hits] == [h.id for h in page.hits]
    assert [h.score for h in ids.hits] == [h.score for h in page.hits]
    assert ids.terms == page.terms
    assert ids.total == page.total and not ids.exact_total
    counted = corpus_index.search_ids(q, count=True, **kw)
    assert counted.total == corpus_index.search(q, **kw).total and counted.exact_total


def test_common_term_rescoring_reorders_the_ids_as_it_does_the_documents(tmp_path):
    # Under max_df 0.3 the term 常用 (two fifths of the documents) only scores the documents
    # the rarer terms selected: the rescoring must run in the ids-only search too.
    ix = SearchIndex(tmp_path / "ix", THING, ranking=Ranking(max_df=0.3))
    ix.upsert(_corpus(300))
    plain = SearchIndex(tmp_path / "plain", THING)
    plain.upsert(_corpus(300))
    q = "钙钛矿 石墨烯 常用"
    words, grams = ix.query_terms(q)
    searcher = ix._live().index.searcher()
    _selecting, common = ix._split_common(searcher, words, grams)
    assert common[0] or common[1]  # the case under test
    got = ix.search_ids(q, limit=50)
    assert [h.id for h in got.hits] == [h.id for h in ix.search(q, limit=50).hits]
    full = {h.id: h.score for h in plain.search(q, limit=300).hits}
    for h in got.hits:
        assert h.score == pytest.approx(full[h.id], rel=1e-5)


def test_ids_that_are_not_integers_come_back_as_they_were_given(tmp_path):
    ix = SearchIndex(tmp_path / "ix", THING)
    ix.upsert(
        [
            {"id": "007", "title": "扫描电镜"},
            {"id": "a-1", "title": "扫描电镜 电镜"},
            {"id": "18446744073709551616", "title": "扫描电镜 扫描"},  # 2**64: not a u64
            {"id": "42", "title": "扫描"},
        ]
    )
    got = ix.search_ids("扫描电镜", limit=10)
    assert sorted(h.id for h in got.hits) == ["007", "18446744073709551616", "42", "a-1"]
    assert [h.id for h in got.hits] == [h.id for h in ix.search("扫描电镜", limit=10).hits]


def test_documents_returns_the_stored_fields_of_the_ids_asked_for(corpus_index):
    by_id = {d["id"]: d for d in _corpus(300)}
    docs = corpus_index.documents(["5", "17", "5", "no-such-id", "300"])
    assert set(docs) == {"5", "17", "300"}
    for doc_id, doc in docs.items():
        assert doc["id"] == doc_id
        assert doc["title"] == by_id[doc_id]["title"]
        assert doc["label"] == by_id[doc_id]["label"]
    assert corpus_index.documents([]) == {}
    # Same fields as the hits of a search.
    hit = corpus_index.search("", filters={"province": "浙江"}, limit=1).hits[0]
    assert corpus_index.documents([hit.id])[hit.id] == hit.doc


def test_facet_counts_over_ids_count_what_the_documents_hold(corpus_index):
    docs = _corpus(300)
    chosen = [d for d in docs if int(d["id"]) % 3 == 0]
    counted = corpus_index.facet_counts([d["id"] for d in chosen], ["province", "mode"], size=10)
    provinces = Counter(d["province"] for d in chosen)
    modes = Counter(m for d in chosen for m in d["mode"])
    assert {f.value: f.count for f in counted["province"]} == dict(provinces)
    assert {f.value: f.count for f in counted["mode"]} == dict(modes)
    counts = [f.count for f in counted["province"]]
    assert counts == sorted(counts, reverse=True)
    assert corpus_index.facet_counts([], ["mode"]) == {"mode": []}
    with pytest.raises(KeyError):
        corpus_index.facet_counts(["1"], ["title"])


def test_facet_counts_match_the_facets_of_a_search_over_the_same_documents(corpus_index):
    page = corpus_index.search("质谱", facets=("province", "mode"), limit=300)
    counted = corpus_index.facet_counts([h.id for h in page.hits], ("province", "mode"))
    assert {n: {(f.value, f.count) for f in fs} for n, fs in counted.items()} == {
        n: {(f.value, f.count) for f in fs} for n, fs in page.facets.items()
    }


def test_within_restricts_a_search_to_ids_without_changing_scores(corpus_index):
    every = corpus_index.search_ids("质谱 色谱", limit=300)
    some = [h.id for h in every.hits[::4]]
    got = corpus_index.search_ids("质谱 色谱", within=some, limit=300)
    assert [h.id for h in got.hits] == some
    assert [h.score for h in got.hits] == [h.score for h in every.hits[::4]]
    assert corpus_index.search_ids("", within=[], limit=10).hits == []


class _FormatOne(SearchIndex):
    """An index as the engine built it before the ``_num`` field (format 1)."""

    def _build_schema(self) -> tantivy.Schema:
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("_id", stored=True, tokenizer_name="raw", fast=True)
        sb.add_text_field("_w", tokenizer_name="whitespace", index_option="freq")
        sb.add_text_field("_g", tokenizer_name="whitespace", index_option="freq")
        for kf in self.doc_type.keyword_fields:
            sb.add_text_field(kf.name, tokenizer_name="raw", fast=True)
        for nf in self.doc_type.numeric_fields:
            sb.add_float_field(nf.name, indexed=True, fast=True)
        sb.add_bytes_field("_src", stored=True, indexed=False)
        return sb.build()


def _format_one(path: Path, docs: list[dict[str, Any]], monkeypatch: Any) -> None:
    with monkeypatch.context() as m:
        m.setattr(index_module, "_FORMAT", 1)
        m.setattr(index_module, "_as_u64", lambda _doc_id: None)
        _FormatOne(path, THING).upsert(docs)


def test_an_index_of_the_previous_format_serves_reads_until_it_is_rebuilt(tmp_path, monkeypatch):
    docs = _corpus(60)
    _format_one(tmp_path / "ix", docs, monkeypatch)
    ix = SearchIndex(tmp_path / "ix", THING)
    assert ix.needs_rebuild
    # Reads still work: ids from the stored documents instead of the fast field.
    expected = [h.id for h in ix.search("质谱", limit=30).hits]
    assert expected and [h.id for h in ix.search_ids("质谱", limit=30).hits] == expected
    assert set(ix.documents(expected[:3])) == set(expected[:3])
    by_id = {d["id"]: d for d in docs}
    modes = Counter(m for i in expected for m in by_id[i]["mode"])
    assert {f.value: f.count for f in ix.facet_counts(expected, ["mode"])["mode"]} == modes
    before = sorted((-round(h.score, 5), h.id) for h in ix.search_ids("质谱", limit=100).hits)
    ix.rebuild(docs)
    assert not ix.needs_rebuild
    # The same hits and scores (equal scores may come in another order: the rebuild lays out
    # its own segments, so every hit is compared, not the first 30).
    after = sorted((-round(h.score, 5), h.id) for h in ix.search_ids("质谱", limit=100).hits)
    assert after == before and {i for _s, i in after} >= set(expected)


def test_the_first_write_upgrades_an_index_of_the_previous_format(tmp_path, monkeypatch):
    docs = _corpus(60)
    _format_one(tmp_path / "old", docs, monkeypatch)
    fresh = SearchIndex(tmp_path / "fresh", THING)
    fresh.upsert(docs)
    ix = SearchIndex(tmp_path / "old", THING)
    assert ix.needs_rebuild
    extra = {"id": "1000", "title": "质谱 质谱", "province": "上海", "mode": ["occupy"]}
    ix.upsert([extra])  # re-indexes the stored documents, then writes
    fresh.upsert([extra])
    assert not ix.needs_rebuild and ix.count() == 61
    for q in ("质谱", "扫描 电镜", ""):
        got = ix.search(q, limit=70, facets=("province", "mode"))
        want = fresh.search(q, limit=70, facets=("province", "mode"))
        # (Equal scores may come in another order: the rebuild lays out its own segments.)
        assert sorted((-h.score, h.id, str(h.doc)) for h in got.hits) == sorted(
            (-h.score, h.id, str(h.doc)) for h in want.hits
        )
        assert got.facets == want.facets
    assert ix.search_ids("质谱", limit=5).hits[0].id == "1000"
    # A changed doc type is not upgraded: its documents may lack the new fields.
    changed = DocType("thing", (TextField("title"),), keyword_fields=(KeywordField("city"),))
    with pytest.raises(IndexNeedsRebuild):
        SearchIndex(tmp_path / "old", changed).upsert([{"id": "x", "title": "光谱"}])
