"""The default routing profile gives every installed channel some capacity."""

from omnidesk.channels.registry import channel_types
from omnidesk.routing.schemas import DEFAULT_CAPACITY


def test_every_installed_channel_can_be_offered_with_the_default_profile() -> None:
    # Work carries its inbox's channel type; a type the profile does not name is never
    # offered to anyone, so a new account's website chats would wait for ever.
    assert set(channel_types()) <= set(DEFAULT_CAPACITY)
