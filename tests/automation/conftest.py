from tests.conversations.conftest import make_contact

__all__ = ["make_contact"]
