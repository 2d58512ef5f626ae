"""message templates: a WhatsApp inbox's templates as last synced from Meta

Revision ID: 0014
Revises: 0013

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnidesk.kit.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = omnidesk.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("inbox_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("components", JsonDoc, nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("synced_at", UTC, nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_message_templates_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name=op.f("fk_message_templates_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint(
            "inbox_id", "name", "language", name=op.f("uq_message_templates_inbox_id_name_language")
        ),
    )
    op.create_index(op.f("ix_message_templates_account_id"), "message_templates", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_message_templates_account_id"), table_name="message_templates")
    op.drop_table("message_templates")
