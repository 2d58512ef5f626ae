"""agent last seen

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnidesk.kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_seen_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_agents", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
