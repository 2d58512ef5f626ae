"""Accounts (tenants), users, teams, login sessions and API tokens."""
