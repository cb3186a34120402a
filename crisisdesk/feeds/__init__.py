"""Feed fetching, parsing and rules. Built by the monitoring issue."""
