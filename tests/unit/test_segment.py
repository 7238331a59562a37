"""The segmenter's words are jieba's own, cut by jieba-rs (issue #24, R-5.2 search).

Every knowledge-base document and record search document stored before the switch holds
jieba 0.42's words; a question cut differently would miss them. jieba itself is the oracle
here (a dev dependency): the packs' text, the knowledge-base corpus and generated text mixing
dictionary words with the places where jieba-rs behaves otherwise (Latin runs with `._%-`,
dictionary words such as C#, characters jieba does not cut, lone surrogates, NUL) must give
the same words in both modes.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.knowledge import segment
from tests import kb_corpus

ROOT = Path(__file__).resolve().parents[2]


def _jieba() -> tuple[Callable[[str], Iterable[str]], Callable[[str], Iterable[str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba 0.42: pkg_resources, regex escapes
        import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.cut_for_search, jieba.cut


JIEBA_SEARCH, JIEBA_PRECISE = _jieba()


def jieba_words(text: str, *, search: bool = True) -> list[str]:
    """`segment.words` as it was until 2026-12-08: jieba 0.42's words, the meaningful ones."""
    cut = (JIEBA_SEARCH if search else JIEBA_PRECISE)(text)
    return [kept for kept in map(segment.meaningful, cut) if kept is not None]


def assert_as_jieba(text: str) -> None:
    for search in (True, False):
        assert segment.words(text, search=search) == jieba_words(text, search=search), text


def _lines() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("workflows/**/*.yaml"))]
    texts += [f"{title}\n{body}" for title, body in kb_corpus.ARTICLES.items()]
    texts += list(kb_corpus.QUESTIONS)
    lines = (line.strip() for text in texts for line in re.split(r"[\n。！？]", text))
    return sorted({line for line in lines if re.search(r"[\u4e00-\u9fd5]", line)})


def test_the_packs_and_the_knowledge_base_cut_as_jieba_cuts_them() -> None:
    lines = _lines()
    assert len(lines) > 1_000
    for line in lines:
        assert_as_jieba(line)


@pytest.mark.parametrize(
    "text",
    [
        "sla.first_reply.met 2026-11-24T14:02:00+08:00",  # jieba-rs keeps such runs whole
        "满意度评分:1-5分, 折扣 3.5% 或 12.5",
        "我会 C# 和 c++, 也用 AT&T 的卡",  # dictionary words with Latin letters and signs
        "中\ud800文 快递\x00没到 😀物流",  # a lone surrogate, NUL, emoji
        "㐀中文𠀀发票 ＡＢ１２ 全角",  # CJK beyond jieba's range, full-width letters
        "订单号" + "ab12_" * 20 + "信用卡年费",  # a piece longer than the cached ones
        "",
        "   \t\r\n",
    ],
)
def test_where_jieba_rs_differs_the_words_are_still_jieba_s(text: str) -> None:
    assert_as_jieba(text)


_DICTIONARY_WORDS = ["信用卡", "年费", "快递", "怎么办", "洗衣机", "第一步", "满意度", "发货"]
_PIECES = st.sampled_from(
    _DICTIONARY_WORDS
    + list("中文的了机a1Z_.%-+#& \n，。😀㐀Ａ\x00")
    + ["C#", "sla.first", "3.5%", "1-5", "T14:02", "\ud83d"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_generated_text_cuts_as_jieba_cuts_it(text: str) -> None:
    assert_as_jieba(text)


def test_a_long_latin_run_is_cut_into_jieba_s_letter_and_digit_runs() -> None:
    assert segment.words("sla.first_reply 1-5 3.5%") == [
        "sla",
        "first",
        "_",
        "reply",
        "1",
        "5",
        "3.5%",
    ]
    assert segment.words("洗衣机 E3 故障") == ["洗衣", "洗衣机", "e3", "故障"]
