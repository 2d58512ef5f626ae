"""Every context's models, imported so that the metadata is complete (Alembic, tests)."""

from omnidesk.accounts import models as accounts
from omnidesk.automation import models as automation
from omnidesk.categorisation import models as categorisation
from omnidesk.channels.email import models as email
from omnidesk.channels.whatsapp import models as whatsapp
from omnidesk.contacts import models as contacts
from omnidesk.conversations import models as conversations
from omnidesk.events import models as events
from omnidesk.forms import models as forms
from omnidesk.inboxes import models as inboxes
from omnidesk.jobs import models as jobs
from omnidesk.kit.db import Base
from omnidesk.routing import models as routing
from omnidesk.sla import models as sla

__all__ = [
    "Base",
    "accounts",
    "automation",
    "categorisation",
    "contacts",
    "conversations",
    "email",
    "events",
    "forms",
    "inboxes",
    "jobs",
    "routing",
    "sla",
    "whatsapp",
]
