"""identities: the customer's consent to messages (SMS STOP / START)

Revision ID: 0013
Revises: 0012

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnidesk.kit.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = omnidesk.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("consent", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("consent_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("consent_at")
        batch.drop_column("consent")
