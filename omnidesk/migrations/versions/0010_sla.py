"""sla: policies (targets per priority in business time) and per-conversation clocks

Revision ID: 0010
Revises: 0009

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnidesk.kit.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = omnidesk.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("business_hours_id", BigId, nullable=True),
        sa.Column("conditions", JsonDoc, nullable=False),
        sa.Column("targets", JsonDoc, nullable=False),
        sa.Column("warning_percent", sa.Integer(), nullable=True),
        sa.Column("warning_before_s", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sla_policies_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_hours_id"],
            ["routing_business_hours.id"],
            name=op.f("fk_sla_policies_business_hours_id_routing_business_hours"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_sla_policies_account_id_name")),
    )
    op.create_index(
        op.f("ix_sla_policies_business_hours_id"), "sla_policies", ["business_hours_id"]
    )
    op.create_table(
        "sla_clocks",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("policy_id", BigId, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("target_s", sa.Integer(), nullable=False),
        sa.Column("warn_after_s", sa.Integer(), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("running_since", UTC, nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("due_at", UTC, nullable=True),
        sa.Column("warn_at", UTC, nullable=True),
        sa.Column("warned_at", UTC, nullable=True),
        sa.Column("breached_at", UTC, nullable=True),
        sa.Column("achieved_at", UTC, nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sla_clocks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_sla_clocks_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_clocks_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    op.create_index("ix_sla_clocks_account_id_state", "sla_clocks", ["account_id", "state"])
    op.create_index(op.f("ix_sla_clocks_conversation_id"), "sla_clocks", ["conversation_id"])
    op.create_index("ix_sla_clocks_policy_id_started_at", "sla_clocks", ["policy_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_policy_id_started_at", table_name="sla_clocks")
    op.drop_index(op.f("ix_sla_clocks_conversation_id"), table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_account_id_state", table_name="sla_clocks")
    op.drop_table("sla_clocks")
    op.drop_index(op.f("ix_sla_policies_business_hours_id"), table_name="sla_policies")
    op.drop_table("sla_policies")
