"""Careloop's pure core: pack specs, SLA arithmetic, records, timers and their store.

Nothing here imports Flask, WTForms, Flask-Admin or APScheduler: the web, the
API, the CLI and the scheduler call the engine, never the reverse.
"""
