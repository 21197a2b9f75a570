"""A tantivy-backed full-text index built from a :class:`~techexchange.search.registry.DocType`.

Text is analysed in Python (:mod:`techexchange.search.analysis`) and handed to tantivy as
whitespace-separated tokens in two ranked fields, ``_w`` (words) and ``_g`` (CJK bigrams and
Latin words); tantivy scores each with BM25 (k1 = 1.2, b = 0.75) and the query sums them.
Field weights are applied BM25F-style by repeating a field's tokens, so length normalisation is
pooled over the whole document.

Layout on disk::

    <path>/CURRENT           name of the live generation (replaced atomically)
    <path>/gen-000001/        a tantivy index plus doctype.json

:meth:`SearchIndex.rebuild` builds a new generation next to the live one while searches and
writes go on, replays the writes made meanwhile, then switches ``CURRENT``. Readers in other
processes notice the switch on their next search.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from techexchange.search.analysis import analyze_all
from techexchange.search.highlight import highlight
from techexchange.search.registry import DocType

__all__ = [
    "FacetCount",
    "Hit",
    "IdHit",
    "IdPage",
    "IndexNeedsRebuild",
    "Ranking",
    "SearchIndex",
    "SearchPage",
]

Doc = Mapping[str, Any]
Filters = Mapping[str, str | Sequence[str]]
Ranges = Mapping[str, tuple[float | None, float | None]]
_Terms = tuple[dict[str, float], dict[str, float]]  # (words, grams): term → query weight

_CURRENT = "CURRENT"
_SIGNATURE = "doctype.json"
_FORMAT = 2  # 2: the ``_num`` fast field (ids-only search)
_U64_MAX = 2**64 - 1


class IndexNeedsRebuild(RuntimeError):
    """The index on disk was built for another doc type; rebuild it before writing."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """Text-ranking parameters; the defaults were chosen on half of the match-dev queries.

    ``feedback_docs`` > 0 turns on pseudo-relevance feedback (RM3): the top documents of a
    first pass lend their most characteristic terms to a second pass.

    ``max_df`` < 1 makes a query term found in more than that share of the documents
    *common* (like Lucene's common-terms query): common terms do not select candidates, since
    their posting lists span most of the index and cost time per matching document while their
    idf is small; they only score the candidates the other terms retrieved (``rescore``), so a
    result's score is the same as with the full query. When every term is common they select
    as usual. ``max_query_terms`` > 0 keeps only that many selecting terms of the analysed
    query (highest weight × idf first), so a long pasted text cannot make a query of hundreds
    of terms. ``feedback_min_share`` > 0 leaves out the weakest expansion terms while, all
    together, they could add less than that share of the last feedback document's score: each
    would cost a posting list and none could reorder the top documents by more. The defaults
    change nothing; :data:`MATCH_RANKING` sets all three.
    """

    word_weight: float = 1.0
    gram_weight: float = 1.0
    feedback_docs: int = 0
    feedback_terms: int = 30
    feedback_weight: float = 0.5
    max_df: float = 1.0
    max_query_terms: int = 0
    rescore: bool = True
    feedback_min_share: float = 0.0


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the document's stored fields, its score and highlighted snippets."""

    id: str
    score: float
    doc: dict[str, Any]
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FacetCount:
    """How many matching documents hold *value* in a keyword field."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results with the total count and the requested facet counts.

    ``total`` counts all matches when ``exact_total``; a search made with ``count=False``
    reports ``offset + len(hits)`` instead (a lower bound) and ``exact_total`` False.
    """

    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetCount]]
    terms: list[str]
    took_ms: float
    exact_total: bool = True


@dataclass(frozen=True, slots=True)
class IdHit:
    """One result of :meth:`SearchIndex.search_ids`: a document's id and its score."""

    id: str
    score: float


@dataclass(frozen=True, slots=True)
class IdPage:
    """The ranked ids of a search, without stored documents, highlights or facets.

    ``total`` is as in :class:`SearchPage`: exact when ``exact_total``, else a lower bound.
    """

    hits: list[IdHit]
    total: int
    terms: list[str]
    took_ms: float
    exact_total: bool = False


@dataclass(frozen=True, slots=True)
class _Plan:
    """A search's query, its score-only (common) terms, its analysed terms and its sort."""

    query: tantivy.Query
    common: _Terms
    terms: list[str]
    order: dict[str, Any]


# (score, address, id, stored fields or None): one selected document.
_Row = tuple[float, tuple[int, int], str, dict[str, Any] | None]


