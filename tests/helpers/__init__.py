"""Helpers shared by the tests (fixtures themselves are in tests/conftest.py). A test file imports
what it shares from here, never from another test file."""
