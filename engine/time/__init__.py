"""Time: injected clocks, business calendars and durations (pure), and the SLA clocks,
follow-ups and timers that run on them in the store (R-2.4, R-2.8, R-3.2).
"""
