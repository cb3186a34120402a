"""Secrets in the OS keyring, behind one small interface. Built with the channel accounts."""
