"""Automation: what removes repetitive work. For now, canned responses
(docs/canned-responses.md)."""
