"""Contacts (customers), their identities on every channel, companies and merges."""
