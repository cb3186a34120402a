"""Helpers for the tests: a keyring backend, local servers."""
