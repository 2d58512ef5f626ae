"""Realtime: events to agents' websockets, after commit, resumable."""
