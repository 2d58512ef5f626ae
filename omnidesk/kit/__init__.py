"""Infrastructure every context shares: database, errors, time, security, pagination."""
