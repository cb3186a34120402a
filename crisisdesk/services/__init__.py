"""Use cases. Each one checks permissions and records its events in the same transaction as its change."""
