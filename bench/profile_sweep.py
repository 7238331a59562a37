"""Profile one in-process sweep of the row-3 backlog with cProfile: where a batch's CPU goes.

Seeds the same database as `bench.bench_sweep` (D due timers among 10 D, the scheduler
down 12 hours; with `--late`, its catch-up backlog: D late among 2 D, down 3 days), then
runs `Services.sweep` once in this process, without the start-up of a `careloop scheduler
--once`, and prints the rate, the CPU seconds per timer and cProfile's top functions. The
profiler counts CPU time (`time.process_time`), not wall time, so a machine loaded by other
work does not skew where the time goes. With `--no-profile` it prints the bare CPU per
timer instead (cProfile inflates call-heavy code several times), and on a PostgreSQL of this
machine the CPU its backend spent for the sweep (read from /proc): the client and the server
apart, where the wall time of a loaded machine mixes both with waiting for a core.

One sweeper thread unless `--sweepers` says more: cProfile sees only the thread it was
started in, and the sweep runs two side by side on PostgreSQL (`engine.time.sweepers`).

    python -m bench.profile_sweep [--n 5000] [--late] [--db pg|sqlite] [--batch 200]
                                  [--top 40] [--sort cumulative] [--no-profile] [--sweepers 1]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

from bench.bench_sweep import (
    BACKLOG,
    BATCH,
    LATE,
    SMALL,
    TIMERS_PER_DUE,
    checkpoint,
    seed_backlog,
)
from bench.common import backend_cpu, database
from engine.services import Services
from engine.store.db import make_session_factory
from engine.time import sweepers
from ops.settings import configure_engine_keys, load


def main() -> None:
    configure_engine_keys(load())  # personal data with the configured keys, as the app
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=SMALL, help="due timers")
    parser.add_argument("--late", action="store_true", help="the catch-up backlog instead")
    parser.add_argument("--db", choices=["sqlite", "pg"], default="pg")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--top", type=int, default=40, help="functions shown, by own time")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument(
        "--no-profile", action="store_true", help="CPU per timer without cProfile's overhead"
    )
    parser.add_argument(
        "--sweepers", type=int, default=1, help="sweeper threads (only one is profiled)"
    )
    args = parser.parse_args()
    sweepers.SWEEPERS = args.sweepers
    with database(args.db) as engine:
        if args.late:
            seed_backlog(engine, args.n, 2 * args.n, LATE)
        else:
            seed_backlog(engine, args.n, args.n * TIMERS_PER_DUE, BACKLOG)
        checkpoint(engine)
        services = Services(make_session_factory(engine))
        server = backend_cpu(engine)  # also opens the pool's one connection before the clock
        profiler = cProfile.Profile(time.process_time)
        began, cpu = time.perf_counter(), time.process_time()
        if args.no_profile:
            result = services.sweep(batch_size=args.batch)
        else:
            with profiler:
                result = services.sweep(batch_size=args.batch)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        fired, per = len(result.fired), max(len(result.fired), 1)
        how = "" if args.no_profile else ", profiled"
        print(
            f"# {args.db}: fired {fired:,} in {seconds:.2f} s ({fired / seconds:,.0f} timers/s), "
            f"CPU {cpu:.2f} s ({cpu / per * 1e3:.3f} ms a timer{how}), "
            f"{result.batches} batches from {args.batch} up, {result.failed} failed, "
            f"load {os.getloadavg()[0]:.1f}"
        )
        if server is not None:
            spent = (backend_cpu(engine) or server) - server
            print(f"# server: its backend's CPU {spent:.2f} s ({spent / per * 1e3:.3f} ms a timer)")
        if not args.no_profile:
            pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
