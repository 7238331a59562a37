"""Chinese word segmentation for search: jieba, loaded on first use and kept quiet.

Customers write 快递一直没到, not 快递 一直 没 到: full-text engines split on
spaces and punctuation, so both the indexed text and the question are cut
into words here and joined by spaces. Loading jieba's dictionary takes seconds
on a busy machine and logs to stderr, so it happens once, silenced: lazily, or
ahead of the first search through `warm` (the web app calls it at start, so the
first 领取下一条 does not wait for it).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_cuts: dict[bool, Callable[[str], Iterable[str]]] = {}

# Words that carry no meaning of their own in a customer's question.
STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 嘛 哦 么 着 过 和 与 及 或 而 就 都 也 还 又 很 太 更 最 再 才 已 已经 一直
    我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 这样 那样 哪 哪个 什么 怎么 怎么办 怎样 如何
    为什么 为何 是 不是 在 有 没 没有 被 把 给 让 到 从 对 向 于 以 之 其 个 些 一 一个 一下 请 请问
    能 能否 可以 可能 会 要 想 需要 应该 怎么样 好 是否 还是 但是 但 所以 因为 如果 然后 现在 今天
    a an the is are was be to of and or in on at for it this that with my your i you we
    """.split()
)
_WORD = re.compile(r"\w", re.UNICODE)
_MAX_TERMS = 32


def _jieba(search: bool) -> Callable[[str], Iterable[str]]:
    """jieba's cutter (search mode, or precise mode), initialised once per process, silently."""
    with _lock:
        if not _cuts:
            with warnings.catch_warnings():
                # jieba 0.42 predates some deprecations (pkg_resources, escapes in regexes).
                warnings.simplefilter("ignore")
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
            modes: Any = {True: jieba.cut_for_search, False: jieba.cut}
            _cuts.update(modes)
        return _cuts[search]


def warm() -> threading.Thread:
    """Load the dictionary now, in a daemon thread, so no request waits for it."""
    thread = threading.Thread(
        target=_jieba, args=(True,), name="careloop-segmenter-warmup", daemon=True
    )
    thread.start()
    return thread


def words(text: str, *, search: bool = True) -> list[str]:
    """The meaningful words of `text`, lowercased, in order.

    Search mode (the default, for indexing and questions) also yields the shorter words
    inside a long one (怎么办 → 怎么, 怎么办), so either matches; precise mode cuts once.
    """
    if not text or not text.strip():
        return []
    found = []
    for word in _jieba(search)(text):
        word = word.strip().lower()
        if not word or word in STOPWORDS or not _WORD.search(word):
            continue
        if len(word) == 1 and not word.isascii():
            continue  # one Chinese character alone (了, 到, 机) matches too much to rank anything
        found.append(word)
    return found


def tokens(text: str) -> str:
    """The text as the index stores it: its words joined by spaces."""
    return " ".join(words(text))


def query_terms(text: str) -> list[str]:
    """A question's distinct words, first seen first, at most 32 (long texts say enough)."""
    return list(dict.fromkeys(words(text)))[:_MAX_TERMS]
