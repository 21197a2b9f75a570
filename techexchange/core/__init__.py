"""Base pieces every app stands on: env helpers, errors, money, clock, audit log."""
