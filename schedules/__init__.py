"""The APScheduler adapter: a heartbeat that asks the engine to sweep due timers.

The timers themselves are rows in the engine's store, never one APScheduler
job per record; APScheduler only drives a few periodic jobs from a memory job
store, so any number of scheduler processes can share one database (the
engine's claim with SKIP LOCKED keeps each timer to one firing).
"""
