"""Channel adapters (one module per channel, one registry). Built by the publishing issue."""
