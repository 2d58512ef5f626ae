"""ticket forms, required-on-resolve conversation fields and categorisation rules

Revision ID: 0016
Revises: 0015

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnidesk.kit.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = omnidesk.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ticket_forms",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("fields", JsonDoc, nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("tags", JsonDoc, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ticket_forms_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_forms")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_ticket_forms_account_id_name")),
    )
    op.create_table(
        "ticket_form_inboxes",
        sa.Column("inbox_id", BigId, nullable=False),
        sa.Column("form_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ticket_form_inboxes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["ticket_forms.id"],
            name=op.f("fk_ticket_form_inboxes_form_id_ticket_forms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name=op.f("fk_ticket_form_inboxes_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inbox_id", name=op.f("pk_ticket_form_inboxes")),
    )
    op.create_index(
        op.f("ix_ticket_form_inboxes_account_id"), "ticket_form_inboxes", ["account_id"]
    )
    op.create_index(op.f("ix_ticket_form_inboxes_form_id"), "ticket_form_inboxes", ["form_id"])
    op.create_table(
        "category_rules",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("keywords", JsonDoc, nullable=False),
        sa.Column("pattern", sa.String(length=500), nullable=True),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("field_key", sa.String(length=64), nullable=True),
        sa.Column("field_value", JsonDoc, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_category_rules_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_rules")),
    )
    op.create_index(
        "ix_category_rules_account_id_position", "category_rules", ["account_id", "position"]
    )
    with op.batch_alter_table("attribute_definitions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "required_on_resolve", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_form_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_ticket_form_id_ticket_forms"),
            "ticket_forms",
            ["ticket_form_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_ticket_form_id_ticket_forms"), type_="foreignkey"
        )
        batch_op.drop_column("ticket_form_id")
    with op.batch_alter_table("attribute_definitions", schema=None) as batch_op:
        batch_op.drop_column("required_on_resolve")
    op.drop_index("ix_category_rules_account_id_position", table_name="category_rules")
    op.drop_table("category_rules")
    op.drop_index(op.f("ix_ticket_form_inboxes_form_id"), table_name="ticket_form_inboxes")
    op.drop_index(op.f("ix_ticket_form_inboxes_account_id"), table_name="ticket_form_inboxes")
    op.drop_table("ticket_form_inboxes")
    op.drop_table("ticket_forms")
