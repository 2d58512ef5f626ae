"""Twilio's opt-out, opt-in and help keywords, as the carrier and Twilio apply them.

Only a message that is the keyword alone counts ("STOP", " stop. "); "please stop texting me"
does not, exactly as Twilio's STOP filtering works, so what omnidesk records on the contact
agrees with what Twilio blocks. A Messaging Service with Advanced Opt-Out tells us its own
verdict (``OptOutType``), which wins over the default keywords.
"""

from __future__ import annotations

from typing import Literal

Keyword = Literal["opt_out", "opt_in", "help"]

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
#: Advanced Opt-Out's ``OptOutType`` values.
_OPT_OUT_TYPES: dict[str, Keyword] = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}


def classify(body: str, opt_out_type: str | None = None) -> Keyword | None:
    """What the customer's message asks of our messages, if it is a keyword."""
    if opt_out_type:
        return _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    word = body.strip().strip(".!").strip().upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return None
