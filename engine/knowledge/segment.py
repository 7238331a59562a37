"""Chinese word segmentation for search: jieba's words, cut by its Rust port, loaded on first use.

Customers write 快递一直没到, not 快递 一直 没 到: full-text engines split on
spaces and punctuation, so both the indexed text and the question are cut
into words here and joined by spaces.

The words are those of jieba 0.42 (its dictionary, its HMM for unknown words, its search mode),
which every index built before 2026-12-08 holds; the cutting is jieba-rs's (`rjieba`), which
does it about 25 times faster and loads its dictionary in a fifth of a second rather than one
and a half: jieba's Python was a quarter of a record's intake (issue #24). jieba-rs differs
from jieba in two places, both mended here so that old and new documents still match:
- a run of Latin letters, digits and `+#&._%-` that is not a dictionary word stays one token
  there (`sla.first_reply`, `1-5`); jieba's HMM cuts it into letter-and-digit runs (`sla`,
  `first`, `_`, `reply`; `1`, `5`), so such a token is cut again here the way jieba does;
- its search mode adds sub-words of those runs; here the search mode is jieba's own rule over
  precise-mode words: every two- and three-character part of a longer word that is itself a
  dictionary word, then the word.
Every character jieba does not cut (emoji, punctuation, rarer CJK, a lone surrogate, which
jieba-rs could not even take) becomes a space first: jieba yields those one by one and `words`
drops them, so they only ever separate words.
`tests/unit/test_segment.py` compares the words with jieba's own (a dev dependency there).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable

_lock = threading.Lock()
_cutter: list[tuple[Callable[[str], list[str]], Callable[[str], bool]]] = []

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


# jieba cuts blocks of these characters and yields every other character alone, which `words`
# then drops (not a word character, or a lone non-Latin one): a space in their place cuts alike
_OUTSIDE_BLOCKS = re.compile(r"[^\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+")
_HAN = re.compile(r"[\u4e00-\u9fd5]")
# jieba's HMM yields a Latin run's letters and digits (a decimal, a percentage) and each other
# character; split() with a group keeps both
_LATIN = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


def _rjieba() -> tuple[Callable[[str], list[str]], Callable[[str], bool]]:
    """jieba-rs's precise cut and dictionary lookup, its dictionary loaded once per process."""
    with _lock:
        if not _cutter:
            import rjieba

            _cutter.append((rjieba.cut, rjieba.has_word))
        return _cutter[0]


def _pieces(text: str) -> list[str]:
    """jieba-rs's precise cut of `text`, after the characters jieba yields alone became spaces."""
    return _rjieba()[0](_OUTSIDE_BLOCKS.sub(" ", text))


def _words_of(piece: str, search: bool) -> tuple[str, ...]:
    """What one piece of the cut adds to `words`: jieba's words of it, the meaningful ones.
    Pieces repeat across texts (the dictionary's common words): short ones are cached."""
    found = []
    for word in _latin_cut(piece):
        if search:
            found += _dictionary_parts(word)
        found.append(word)
    return tuple(kept for kept in map(meaningful, found) if kept is not None)


def _latin_cut(piece: str) -> list[str]:
    """A Latin run that is no dictionary word as jieba's HMM cuts it: its letter-and-digit
    runs and each other character; any other piece as it is."""
    if len(piece) > 1 and not _rjieba()[1](piece) and not _HAN.search(piece):
        return [part for part in _LATIN.split(piece) if part]
    return [piece]


def _dictionary_parts(word: str) -> list[str]:
    """What jieba's search mode puts before a word of three characters or more: its two-, then
    three-character parts that are dictionary words themselves."""
    size, known = len(word), _rjieba()[1]
    if size <= 2:
        return []
    parts = [word[i : i + 2] for i in range(size - 1) if known(word[i : i + 2])]
    if size > 3:
        parts += [word[i : i + 3] for i in range(size - 2) if known(word[i : i + 3])]
    return parts


_words_of_short = functools.lru_cache(maxsize=1 << 16)(_words_of)
_SHORT = 32  # longer pieces (a pasted code, a long Latin run) are cut each time, not kept


def meaningful(word: str) -> str | None:
    """The word as the index keeps it (lowercased), or None for a stop word, punctuation or
    a lone Chinese character (了, 到, 机 match too much to rank anything)."""
    word = word.strip().lower()
    if not word or word in STOPWORDS or not _WORD.search(word):
        return None
    if len(word) == 1 and not word.isascii():
        return None
    return word


def warm() -> threading.Thread:
    """Load the dictionary now, in a daemon thread, so no request waits for it."""
    thread = threading.Thread(target=_rjieba, name="careloop-segmenter-warmup", daemon=True)
    thread.start()
    return thread


def words(text: str, *, search: bool = True) -> list[str]:
    """The meaningful words of `text`, lowercased, in order.

    Search mode (the default, for indexing and questions) also yields the shorter words
    inside a long one (怎么办 → 怎么, 怎么办), so either matches; precise mode cuts once.
    """
    if not text or not text.strip():
        return []
    return [
        word
        for piece in _pieces(text)
        for word in (_words_of_short if len(piece) <= _SHORT else _words_of)(piece, search)
    ]


def tokens(text: str) -> str:
    """The text as the index stores it: its words joined by spaces."""
    return " ".join(words(text))


def query_terms(text: str) -> list[str]:
    """A question's distinct words, first seen first, at most 32 (long texts say enough)."""
    return list(dict.fromkeys(words(text)))[:_MAX_TERMS]
