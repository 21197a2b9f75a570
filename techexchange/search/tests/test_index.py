import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from techexchange.search.index import IndexNeedsRebuild, Ranking, SearchIndex
from techexchange.search.registry import DocType, KeywordField, NumericField, TextField

INSTRUMENT = DocType(
    name="instrument",
    text_fields=(TextField("name", weight=3), TextField("description")),
    keyword_fields=(KeywordField("province"), KeywordField("category")),
    numeric_fields=(NumericField("price"),),
    stored=("owner",),
)

DOCS: list[dict[str, Any]] = [
    {
        "id": "i1",
        "name": "激光共聚焦显微镜",
        "description": "用于细胞成像与荧光观察",
        "province": "上海",
        "category": "显微镜",
        "price": 300,
        "owner": "复旦大学",
    },
    {
        "id": "i2",
        "name": "扫描电子显微镜",
        "description": "材料表面形貌分析",
        "province": "江苏",
        "category": "显微镜",
        "price": 500,
    },
    {
        "id": "i3",
        "name": "高效液相色谱仪",
        "description": "有机物分离检测，可配合显微镜样品前处理",
        "province": "上海",
        "category": ["色谱", "分析"],
        "price": 120,
    },
    {
        "id": "i4",
        "name": "拉曼光谱仪 Raman",
        "description": "分子结构表征",
        "province": "浙江",
        "category": "光谱",
    },
]


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "ix", INSTRUMENT)
    ix.upsert(DOCS)
    return ix


def ids(index: SearchIndex, text: str, **kw) -> list[str]:
    return [h.id for h in index.search(text, **kw).hits]


def test_title_matches_rank_above_body_matches(index):
    found = ids(index, "显微镜")
    assert set(found) == {"i1", "i2", "i3"}
    assert found.index("i1") < found.index("i3")


def test_a_query_split_differently_from_the_document_still_matches(index):
    assert ids(index, "共聚焦")[0] == "i1"


def test_english_query_matches_case_insensitively(index):
    assert ids(index, "raman") == ["i4"]


def test_empty_query_lists_everything(index):
    assert index.search("").total == 4


def test_upsert_replaces_a_document_with_the_same_id(index):
    index.upsert([{"id": "i4", "name": "紫外分光光度计", "province": "浙江"}])
    assert index.count() == 4
    assert ids(index, "raman") == []
    assert ids(index, "分光光度计") == ["i4"]


def test_delete_removes_documents_and_ignores_unknown_ids(index):
    index.delete(["i1", "nope"])
    assert index.count() == 3
    assert "i1" not in ids(index, "显微镜")


def test_keyword_filters_accept_one_value_or_several(index):
    assert set(ids(index, "显微镜", filters={"province": "上海"})) == {"i1", "i3"}
    assert set(ids(index, "", filters={"province": ["江苏", "浙江"]})) == {"i2", "i4"}
    assert ids(index, "", filters={"category": "分析"}) == ["i3"]


def test_range_filter_is_inclusive_and_open_ended(index):
    assert set(ids(index, "", ranges={"price": (120, 300)})) == {"i1", "i3"}
    assert set(ids(index, "", ranges={"price": (None, 200)})) == {"i3"}


def test_filters_do_not_change_the_text_score(index):
    plain = {h.id: h.score for h in index.search("显微镜").hits}
    filtered = {h.id: h.score for h in index.search("显微镜", filters={"province": "上海"}).hits}
    assert filtered["i1"] == pytest.approx(plain["i1"])


def test_facets_count_values_over_all_matches(index):
    page = index.search("显微镜", facets=["province", "category"], limit=1)
    assert len(page.hits) == 1
    assert page.total == 3
    provinces = {f.value: f.count for f in page.facets["province"]}
    assert provinces == {"上海": 2, "江苏": 1}
    assert {f.value for f in page.facets["category"]} == {"显微镜", "色谱", "分析"}


def test_sorting_by_a_numeric_field(index):
    assert ids(index, "", sort="price", ranges={"price": (0, None)}) == ["i3", "i1", "i2"]
    assert ids(index, "", sort="-price", ranges={"price": (0, None)}) == ["i2", "i1", "i3"]


def test_pagination_walks_through_results_without_overlap(index):
    first = ids(index, "", limit=2)
    second = ids(index, "", limit=2, offset=2)
    assert len(first) == len(second) == 2
    assert not set(first) & set(second)


def test_hits_return_stored_fields_and_highlights(index):
    hit = index.search("共聚焦显微镜").hits[0]
    assert hit.doc["owner"] == "复旦大学"
    assert hit.doc["price"] == 300
    assert "<mark>" in hit.highlights["name"]


def test_unknown_filter_field_is_an_error(index):
    with pytest.raises(KeyError):
        index.search("", filters={"colour": "red"})


def test_a_query_of_stopwords_finds_nothing(index):
    assert index.search("的").total == 0


def test_documents_need_an_id(index):
    with pytest.raises(ValueError, match="id"):
        index.upsert([{"name": "无编号"}])


