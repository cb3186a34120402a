"""crisisdesk: a desktop crisis-communications console."""

__version__ = "0.1.0"
