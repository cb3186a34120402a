"""Plain data and rules. No I/O: no files, sockets, SQLite, keyring or scheduler here."""
