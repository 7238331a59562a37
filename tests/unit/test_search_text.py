"""The text side of search: segmentation, synonym expansion and snippets (issue #13)."""

from __future__ import annotations

from engine.knowledge import highlight, segment, synonyms


def test_a_question_is_cut_into_words_without_stop_words_or_lone_characters() -> None:
    assert segment.query_terms("快递一直没到，怎么办？") == ["快递"]
    assert segment.words("洗衣机 E3 故障") == ["洗衣", "洗衣机", "e3", "故障"]
    assert segment.tokens("") == "" and segment.query_terms("的了吗") == []


def test_synonym_groups_parse_any_separator_and_drop_repeats() -> None:
    assert synonyms.parse("快递 = 物流，配送、快递; 发货") == ["快递", "物流", "配送", "发货"]


def test_a_group_applies_when_the_question_contains_one_of_its_words() -> None:
    groups = [["快递", "物流", "配送"], ["发票", "开票"], ["开不了机", "无法开机"]]
    terms = synonyms.expand("快递一直没到", ["快递"], groups)
    assert terms == [("快递",), ("物流",), ("配送",)]
    # 开不了机 would cut to 不了 alone: left out; 无法开机 is the AND of its two words.
    assert synonyms.expand("手机开不了机", ["手机", "不了"], groups)[-1] == ("无法", "开机")
    assert ("不了",) not in synonyms.expand("开不了机", [], groups)


def test_a_snippet_marks_matches_and_escapes_everything_else() -> None:
    text = "前言" * 100 + "<b>快递</b>延迟 & 物流"
    cut = highlight.snippet(text, ["快递", "物流"], width=40)
    assert cut.startswith("…") and "&lt;b&gt;<mark>快递</mark>&lt;/b&gt;" in cut
    assert "&amp;" in cut and "<b>" not in cut
    assert highlight.snippet("没有匹配<i>", ["快递"]) == "没有匹配&lt;i&gt;"


def test_markdown_reads_as_plain_text_for_snippets() -> None:
    assert highlight.plain("# 标题\n- **第一步** [链接](javascript:x)\n> 引用") == (
        "标题 第一步 链接 引用"
    )
