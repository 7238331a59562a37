"""Profile one in-process sweep of the row-3 backlog with pyinstrument: where a batch's time goes.

Seeds the same database as `bench.bench_sweep` (D due timers among 10 D, the scheduler
down 12 hours), then runs `Services.sweep` once in this process, without the start-up
of a `careloop scheduler --once`, and prints the rate and pyinstrument's call tree.

    python -m bench.profile_sweep [--n 5000] [--db pg|sqlite] [--batch 200] [--all]
"""

from __future__ import annotations

import argparse
import time

from pyinstrument import Profiler

from bench.bench_sweep import BACKLOG, BATCH, SMALL, TIMERS_PER_DUE, checkpoint, seed_backlog
from bench.common import database
from engine.services import Services
from engine.store.db import make_session_factory
from ops.settings import configure_engine_keys, load


def main() -> None:
    configure_engine_keys(load())  # personal data with the configured keys, as the app
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=SMALL, help="due timers")
    parser.add_argument("--db", choices=["sqlite", "pg"], default="pg")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args()
    with database(args.db) as engine:
        seed_backlog(engine, args.n, args.n * TIMERS_PER_DUE, BACKLOG)
        checkpoint(engine)
        services = Services(make_session_factory(engine))
        profiler = Profiler(interval=0.0005)
        began = time.perf_counter()
        with profiler:
            result = services.sweep(batch_size=args.batch)
        seconds = time.perf_counter() - began
        fired = len(result.fired)
        print(
            f"# {args.db}: fired {fired:,} in {seconds:.2f} s ({fired / seconds:,.0f} timers/s), "
            f"{result.batches} batches of up to {args.batch}, {result.failed} failed"
        )
        print(profiler.output_text(unicode=True, color=False, show_all=args.all))


if __name__ == "__main__":
    main()
