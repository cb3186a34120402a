"""The command line: a headless front end over the same services as the console.

One module per command group (people, audit, playbooks, incident, message, channels, outbox, feeds, gui), each
with its handlers and an ``add_commands`` that adds them to the parser; ``context`` is what they share.

Exit codes: 0 done; 1 a check failed (for example the audit log is broken); 2 a person's mistake (bad flag,
unknown user, wrong password, missing database), said in one line on stderr; 3 something outside
crisisdesk failed (retry); 70 a bug, with the details in the log file.
"""

from crisisdesk.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
