"""Messenger tests: the Graph fake (shared with the Instagram tests)."""

from tests.channels.messenger.support import app, frozen, graph, runner, settings

__all__ = ["app", "frozen", "graph", "runner", "settings"]
