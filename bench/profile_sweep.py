"""Profile one in-process sweep of the row-3 backlog with cProfile: where a batch's CPU goes.

Seeds the same database as `bench.bench_sweep` (D due timers among 10 D, the scheduler
down 12 hours), then runs `Services.sweep` once in this process, without the start-up
of a `careloop scheduler --once`, and prints the rate, the CPU seconds per timer and
cProfile's top functions. The profiler counts CPU time (`time.process_time`), not wall
time, so a machine loaded by other work does not skew where the time goes.

    python -m bench.profile_sweep [--n 5000] [--db pg|sqlite] [--batch 200] [--top 40]
                                  [--sort cumulative] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

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
    parser.add_argument("--top", type=int, default=40, help="functions shown, by own time")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument(
        "--no-profile", action="store_true", help="CPU per timer without cProfile's overhead"
    )
    args = parser.parse_args()
    with database(args.db) as engine:
        seed_backlog(engine, args.n, args.n * TIMERS_PER_DUE, BACKLOG)
        checkpoint(engine)
        services = Services(make_session_factory(engine))
        profiler = cProfile.Profile(time.process_time)
        began, cpu = time.perf_counter(), time.process_time()
        if args.no_profile:
            result = services.sweep(batch_size=args.batch)
        else:
            with profiler:
                result = services.sweep(batch_size=args.batch)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        fired = len(result.fired)
        how = "" if args.no_profile else ", profiled"
        print(
            f"# {args.db}: fired {fired:,} in {seconds:.2f} s ({fired / seconds:,.0f} timers/s), "
            f"CPU {cpu:.2f} s ({cpu / max(fired, 1) * 1e3:.3f} ms a timer{how}), "
            f"{result.batches} batches of up to {args.batch}, {result.failed} failed"
        )
        if not args.no_profile:
            pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
