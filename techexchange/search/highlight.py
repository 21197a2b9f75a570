"""Snippets with highlighted query terms, computed in Python on the stored text."""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = ["highlight", "match_spans"]


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Return the merged, sorted (start, end) spans of *terms* found in *text*, ignoring case."""
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for term in {t.lower() for t in terms if t}:
        start = lowered.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = lowered.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _best_window(spans: list[tuple[int, int]], length: int, width: int) -> int:
    """Start of the *width*-character window that covers the most highlighted characters."""
    if not spans or length <= width:
        return 0
    best_start, best_cover = spans[0][0], -1
    for i, (s, _e) in enumerate(spans):
        cover = 0
        for s2, e2 in spans[i:]:
            if e2 > s + width:
                break
            cover += e2 - s2
        if cover > best_cover:
            best_cover, best_start = cover, s
    # Show a little context before the first hit.
    return max(0, min(best_start - width // 6, length - width))


def highlight(
    text: str,
    terms: Iterable[str],
    *,
    width: int = 120,
    before: str = "<mark>",
    after: str = "</mark>",
) -> str:
    """Return an HTML-escaped fragment of at most *width* characters with *terms* marked.

    The fragment is the window with the most matched characters; "…" marks cut ends. With no
    match the start of the text is returned.
    """
    spans = match_spans(text, terms)
    start = _best_window(spans, len(text), width)
    end = min(len(text), start + width)
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        out.append(before + html.escape(text[s:e]) + after)
        pos = e
    out.append(html.escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
