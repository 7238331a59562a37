"""Row 9: knowledge search latency over N resolved cases and N/100 articles (p95, ms).

What triage and the answers endpoint ask: the 5 best solved cases, and the 5 best
published articles, for a customer's question, through `engine.search.search`
(jieba on the question, synonyms, FTS5 bm25 on SQLite, tsvector ts_rank on
PostgreSQL). Each request opens its own session, like a web request. The
questions are the tests' labelled set (tests/kb_corpus.py) with its synonyms;
the figure is the 95th percentile over every question, asked twice (after a
warm-up round), the median of `--runs`.

The baseline is what the index saves: the same expanded words found with
`LIKE '%word%'` over the same documents of the same kind, ranked by how many
of the words each holds (the least a LIKE search must do to rank at all), 5
rows. Its p95 is over at least 10 requests, up to all of them while a 2 s
budget per case and run lasts.

Documents are built from the after-sales complaint templates of bench/data.py
and a list of solutions and lessons, each sentence segmented once by jieba
and combined at random, so the index holds realistic Chinese words at
realistic frequencies (a few very common, a long tail) without segmenting a
million texts. Rows go in with Core executemany in batches.

    python -m bench.bench_search [--n 20000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from functools import partial

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from bench.common import Row, arguments, backends, database, median_of
from bench.data import PRODUCTS, TEMPLATES
from bench.seed import utc_now, vacuum_analyze
from engine.knowledge import search, segment, synonyms
from engine.store.db import make_session_factory
from engine.store.models import Article, SearchDoc, SynonymGroup
from tests.kb_corpus import ARTICLES, QUESTIONS, SYNONYMS

SMALL, FULL = 20_000, 1_000_000
BATCH = 5_000
REPEATS = 2
MIN_REQUESTS = 10
BASELINE_BUDGET = 2.0
GOAL_MS = 100.0
SOLUTIONS = (
    "已联系承运商催件，预计明天送达，并补偿 20 元优惠券。",
    "远程指导客户重启设备并恢复出厂设置，问题解决。",
    "安排工程师上门更换主板，测试正常。",
    "更换电池后续航恢复正常，保修期内免费。",
    "清理排水管并重新调整安装水平，不再漏水。",
    "拆除运输螺栓并调平机器，噪音消失。",
    "为客户办理退款，款项三个工作日内原路返回。",
    "补开增值税专用发票并邮寄给客户。",
    "向客户致歉，说明原因，赠送延长保修一年。",
    "重新配对遥控器，按键恢复正常。",
    "路由器切换到 2.4GHz 频段后配网成功。",
    "补发缺少的配件包和安装支架。",
    "为客户换货，旧机上门取回。",
)
LESSONS = (
    "批次性问题，已反馈生产部门。",
    "物流商时效不达标，已推送供应链优化。",
    "安装师傅培训不足，已安排复训。",
    "说明书描述不清，已提交修改。",
    "",
)


def sentences() -> dict[str, str]:
    """Every sentence a document is built from, with its tokens (jieba, once each)."""
    texts = [t.format(p=p) for _, t in TEMPLATES for p in PRODUCTS]
    texts += [*SOLUTIONS, *LESSONS, *ARTICLES, *ARTICLES.values()]
    return {t: segment.tokens(t) for t in texts if t}


def documents(n: int, now: datetime) -> Iterator[list[dict[str, object]]]:
    """N cases and N/100 articles (at least the corpus'), in batches of rows."""
    rng = random.Random(13)
    tokens = sentences()
    complaints = [t.format(p=p) for _, t in TEMPLATES for p in PRODUCTS]
    titles = list(ARTICLES)
    batch: list[dict[str, object]] = []
    articles = max(len(ARTICLES), n // 100)
    for number in range(1, articles + n + 1):
        if number <= articles:
            title = titles[number % len(titles)]
            body = ARTICLES[title] + rng.choice(SOLUTIONS)
            kind, ref, title_tokens = "article", number, tokens[title]
            body_tokens = tokens[ARTICLES[title]]
            solution: str | None = body
        else:
            complaint, solution = rng.choice(complaints), rng.choice(SOLUTIONS)
            lesson = rng.choice(LESSONS)
            body = " ".join(p for p in (complaint, solution, lesson) if p)
            kind, ref, title, title_tokens = "case", number, complaint[:60], tokens[complaint]
            body_tokens = " ".join(tokens[p] for p in (complaint, solution, lesson) if p)
        batch.append(
            {
                "kind": kind,
                "ref_id": ref,
                "title": title,
                "body": body,
                "solution": solution,
                "category": None,
                "product": None,
                "title_tokens": title_tokens,
                "body_tokens": body_tokens,
                "updated_at": now,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(engine: Engine, n: int, now: datetime) -> None:
    articles = max(len(ARTICLES), n // 100)
    with engine.begin() as conn:
        conn.execute(
            insert(Article),
            [
                {"id": i, "title": f"a{i}", "body": "", "status": "published", "version": 1}
                | {"updated_by": "bench", "updated_at": now}
                for i in range(1, articles + 1)
            ],
        )
        conn.execute(
            insert(SynonymGroup),
            [{"words": w, "updated_by": "bench", "updated_at": now} for w in SYNONYMS],
        )
    for rows in documents(n, now):
        with engine.begin() as conn:
            conn.execute(insert(SearchDoc), rows)
    vacuum_analyze(engine)


def ours(session: Session, question: str, kind: str) -> int:
    return len(search.search(session, question, kind=kind, limit=5))


def like_scan(session: Session, question: str, kind: str) -> int:
    """The baseline: the same expanded words, each a `LIKE '%word%'`, ranked by count."""
    terms = synonyms.expand(question, segment.query_terms(question), synonyms.groups(session))
    words = ["".join(term) for term in terms]
    if not words:
        return 0
    likes = [f"body LIKE :w{i}" for i in range(len(words))]
    score = " + ".join(f"(CASE WHEN {like} THEN 1 ELSE 0 END)" for like in likes)
    params: dict[str, object] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    sql = (
        f"SELECT id FROM search_docs WHERE kind = :kind AND ({' OR '.join(likes)}) "
        f"ORDER BY {score} DESC, id DESC LIMIT 5"
    )
    return len(session.execute(text(sql), {**params, "kind": kind}).all())


def p95(
    engine: Engine,
    kind: str,
    how: Callable[[Session, str, str], int],
    budget: float | None = None,
) -> float:
    factory = make_session_factory(engine)
    questions = list(QUESTIONS) * REPEATS
    for question in list(QUESTIONS)[:3]:  # warm-up: caches, jieba, synonyms
        with factory() as session:
            how(session, question, kind)
    took: list[float] = []
    began = time.perf_counter()
    for question in questions:
        with factory() as session:
            start = time.perf_counter()
            how(session, question, kind)
            took.append((time.perf_counter() - start) * 1000)
        if budget and len(took) >= MIN_REQUESTS and time.perf_counter() - began > budget:
            break
    return statistics.quantiles(took, n=20)[-1]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    with ExitStack() as stack:
        engines = {kind: stack.enter_context(database(kind)) for kind in backends(args.db)}
        now = utc_now()
        for name, engine in engines.items():
            began = time.perf_counter()
            seed(engine, args.n, now)
            print(
                f"# {name}: {args.n:,} cases and {max(len(ARTICLES), args.n // 100):,} articles "
                f"indexed in {time.perf_counter() - began:.1f} s",
                flush=True,
            )
            for kind, label in (("case", "search cases"), ("article", "search articles")):
                figure = median_of(args.runs, partial(p95, engine, kind, ours))
                baseline = median_of(
                    args.runs, partial(p95, engine, kind, like_scan, BASELINE_BUDGET)
                )
                Row(
                    label,
                    name,
                    "ms p95",
                    figure,
                    baseline,
                    f"<= {GOAL_MS:g} ms",
                    higher_is_better=False,
                ).print()


if __name__ == "__main__":
    main()
