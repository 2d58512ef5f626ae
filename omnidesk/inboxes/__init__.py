"""Inboxes: configured channel endpoints (a support address, a number, a widget, an API)."""