@dataclass(slots=True)
class _Snapshot:
    """One searcher kept while the generation's ``meta.json`` is unchanged (``doc_cache``).

    tantivy rewrites ``meta.json`` (atomically) on every commit and merge, and its content
    (segments, their deletes, the opstamp) names the searched state exactly: while it reads
    the same, the searcher, document frequencies and stored documents by address are those
    of the index on disk.
    """

    gen: _Generation
    meta: bytes
    searcher: tantivy.Searcher
    freqs: _DocFreqs
    stored: dict[tuple[int, int], tuple[str, bytes]] = field(default_factory=dict)
    decoded: dict[tuple[int, int], tuple[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(slots=True)
class _Generation:
    name: str
    index: tantivy.Index
    stamp: tuple[int, int]
    compatible: bool
    older_format: bool = False  # same doc type, built by an earlier engine format


def _signature(doc_type: DocType) -> dict[str, Any]:
    sig = asdict(doc_type)
    sig.pop("_names", None)
    sig["format"] = _FORMAT
    normalised: dict[str, Any] = json.loads(json.dumps(sig))  # tuples compare as lists
    return normalised


_K1 = 1.2  # tantivy's BM25 k1: a term scores at most idf × (k1 + 1) × boost


def _idf(df: int, n_docs: int) -> float:
    """BM25's idf, as tantivy computes it."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def _as_u64(doc_id: str) -> int | None:
    """The id as a u64 when it is one written canonically (``"42"``, not ``"042"``), else None."""
    if not doc_id.isascii() or not doc_id.isdigit():
        return None
    num = int(doc_id)
    return num if num <= _U64_MAX and str(num) == doc_id else None


class _DocFreqs(dict[tuple[str, str], int]):
    """``searcher.doc_freq`` memoised for one searcher: a search asks for many terms twice."""

    __slots__ = ("searcher",)

    def __init__(self, searcher: tantivy.Searcher) -> None:
        super().__init__()
        self.searcher = searcher

    def __missing__(self, key: tuple[str, str]) -> int:
        df = self[key] = int(self.searcher.doc_freq(*key))
        return df


def _from_json(raw: bytes) -> Any:
    """``json.loads(raw)`` for our stored bytes (UTF-8 as written), without its detection of
    the encoding: decoded a few thousand times a second in a batch."""
    return _JSON_DECODE(raw.decode())


_JSON_DECODE = json.JSONDecoder().decode


def _src_of(stored: tantivy.Document) -> bytes:
    """A stored document's ``_src`` bytes (``get_first``: one conversion, not the whole doc's)."""
    raw = stored.get_first("_src")
    if not isinstance(raw, bytes):
        raise TypeError("stored document without _src bytes")
    return raw


def _address(addr: tantivy.DocAddress) -> tuple[int, int]:
    return (addr.segment_ord, addr.doc)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if v is not None]
    return [value]


class SearchIndex:
    """Full-text search over one doc type: ``upsert``, ``delete``, ``search``, ``rebuild``.

    Thread-safe in one process: writes are serialised, searches never wait for them. Several
    processes may search the same directory; only one should write at a time (tantivy holds a
    lock while a write is in progress).

    ``doc_cache`` > 0 keeps up to that many decoded stored documents (and, for feedback, their
    analysed terms), keyed by their stored bytes, so a batch in which the same documents come
    back again and again decodes each once. Hits then share their ``doc`` dict with later
    searches: treat it as read-only. Searches then also keep their searcher, document
    frequencies and the stored documents read, by address, while the generation's
    ``meta.json`` reads the same (one small file read a search); a commit or merge made by
    any process changes it, and the next search reloads.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        doc_type: DocType,
        *,
        ranking: Ranking | None = None,
        writer_heap_bytes: int = 64_000_000,
        doc_cache: int = 0,
    ) -> None:
        self.path = Path(path)
        self.doc_cache = doc_cache
        self._docs: dict[tuple[str, bytes], dict[str, Any]] = {}
        self._snap: _Snapshot | None = None
        self._id_terms: dict[str, tuple[tantivy.Occur, tantivy.Query]] = {}
        self._analysed: dict[bytes, tuple[Counter[str], Counter[str], int, int]] = {}
        self.doc_type = doc_type
        self.ranking = ranking or Ranking()
        self._writer_heap = writer_heap_bytes
        self._lock = threading.RLock()
        self._journal: list[tuple[str, Any]] | None = None
        self._schema = self._build_schema()
        self.path.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not (self.path / _CURRENT).exists():
                name = self._new_generation_dir()
                tantivy.Index(self._schema, path=str(self.path / name))
                self._write_signature(name)
                self._point_to(name)
            self._gen = self._open_current()

    # -- schema and generations -------------------------------------------------------------

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
        # Last, so the fields before keep their numbers in generations built without it.
        sb.add_unsigned_field("_num", fast=True)
        return sb.build()

    def _new_generation_dir(self) -> str:
        existing = sorted(p.name for p in self.path.glob("gen-*"))
        number = int(existing[-1].split("-")[1]) + 1 if existing else 1
        name = f"gen-{number:06d}"
        (self.path / name).mkdir()
        return name

    def _write_signature(self, name: str) -> None:
        text = json.dumps(_signature(self.doc_type), ensure_ascii=False, sort_keys=True)
        (self.path / name / _SIGNATURE).write_text(text, encoding="utf-8")

    def _point_to(self, name: str) -> None:
        tmp = self.path / f"{_CURRENT}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.path / _CURRENT)

    def _stamp(self) -> tuple[int, int]:
        st = os.stat(self.path / _CURRENT)
        return (st.st_ino, st.st_mtime_ns)

    def _open_current(self) -> _Generation:
        stamp = self._stamp()
        name = (self.path / _CURRENT).read_text(encoding="utf-8").strip()
        sig_path = self.path / name / _SIGNATURE
        built = json.loads(sig_path.read_text(encoding="utf-8")) if sig_path.exists() else None
        wanted = _signature(self.doc_type)
        compatible = built == wanted
        older = (
            isinstance(built, dict)
            and isinstance(built.get("format"), int)
            and built["format"] < _FORMAT
            and {k: v for k, v in built.items() if k != "format"}
            == {k: v for k, v in wanted.items() if k != "format"}
        )
        index = tantivy.Index.open(str(self.path / name))
        return _Generation(
            name=name, index=index, stamp=stamp, compatible=compatible, older_format=older
        )

    def _live(self) -> _Generation:
        """The live generation, following a switch made by another process."""
        gen = self._gen
        try:
            if self._stamp() != gen.stamp:
                with self._lock:
                    if self._stamp() != self._gen.stamp:
                        self._gen = self._open_current()
                    gen = self._gen
        except FileNotFoundError:  # CURRENT is being replaced right now
            pass
        return gen

    @property
    def needs_rebuild(self) -> bool:
        """True when the live generation was built for a different doc type."""
        return not self._live().compatible

    # -- writing ---------------------------------------------------------------------------

    def _document(self, doc: Doc) -> tantivy.Document:
        dt = self.doc_type
        doc_id = doc.get("id")
        if doc_id is None or str(doc_id) == "":
            raise ValueError("every document needs an 'id'")
        out = tantivy.Document()
        out.add_text("_id", str(doc_id))
        words: list[str] = []
        grams: list[str] = []
        src: dict[str, Any] = {}
        for tf in dt.text_fields:
            text = doc.get(tf.name) or ""
            if not isinstance(text, str):
                raise TypeError(f"text field {tf.name!r} must be a string")
            if text:
                analysed = analyze_all(text)
                words.extend(analysed.words * tf.weight)
                grams.extend(analysed.grams * tf.weight)
                src[tf.name] = text
        out.add_text("_w", " ".join(words))
        out.add_text("_g", " ".join(grams))
        for kf in dt.keyword_fields:
            values = [str(v) for v in _values(doc.get(kf.name))]
            for v in values:
                out.add_text(kf.name, v)
            if values:
                src[kf.name] = values if isinstance(doc.get(kf.name), list | tuple) else values[0]
        for nf in dt.numeric_fields:
            value = doc.get(nf.name)
            if value is not None:
                number = float(value)
                if math.isnan(number):
                    continue
                out.add_float(nf.name, number)
                src[nf.name] = value
        for name in dt.stored:
            if doc.get(name) is not None:
                src[name] = doc[name]
        out.add_bytes("_src", json.dumps(src, ensure_ascii=False, default=str).encode())
        num = _as_u64(str(doc_id))
        if num is not None:
            out.add_unsigned("_num", num)
        return out

    def _apply(
        self,
        index: tantivy.Index,
        ops: Iterable[tuple[str, Any]],
        *,
        heap: int | None = None,
        threads: int = 1,
    ) -> int:
        writer = index.writer(heap_size=heap or self._writer_heap, num_threads=threads)
        count = 0
        try:
            for op, payload in ops:
                if op == "upsert":
                    tdoc = self._document(payload)
                    writer.delete_documents_by_term("_id", str(payload["id"]))
                    writer.add_document(tdoc)
                else:
                    writer.delete_documents_by_term("_id", str(payload))
                count += 1
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        index.reload()
        return count

    def _write(self, ops: list[tuple[str, Any]]) -> int:
        with self._lock:
            gen = self._live()
            if gen.older_format and self._journal is None:
                # Same doc type, older engine format: re-index the generation's own stored
                # documents (they hold every field the doc type indexes) into a current one.
                self.rebuild(self._stored_docs(gen))
                gen = self._live()
            if not gen.compatible:
                raise IndexNeedsRebuild(f"{self.path}: built for another doc type; rebuild it")
            if self._journal is not None:
                self._journal.extend(ops)
            return self._apply(gen.index, ops)

    def upsert(self, docs: Iterable[Doc]) -> int:
        """Add or replace documents (by ``id``) and commit; return how many were written."""
        return self._write([("upsert", dict(d)) for d in docs])

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id (unknown ids are ignored) and commit."""
        return self._write([("delete", str(i)) for i in ids])

    def rebuild(self, docs: Iterable[Doc], *, threads: int = 0, heap_bytes: int = 0) -> int:
        """Index *docs* into a fresh generation and switch to it; return the document count.

        Searches keep being served from the old generation meanwhile; upserts and deletes made
        through this object during the rebuild are replayed onto the new one before the switch.
        """
        cpus = os.cpu_count() or 1
        threads = threads or min(4, cpus)
        heap = heap_bytes or 128_000_000 * threads
        with self._lock:
            if self._journal is not None:
                raise RuntimeError("a rebuild is already running")
            self._journal = []
            name = self._new_generation_dir()
        try:
            new_index = tantivy.Index(self._schema, path=str(self.path / name))
            count = self._apply(
                new_index, (("upsert", d) for d in docs), heap=heap, threads=threads
            )
            self._write_signature(name)
            with self._lock:
                journal = self._journal
                if journal:
                    self._apply(new_index, journal)
                previous = self._gen.name
                self._point_to(name)
                self._gen = self._open_current()
        except BaseException:
            shutil.rmtree(self.path / name, ignore_errors=True)
            raise
        finally:
            with self._lock:
                self._journal = None
        self._collect_garbage(keep={name, previous})
        return count

    def _stored_docs(self, gen: _Generation) -> Iterator[dict[str, Any]]:
        """Every live document of *gen* as it was given (``id`` and the stored fields)."""
        searcher = gen.index.searcher()
        n = int(searcher.num_docs)
        if not n:
            return
        for _score, addr in searcher.search(tantivy.Query.all_query(), n, count=False).hits:
            stored = searcher.doc(addr)
            doc: dict[str, Any] = json.loads(bytes(stored["_src"][0]))
            doc["id"] = str(stored["_id"][0])
            yield doc

    def _collect_garbage(self, keep: set[str]) -> None:
        # The previous generation stays one round for readers in other processes.
        for p in self.path.glob("gen-*"):
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------

    def _searcher(self, gen: _Generation) -> tantivy.Searcher:
        """A searcher of *gen*; with ``doc_cache`` on, the same one while nothing changed."""
        if not self.doc_cache:
            return gen.index.searcher()
        try:
            with open(self.path / gen.name / "meta.json", "rb") as f:
                meta = f.read()
        except OSError:
            self._snap = None
            return gen.index.searcher()
        snap = self._snap
        if snap is None or snap.gen is not gen or snap.meta != meta:
            # Read before reloading: a commit landing in between only makes the next
            # search reload once more, never keeps an older state under a newer meta.
            gen.index.reload()
            searcher = gen.index.searcher()
            snap = self._snap = _Snapshot(gen, meta, searcher, _DocFreqs(searcher))
        return snap.searcher

    def _freqs(self, searcher: tantivy.Searcher) -> _DocFreqs:
        """The document-frequency memo of *searcher* (kept with its snapshot, if it has one)."""
        snap = self._snap
        if snap is not None and snap.searcher is searcher:
            if len(snap.freqs) >= 20 * max(self.doc_cache, 1):
                snap.freqs.clear()
            return snap.freqs
        return _DocFreqs(searcher)

    def _stored(self, searcher: tantivy.Searcher, addr: tantivy.DocAddress) -> tuple[str, bytes]:
        """The id and ``_src`` bytes of the document at *addr* (by address from a snapshot)."""
        snap = self._snap
        if snap is None or snap.searcher is not searcher:
            stored = searcher.doc(addr)
            return str(stored.get_first("_id")), _src_of(stored)
        key = (addr.segment_ord, addr.doc)
        found = snap.stored.get(key)
        if found is None:
            stored = searcher.doc(addr)
            found = (str(stored.get_first("_id")), _src_of(stored))
            if len(snap.stored) >= self.doc_cache:
                snap.stored.clear()
            snap.stored[key] = found
        return found

    def count(self) -> int:
        """Number of live documents."""
        return int(self._live().index.searcher().num_docs)

    def query_terms(self, text: str) -> tuple[Counter[str], Counter[str]]:
        """The analysed query: word and gram term counts."""
        analysed = analyze_all(text)
        return Counter(analysed.words), Counter(analysed.grams)

    def _text_query(self, words: Mapping[str, float], grams: Mapping[str, float]) -> tantivy.Query:
        r = self.ranking
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for fname, terms, weight in (("_w", words, r.word_weight), ("_g", grams, r.gram_weight)):
            if weight <= 0:
                continue
            for term, tf in terms.items():
                q = tantivy.Query.term_query(self._schema, fname, term)
                boost = weight * tf
                if boost != 1.0:
                    q = tantivy.Query.boost_query(q, boost)
                clauses.append((tantivy.Occur.Should, q))
        if not clauses:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(clauses)

    def _split_common(
        self,
        searcher: tantivy.Searcher,
        words: Mapping[str, float],
        grams: Mapping[str, float],
        freqs: _DocFreqs | None = None,
    ) -> tuple[_Terms, _Terms]:
        """Split query terms into those that select candidates and those that only score.

        A term in more than ``max_df`` of the documents is common; beyond ``max_query_terms``
        selecting terms, the ones of least weight × idf become score-only too. Terms no document
        has, and common terms in more than half of the documents, are dropped. If every term is
        common, the common terms select.
        """
        r = self.ranking
        freqs = _DocFreqs(searcher) if freqs is None else freqs
        n_docs = max(1, searcher.num_docs)
        cutoff = r.max_df * n_docs
        common: _Terms = ({}, {})
        void: _Terms = ({}, {})
        ranked: list[tuple[float, int, str, float]] = []
        for k, (fname, terms, field_weight) in enumerate(
            (("_w", words, r.word_weight), ("_g", grams, r.gram_weight))
        ):
            for term, weight in terms.items():
                df = freqs[fname, term]
                if df == 0:
                    continue
                if df > cutoff:
                    # In more than half of the documents a term is evidence of nothing (its
                    # Robertson–Spärck Jones idf is ≤ 0; tantivy's stays below ln 2).
                    (void if 2 * df > n_docs else common)[k][term] = weight
                else:
                    ranked.append((weight * field_weight * _idf(df, n_docs), k, term, weight))
        if not ranked:  # only common terms: they have to select
            return (common, ({}, {})) if common[0] or common[1] else (void, ({}, {}))
        ranked.sort(key=lambda x: (-x[0], x[1], x[2]))
        cap = r.max_query_terms
        selecting: _Terms = ({}, {})
        for i, (_v, k, term, weight) in enumerate(ranked):
            (selecting if cap <= 0 or i < cap else common)[k][term] = weight
        return selecting, common

    def _filter_queries(
        self, filters: Filters | None, ranges: Ranges | None
    ) -> list[tantivy.Query]:
        out: list[tantivy.Query] = []
        for name, value in (filters or {}).items():
            self.doc_type.keyword(name)
            values = [value] if isinstance(value, str) else list(value)
            q = tantivy.Query.term_set_query(self._schema, name, [str(v) for v in values])
            out.append(tantivy.Query.const_score_query(q, 0.0))
        for name, (lo, hi) in (ranges or {}).items():
            self.doc_type.numeric(name)
            q = tantivy.Query.range_query(
                self._schema,
                name,
                tantivy.FieldType.Float,
                -math.inf if lo is None else float(lo),
                math.inf if hi is None else float(hi),
            )
            out.append(tantivy.Query.const_score_query(q, 0.0))
        return out

    def _feedback(
        self,
        searcher: tantivy.Searcher,
        base: tantivy.Query,
        words: Mapping[str, float],
        grams: Mapping[str, float],
        freqs: _DocFreqs,
    ) -> tuple[dict[str, float], dict[str, float], float]:
        """RM3: mix the query with the term distribution of the top documents.

        Expansion terms are never common (``max_df``): a term most documents have cannot
        say which ones are relevant. Also returns the score of the last feedback document.
        """
        r = self.ranking
        top = searcher.search(base, r.feedback_docs, count=False).hits
        if not top:
            return dict(words), dict(grams), 0.0
        best = float(top[0][0])
        weights = [math.exp(float(s) - best) for s, _ in top]
        norm = sum(weights)
        mass: list[dict[str, float]] = [{}, {}]
        for (_s, addr), w in zip(top, weights, strict=True):
            doc_id, raw = self._stored(searcher, addr)
            *counts, n_words, n_grams = self._terms_of(raw, self._docs.get((doc_id, raw)))
            share = w / norm  # (w / norm) * c / n_toks, as one expression computed it
            for k, n_toks in enumerate((n_words, n_grams)):
                if n_toks:
                    m = mass[k]
                    get = m.get
                    m.update(
                        {term: get(term, 0.0) + share * c / n_toks for term, c in counts[k].items()}
                    )
        n_docs = max(1, searcher.num_docs)
        max_df = r.max_df * n_docs
        out: list[dict[str, float]] = []
        for k, (fname, original) in enumerate((("_w", words), ("_g", grams))):
            # A term only the one document has cannot expand anything.
            log = math.log
            scored = [
                (p * log(1 + n_docs / df), term)
                for term, p in mass[k].items()
                if 2 <= (df := freqs[fname, term]) <= max_df
            ]
            scored.sort(reverse=True)
            chosen = scored[: r.feedback_terms]
            total = sum(p for p, _ in chosen) or 1.0
            budget = r.feedback_weight * max(1, sum(original.values()))
            mixed: dict[str, float] = {t: float(c) for t, c in original.items()}
            for p, term in chosen:
                mixed[term] = mixed.get(term, 0.0) + budget * p / total
            out.append(mixed)
        return out[0], out[1], float(top[-1][0])

    def _terms_of(
        self, raw: bytes, src: Mapping[str, Any] | None = None
    ) -> tuple[Counter[str], Counter[str], int, int]:
        """Word and gram counts of a stored document's text fields, and their totals.

        *src*: the document already decoded from *raw*, if at hand.
        """
        found = self._analysed.get(raw) if self.doc_cache else None
        if found is None:
            if src is None:
                src = _from_json(raw)
            text = " ".join(src.get(tf.name, "") for tf in self.doc_type.text_fields)
            analysed = analyze_all(text)
            found = (
                Counter(analysed.words),
                Counter(analysed.grams),
                len(analysed.words),
                len(analysed.grams),
            )
            if self.doc_cache:
                if len(self._analysed) >= self.doc_cache:
                    self._analysed.clear()  # a bound, not an LRU: cheaper and enough for a batch
                self._analysed[raw] = found
        return found

    def _decoded(self, doc_id: str, raw: bytes) -> dict[str, Any]:
        """A stored document's fields with its ``id`` (shared from the cache when it is on)."""
        key = (doc_id, raw)
        src = self._docs.get(key) if self.doc_cache else None
        if src is None:
            src = _from_json(raw)
            src["id"] = doc_id
            if self.doc_cache:
                if len(self._docs) >= self.doc_cache:
                    self._docs.clear()
                self._docs[key] = src
        return src

    def _negligible(
        self,
        searcher: tantivy.Searcher,
        expansion: list[tuple[int, str, float]],
        floor: float,
        freqs: _DocFreqs,
    ) -> set[tuple[int, str]]:
        """Expansion terms that together cannot add ``feedback_min_share`` × *floor*.

        A term's BM25 contribution is at most weight × idf × (k1 + 1); the weakest are taken
        while their bounds sum below the share of *floor* (the last feedback document's
        first-pass score, which the second pass can only raise).
        """
        r = self.ranking
        n_docs = max(1, searcher.num_docs)
        fields = ("_w", "_g")
        field_weight = (r.word_weight, r.gram_weight)
        bounds = sorted(
            (
                weight * field_weight[k] * _idf(freqs[fields[k], term], n_docs) * (_K1 + 1),
                k,
                term,
            )
            for k, term, weight in expansion
        )
        budget = r.feedback_min_share * floor
        out: set[tuple[int, str]] = set()
        spent = 0.0
        for bound, k, term in bounds:
            if spent + bound >= budget:
                break
            spent += bound
            out.add((k, term))
        return out

    def _rescore(
        self,
        searcher: tantivy.Searcher,
        ids: Sequence[str],
        words: Mapping[str, float],
        grams: Mapping[str, float],
    ) -> dict[tuple[int, int], float]:
        """Scores of the documents *ids* (the selected page) for these terms, by address.

        Only these documents are visited: the id set is a required clause, so each term's
        posting list is skipped through rather than scanned.
        """
        # A union of id terms: measured 2–3× faster here than a term-set query, whose bit set
        # makes the common terms' posting lists be scanned rather than skipped through.
        only = tantivy.Query.const_score_query(
            tantivy.Query.boolean_query([self._id_clause(i) for i in ids]), 0.0
        )
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, only), (tantivy.Occur.Should, self._text_query(words, grams))]
        )
        result = searcher.search(query, len(ids), count=False)
        return {_address(addr): float(score) for score, addr in result.hits}

    def _id_clause(self, doc_id: str) -> tuple[tantivy.Occur, tantivy.Query]:
        """A Should clause on the id *doc_id* (kept with ``doc_cache``: pages recur in a batch)."""
        clause = self._id_terms.get(doc_id)
        if clause is None:
            clause = (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "_id", doc_id))
            if self.doc_cache:
                if len(self._id_terms) >= self.doc_cache:
                    self._id_terms.clear()
                self._id_terms[doc_id] = clause
        return clause

    def _plan(
        self,
        searcher: tantivy.Searcher,
        text: str,
        filters: Filters | None,
        ranges: Ranges | None,
        sort: str | None,
        within: Iterable[str] | None = None,
    ) -> _Plan:
        """The query of a search: RM3 feedback, the common-term split, filters and ranges."""
        r = self.ranking
        freqs = self._freqs(searcher)
        words, grams = self.query_terms(text)
        terms = sorted(set(words) | set(grams), key=lambda t: (-len(t), t))
        common: _Terms = ({}, {})
        if text.strip():
            selecting: _Terms = (dict(words), dict(grams))
            if r.max_df < 1.0 or r.max_query_terms > 0:
                selecting, common = self._split_common(searcher, words, grams, freqs)
            main = self._text_query(*selecting)
            if r.feedback_docs > 0 and (selecting[0] or selecting[1]):
                *mixed, floor = self._feedback(searcher, main, words, grams, freqs)
                kept = (set(selecting[0]), set(selecting[1]))
                originals = (words, grams)
                selecting = ({}, {})
                expansion: list[tuple[int, str, float]] = []
                for k in (0, 1):
                    for term, weight in mixed[k].items():
                        if term in common[k]:
                            common[k][term] = weight
                        elif term in kept[k]:
                            selecting[k][term] = weight
                        elif term not in originals[k]:  # (an original no document has: gone)
                            expansion.append((k, term, weight))
                weak = (
                    self._negligible(searcher, expansion, floor, freqs)
                    if r.feedback_min_share > 0
                    else set()
                )
                for k, term, weight in expansion:
                    if (k, term) not in weak:
                        selecting[k][term] = weight
                main = self._text_query(*selecting)
        else:
            main = tantivy.Query.all_query()
        extra = self._filter_queries(filters, ranges)
        if within is not None:
            extra.append(tantivy.Query.const_score_query(self._only(within), 0.0))
        query = (
            tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, main)] + [(tantivy.Occur.Must, q) for q in extra]
            )
            if extra
            else main
        )
        order: dict[str, Any] = {}
        if sort:
            name = sort.removeprefix("-")
            self.doc_type.numeric(name)
            order["order_by_field"] = name
            order["order"] = tantivy.Order.Desc if sort.startswith("-") else tantivy.Order.Asc
        return _Plan(query=query, common=common, terms=terms, order=order)

    def _ranked(
        self,
        searcher: tantivy.Searcher,
        plan: _Plan,
        *,
        offset: int,
        limit: int,
        count: bool,
        load: bool,
        has_num: bool = False,
    ) -> tuple[list[_Row], int]:
        """The selected documents, best first, with their final scores, and the match count.

        ``load`` reads each document's stored fields (and its id from them); otherwise the ids
        come from the ``_num`` fast field, and only documents without one (an id that is not a
        non-negative integer, or a generation built before ``_num``) are read for their id.
        The common terms' rescoring is the same either way, so both give the same order.
        """
        result = searcher.search(plan.query, limit, count=count, offset=offset, **plan.order)
        sort = bool(plan.order)
        rows: list[_Row] = []
        snap = self._snap
        if load and snap is not None and snap.searcher is searcher:
            # Documents by address in this snapshot: no read, no decoding, no cache key.
            decoded = snap.decoded
            for key, addr in result.hits:
                where = (addr.segment_ord, addr.doc)
                found = decoded.get(where)
                if found is None:
                    doc_id, raw = self._stored(searcher, addr)
                    found = (doc_id, self._decoded(doc_id, raw))
                    if len(decoded) >= self.doc_cache:
                        decoded.clear()
                    decoded[where] = found
                score = float(key) if not sort and key is not None else 0.0
                rows.append((score, where, found[0], found[1]))
        elif load:
            for key, addr in result.hits:
                doc_id, raw = self._stored(searcher, addr)
                src = self._decoded(doc_id, raw)
                score = float(key) if not sort and key is not None else 0.0
                rows.append((score, _address(addr), doc_id, src))
        else:
            addrs = [addr for _key, addr in result.hits]
            nums: list[Any] = (
                searcher.fast_field_values("_num", addrs)
                if addrs and has_num
                else [None] * len(addrs)
            )
            for (key, addr), num in zip(result.hits, nums, strict=True):
                doc_id = str(num) if num is not None else str(searcher.doc(addr)["_id"][0])
                score = float(key) if not sort and key is not None else 0.0
                rows.append((score, _address(addr), doc_id, None))
        common = plan.common
        if rows and not sort and self.ranking.rescore and (common[0] or common[1]):
            # Common terms add their (small) share to the selected documents' scores; BM25
            # sums over terms, so the result is the full query's score.
            more = self._rescore(searcher, [doc_id for _, _, doc_id, _ in rows], *common)
            rows = [(s + more.get(a, 0.0), a, i, d) for s, a, i, d in rows]
            rows.sort(key=lambda x: -x[0])  # stable: ties keep the selection order
        total = int(getattr(result, "count", None) or 0) if count else offset + len(rows)
        return rows, total  # count is missing from the stub

    def _facets(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        facets: Sequence[str],
        size: int,
        *,
        exact: bool = False,
    ) -> dict[str, list[FacetCount]]:
        if not facets:
            return {}
        aggs = {}
        for name in facets:
            self.doc_type.keyword(name)
            terms: dict[str, Any] = {"field": name, "size": size}
            if exact:
                # Each segment reports its segment_size best values (10 × size by default), so
                # a value frequent overall but rare in every segment could be missed.
                terms["segment_size"] = max(10 * size, 10_000)
            aggs[name] = {"terms": terms}
        raw = searcher.aggregate(query, aggs)
        out: dict[str, list[FacetCount]] = {}
        for name in facets:
            buckets = raw.get(name, {}).get("buckets", [])
            out[name] = [
                FacetCount(value=str(b["key"]), count=int(b["doc_count"])) for b in buckets
            ]
        return out

    def search(
        self,
        text: str = "",
        *,
        filters: Filters | None = None,
        ranges: Ranges | None = None,
        facets: Sequence[str] = (),
        facet_size: int = 20,
        sort: str | None = None,
        offset: int = 0,
        limit: int = 10,
        highlight_width: int | None = 120,
        count: bool = True,
    ) -> SearchPage:
        """Rank documents for *text* (all documents when empty) within filters and ranges.

        ``filters`` maps a keyword field to a value or a list of accepted values; ``ranges``
        maps a numeric field to inclusive ``(low, high)`` bounds, either may be None. ``sort``
        names a numeric field (``"price"`` ascending, ``"-price"`` descending) instead of
        relevance. ``facets`` lists keyword fields to count values of over all matches.
        ``count=False`` skips counting all matches (``total`` becomes a lower bound): counting
        visits every matching document, whereas the top hits alone let tantivy skip the
        documents that cannot enter them.
        """
        started = time.perf_counter()
        searcher = self._searcher(self._live())
        plan = self._plan(searcher, text, filters, ranges, sort)
        rows, total = self._ranked(
            searcher, plan, offset=offset, limit=limit, count=count, load=True
        )
        hits: list[Hit] = []
        for score, _addr, doc_id, src in rows:
            assert src is not None
            hits.append(
                Hit(
                    id=doc_id,
                    score=score,
                    doc=src,
                    highlights=self._marks(src, plan.terms, highlight_width)
                    if highlight_width
                    else {},
                )
            )
        return SearchPage(
            hits=hits,
            total=total,
            facets=self._facets(searcher, plan.query, facets, facet_size),
            terms=plan.terms,
            took_ms=(time.perf_counter() - started) * 1000,
            exact_total=count,
        )

    def search_docs(
        self,
        text: str = "",
        *,
        filters: Filters | None = None,
        ranges: Ranges | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """(id, score, stored fields) of each hit, best first: what a batch of searches reads.

        Same query, order, scores and shared ``doc`` dicts as :meth:`search` with
        ``count=False``, without :class:`Hit` objects, highlights, facets or a total.
        """
        searcher = self._searcher(self._live())
        plan = self._plan(searcher, text, filters, ranges, None)
        rows, _total = self._ranked(
            searcher, plan, offset=offset, limit=limit, count=False, load=True
        )
        out: list[tuple[str, float, dict[str, Any]]] = []
        for score, _addr, doc_id, src in rows:
            assert src is not None
            out.append((doc_id, score, src))
        return out

    def _marks(
        self, src: Mapping[str, Any], terms: Sequence[str], width: int | None
    ) -> dict[str, str]:
        marks: dict[str, str] = {}
        if width:
            for tf in self.doc_type.text_fields:
                if tf.name in src:
                    marks[tf.name] = highlight(src[tf.name], terms, width=width)
        return marks

    def search_ids(
        self,
        text: str = "",
        *,
        filters: Filters | None = None,
        ranges: Ranges | None = None,
        sort: str | None = None,
        offset: int = 0,
        limit: int = 10,
        count: bool = False,
        within: Iterable[str] | None = None,
    ) -> IdPage:
        """:meth:`search` without the stored documents: the ranked ids and their scores.

        Same query, same order and same scores as :meth:`search` with the same arguments, but
        no stored document is read or decoded (ids come from the ``_num`` fast field), so a
        caller that filters thousands of candidates itself pays only for the page it shows
        (:meth:`documents`) and counts facets over what it kept (:meth:`facet_counts`).
        ``count`` defaults to False here: ``total`` is then ``offset + len(hits)``. ``within``
        restricts the search to those ids (a filter: scores unchanged).
        """
        started = time.perf_counter()
        gen = self._live()
        searcher = self._searcher(gen)
        plan = self._plan(searcher, text, filters, ranges, sort, within)
        rows, total = self._ranked(
            searcher,
            plan,
            offset=offset,
            limit=limit,
            count=count,
            load=False,
            has_num=gen.compatible,  # (a generation of another format may lack _num)
        )
        return IdPage(
            hits=[IdHit(id=doc_id, score=score) for score, _addr, doc_id, _src in rows],
            total=total,
            terms=plan.terms,
            took_ms=(time.perf_counter() - started) * 1000,
            exact_total=count,
        )

    def _only(self, ids: Iterable[str]) -> tantivy.Query:
        """The documents of these ids (a term set on ``_id``)."""
        return tantivy.Query.term_set_query(self._schema, "_id", [str(i) for i in ids])

    def documents(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored fields (with ``id``) of the documents *ids*, by id; unknown ids are left out.

        With ``doc_cache`` on, the dicts are shared with the cache: treat them as read-only.
        """
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return {}
        searcher = self._searcher(self._live())
        result = searcher.search(self._only(wanted), len(wanted), count=False)
        out: dict[str, dict[str, Any]] = {}
        for _score, addr in result.hits:
            doc_id, raw = self._stored(searcher, addr)
            out[doc_id] = self._decoded(doc_id, raw)
        return out

    def facet_counts(
        self, ids: Iterable[str], facets: Sequence[str], *, size: int = 20
    ) -> dict[str, list[FacetCount]]:
        """Counts of the values of keyword fields *facets* over the documents *ids*.

        Like :meth:`search`'s facets (most frequent first, at most *size* values a field), but
        over a set the caller chose, e.g. the candidates it kept after a filter of its own.
        """
        for name in facets:
            self.doc_type.keyword(name)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return {name: [] for name in facets}
        searcher = self._searcher(self._live())
        return self._facets(searcher, self._only(wanted), facets, size, exact=True)
