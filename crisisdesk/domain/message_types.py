"""The kinds of public message and the two modes. Kept free of heavy imports: the CLI parser reads them."""

MESSAGE_TYPES = ("alert", "update", "correction", "cancel", "all-clear")
MODES = ("live", "exercise")
