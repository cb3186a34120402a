"""SQLite storage: connection, migrations, the event log and the current-state tables it projects."""
