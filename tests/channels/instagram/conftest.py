"""Instagram tests: the Graph fake shared with the Messenger tests."""

from tests.channels.messenger.support import app, frozen, graph, runner, settings

__all__ = ["app", "frozen", "graph", "runner", "settings"]