def test_rebuild_replaces_the_contents(index):
    index.rebuild([{"id": "n1", "name": "核磁共振波谱仪"}])
    assert index.count() == 1
    assert ids(index, "核磁共振") == ["n1"]


def test_searches_are_served_while_a_rebuild_runs(index):
    release = threading.Event()
    started = threading.Event()

    def slow_docs() -> Iterator[dict[str, str]]:
        yield {"id": "n1", "name": "核磁共振波谱仪"}
        started.set()
        release.wait(5)
        yield {"id": "n2", "name": "质谱仪"}

    worker = threading.Thread(target=lambda: index.rebuild(slow_docs()))
    worker.start()
    assert started.wait(5)
    # The old generation still answers, and writes made now survive the switch.
    assert set(ids(index, "显微镜")) == {"i1", "i2", "i3"}
    index.upsert([{"id": "late", "name": "电子探针"}])
    release.set()
    worker.join(10)
    assert set(ids(index, "")) == {"n1", "n2", "late"}


def test_another_process_sees_the_switch_after_a_rebuild(tmp_path, index):
    reader = SearchIndex(index.path, INSTRUMENT)
    assert reader.count() == 4
    index.rebuild([{"id": "n1", "name": "核磁共振波谱仪"}])
    assert ids(reader, "核磁共振") == ["n1"]
    assert len(list(index.path.glob("gen-*"))) <= 2


def test_reopening_keeps_the_documents(index):
    again = SearchIndex(index.path, INSTRUMENT)
    assert again.count() == 4


def test_a_changed_doc_type_asks_for_a_rebuild_but_still_serves(index):
    changed = DocType("instrument", (TextField("name"),), keyword_fields=(KeywordField("city"),))
    reopened = SearchIndex(index.path, changed)
    assert reopened.needs_rebuild
    assert reopened.search("显微镜").total == 3
    with pytest.raises(IndexNeedsRebuild):
        reopened.upsert([{"id": "x", "name": "光谱仪"}])
    reopened.rebuild([{"id": "x", "name": "光谱仪", "city": "杭州"}])
    assert not reopened.needs_rebuild
    assert ids(reopened, "", filters={"city": "杭州"}) == ["x"]


def test_feedback_brings_in_documents_without_the_query_terms(tmp_path):
    doc_type = DocType("paper", (TextField("title"),))
    docs = [
        {"id": "a", "title": "锂电池 正极 材料"},
        {"id": "b", "title": "锂电池 正极 电解液"},
        {"id": "c", "title": "正极 电解液 隔膜"},
        {"id": "d", "title": "水稻 育种"},
        {"id": "e", "title": "小麦 育种"},
    ]
    plain = SearchIndex(tmp_path / "plain", doc_type)
    plain.upsert(docs)
    assert "c" not in ids(plain, "锂电池")
    expanded = SearchIndex(tmp_path / "rm3", doc_type, ranking=Ranking(feedback_docs=2))
    expanded.upsert(docs)
    found = ids(expanded, "锂电池")
    assert found[:2] in (["a", "b"], ["b", "a"])
    assert "c" in found
    assert "d" not in found


# -- common terms (max_df), the query-term cap, uncounted searches ----------------------------

PAPER = DocType("paper", (TextField("title"),))
# 常见 is in 3 of 10 titles (common at max_df 0.2), 普遍 in 9 (more than half), 稀有 in one.
COMMON_DOCS = [
    {"id": "rare", "title": "稀有 常见 普遍"},
    {"id": "c1", "title": "常见 普遍 甲"},
    {"id": "c2", "title": "常见 普遍 乙"},
    *({"id": f"p{i}", "title": f"普遍 填充{i}"} for i in range(6)),
    {"id": "alone", "title": "其他 内容"},
]


def _pair(tmp_path: Path, ranking: Ranking) -> tuple[SearchIndex, SearchIndex]:
    plain = SearchIndex(tmp_path / "plain", PAPER)
    plain.upsert(COMMON_DOCS)
    cut = SearchIndex(tmp_path / "cut", PAPER, ranking=ranking)
    cut.upsert(COMMON_DOCS)
    return plain, cut


def test_common_terms_do_not_select_but_still_score(tmp_path):
    plain, cut = _pair(tmp_path, Ranking(max_df=0.2))
    assert set(ids(plain, "稀有 常见")) == {"rare", "c1", "c2"}
    page = cut.search("稀有 常见")
    assert [h.id for h in page.hits] == ["rare"]
    # The selected document keeps the full query's score (common terms rescored).
    full = {h.id: h.score for h in plain.search("稀有 常见").hits}
    assert page.hits[0].score == pytest.approx(full["rare"], rel=1e-5)


def test_a_query_of_common_terms_only_still_selects(tmp_path):
    plain, cut = _pair(tmp_path, Ranking(max_df=0.2))
    assert set(ids(cut, "常见")) == set(ids(plain, "常见")) == {"rare", "c1", "c2"}


