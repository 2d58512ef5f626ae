"""router work: work items and offers

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import omnidesk.kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_work_items",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("queue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "extra_skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "sticky_agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_routing_work_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_routing_work_items_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_routing_work_items_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["routing_queues.id"],
            name=op.f("fk_routing_work_items_queue_id_routing_queues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_work_items")),
    )
    with op.batch_alter_table("routing_work_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_work_items_account_id_status", ["account_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_routing_work_items_active_conversation",
            ["conversation_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'offered', 'assigned')"),
            postgresql_where=sa.text("status IN ('waiting', 'offered', 'assigned')"),
        )
        batch_op.create_index(
            batch_op.f("ix_routing_work_items_agent_id"), ["agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_work_items_queue_id"), ["queue_id"], unique=False
        )

    op.create_table(
        "routing_offers",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "work_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_routing_offers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_routing_offers_agent_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["routing_work_items.id"],
            name=op.f("fk_routing_offers_work_item_id_routing_work_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_offers")),
    )
    with op.batch_alter_table("routing_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_offers_agent_id_status", ["agent_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_offers_work_item_id"), ["work_item_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_offers_work_item_id"))
        batch_op.drop_index("ix_routing_offers_agent_id_status")

    op.drop_table("routing_offers")
    with op.batch_alter_table("routing_work_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_work_items_queue_id"))
        batch_op.drop_index(batch_op.f("ix_routing_work_items_agent_id"))
        batch_op.drop_index(
            "ix_routing_work_items_active_conversation",
            sqlite_where=sa.text("status IN ('waiting', 'offered', 'assigned')"),
            postgresql_where=sa.text("status IN ('waiting', 'offered', 'assigned')"),
        )
        batch_op.drop_index("ix_routing_work_items_account_id_status")

    op.drop_table("routing_work_items")
