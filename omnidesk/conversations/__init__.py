"""Conversations (the unit of service), their messages, notes, tags and attachments."""