def test_terms_in_more_than_half_of_the_documents_are_dropped(tmp_path):
    plain, cut = _pair(tmp_path, Ranking(max_df=0.2))
    page = cut.search("稀有 普遍")
    assert [h.id for h in page.hits] == ["rare"]
    alone = {h.id: h.score for h in plain.search("稀有").hits}
    assert page.hits[0].score == pytest.approx(alone["rare"], rel=1e-5)
    # ... unless nothing else is left to select with.
    assert len(ids(cut, "普遍", limit=20)) == 9


def test_query_term_cap_keeps_the_rarest_terms_selecting(tmp_path):
    plain, cut = _pair(tmp_path, Ranking(max_query_terms=1))
    page = cut.search("稀有 常见")
    assert [h.id for h in page.hits] == ["rare"]
    full = {h.id: h.score for h in plain.search("稀有 常见").hits}
    assert page.hits[0].score == pytest.approx(full["rare"], rel=1e-5)


def test_the_cutoff_also_keeps_common_terms_out_of_feedback(tmp_path):
    _, cut = _pair(tmp_path, Ranking(max_df=0.2, feedback_docs=3))
    # Feedback from "rare" would add 常见 (3 documents) without the cutoff.
    assert ids(cut, "稀有") == ["rare"]


def test_an_uncounted_search_reports_a_lower_bound(index):
    page = index.search("显微镜", limit=2, count=False)
    assert len(page.hits) == 2
    assert page.total == 2
    assert not page.exact_total
    counted = index.search("显微镜", limit=2)
    assert counted.total == 3
    assert counted.exact_total
    assert [h.id for h in counted.hits] == [h.id for h in page.hits]


def test_feedback_leaves_out_expansion_terms_too_weak_to_matter(tmp_path):
    doc_type = DocType("paper", (TextField("title"),))
    docs = [
        {"id": "a", "title": "锂电池 正极 材料"},
        {"id": "b", "title": "锂电池 正极 电解液"},
        {"id": "c", "title": "正极 电解液 隔膜"},
        {"id": "d", "title": "水稻 育种"},
        {"id": "e", "title": "小麦 育种"},
    ]
    kept = SearchIndex(tmp_path / "kept", doc_type, ranking=Ranking(feedback_docs=2))
    kept.upsert(docs)
    assert "c" in ids(kept, "锂电池")
    # A small share keeps strong expansion terms...
    small = Ranking(feedback_docs=2, feedback_min_share=0.1)
    some = SearchIndex(tmp_path / "some", doc_type, ranking=small)
    some.upsert(docs)
    found = ids(some, "锂电池")
    assert set(found[:2]) == {"a", "b"}
    assert "c" in found
    # ... while a share no expansion can reach leaves the first-pass query alone.
    none = SearchIndex(
        tmp_path / "none", doc_type, ranking=Ranking(feedback_docs=2, feedback_min_share=100.0)
    )
    none.upsert(docs)
    assert set(ids(none, "锂电池")) == {"a", "b"}


def test_a_doc_cache_keeps_its_searcher_until_another_writer_commits(index):
    # With doc_cache on, searches keep one searcher (and the documents read by address)
    # while the generation's meta.json is unchanged; a commit made through another object
    # (as by another process) must show in the very next search: changed stored fields,
    # a deleted document, a new one.
    rm3 = Ranking(feedback_docs=2)
    reader = SearchIndex(index.path, INSTRUMENT, doc_cache=100, ranking=rm3)
    first = reader.search("显微镜", limit=10)
    kept = reader._snap
    assert kept is not None
    again = reader.search("显微镜", limit=10)
    assert reader._snap is kept  # nothing changed: the same searcher
    assert [(h.id, h.score, h.doc) for h in again.hits] == [
        (h.id, h.score, h.doc) for h in first.hits
    ]
    assert reader.search_ids("显微镜", limit=10).hits[0].id == first.hits[0].id
    index.upsert([{**DOCS[0], "owner": "同济大学"}, {"id": "i9", "name": "透射电子显微镜"}])
    index.delete(["i2"])
    after = {h.id: h.doc for h in reader.search("显微镜", limit=10).hits}
    assert reader._snap is not kept
    assert after["i1"]["owner"] == "同济大学"
    assert "i9" in after and "i2" not in after
    fresh = SearchIndex(index.path, INSTRUMENT, ranking=rm3).search("显微镜", limit=10)
    assert list(after) == [h.id for h in fresh.hits]


@pytest.mark.parametrize("doc_cache", [0, 100])
def test_search_docs_gives_the_hits_of_search(index, doc_cache):
    reader = SearchIndex(
        index.path, INSTRUMENT, doc_cache=doc_cache, ranking=Ranking(feedback_docs=2)
    )
    for text, filters in (("显微镜", None), ("显微镜 光谱", {"province": "上海"}), ("", None)):
        page = reader.search(text, filters=filters, limit=3, count=False)
        docs = reader.search_docs(text, filters=filters, limit=3)
        assert docs == [(h.id, h.score, h.doc) for h in page.hits]
        assert docs and all(doc["id"] == doc_id for doc_id, _score, doc in docs)
