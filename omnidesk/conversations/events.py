"""Event types of the conversations context that other contexts read (``<thing>.<what>``)."""

from __future__ import annotations

MESSAGE_RECEIVED = "message.received"
#: The customer left before being served; the router counts their waiting work abandoned.
CONTACT_LEFT = "conversation.contact_left"
#: An internal note mentioned a user (one event each, seen by that user and supervisors).
NOTE_MENTIONED = "note.mentioned"
#: A ticket form was applied: its defaults filled what was blank (docs/ticket-forms.md).
FORM_APPLIED = "conversation.form_applied"
#: Categorisers looked at a customer's message: what they suggested and what was applied.
CATEGORISED = "conversation.categorised"
