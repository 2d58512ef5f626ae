"""time-based automation rules: a rule's wait

Revision ID: 0017
Revises: 0016

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("automation_rules") as batch:
        batch.add_column(sa.Column("wait", JsonDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("automation_rules") as batch:
        batch.drop_column("wait")
