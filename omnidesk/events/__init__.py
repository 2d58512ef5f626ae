"""The event log: immutable facts written in the same transaction as the change."""
