"""What every view is given: who is signed in, and the one way to reach the services."""

from __future__ import annotations

from dataclasses import dataclass

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.watcher import Watcher


@dataclass(frozen=True)
class Session:
    """A signed-in person's view of the services. A view's constructor takes one:

        class IncidentBoard(QWidget):
            def __init__(self, session: Session) -> None:
                ...
                session.watcher.changed.connect(self.reload)
                self.reload()

            def reload(self) -> None:
                self.session.tasks.run(lambda app: app.incidents().list_all(actor), self.model.set_rows, owner=self)

    ``actor`` says who; the services re-read their roles from the log at every action, so a revocation holds
    at once. ``core`` is the GUI thread's App, for what must answer at once on the GUI thread (a table model
    fetching its next page); everything else goes through ``tasks``. ``watcher.changed`` says the database
    changed (whoever changed it); ``watcher.tick`` says half a minute passed (countdowns).
    """

    core: App
    actor: Actor
    tasks: Tasks
    watcher: Watcher
