"""Ticket forms: named, ordered sets of conversation fields with defaults (docs/ticket-forms.md)."""
