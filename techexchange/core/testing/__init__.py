"""Test helpers shared by every app's tests (factories live in each app's tests)."""
