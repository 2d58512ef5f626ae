"""Durable background work: the outbox (side effects) and timers (work due later)."""
