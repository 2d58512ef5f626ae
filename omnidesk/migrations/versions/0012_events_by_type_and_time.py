"""events: an index on (account, type, time) for reports over a period

Revision ID: 0012
Revises: 0011

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_events_account_id_type_created_at", "events", ["account_id", "type", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_account_id_type_created_at", table_name="events")
