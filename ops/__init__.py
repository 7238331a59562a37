"""Running Careloop in production: metrics, structured logs and request ids.

Adapters only: the engine stays pure and knows nothing of Prometheus or of
requests; what it returns (records created, timers fired) is counted here.
"""
