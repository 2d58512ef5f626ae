"""Routing: queues, skills, routing profiles, presence, and the router offering WorkItems."""
