"""Delivery: what leaves the building through the outbox (messages, signed webhooks) and
the idempotency keys that make a retried request safe.
"""
