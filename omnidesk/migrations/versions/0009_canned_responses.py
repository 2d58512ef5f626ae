"""automation: canned responses (shared per account or team, or personal)

Revision ID: 0009
Revises: 0008

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnidesk.kit.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "canned_responses",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("team_id", BigId, nullable=True),
        sa.Column("owner_id", BigId, nullable=True),
        sa.Column("shortcut", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", BigId, nullable=True),
        sa.Column("created_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnidesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_canned_responses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_canned_responses_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_canned_responses_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_canned_responses_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    op.create_index(
        "ix_canned_responses_account_id_shortcut", "canned_responses", ["account_id", "shortcut"]
    )
    op.create_index(op.f("ix_canned_responses_owner_id"), "canned_responses", ["owner_id"])
    op.create_index(op.f("ix_canned_responses_team_id"), "canned_responses", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_canned_responses_team_id"), table_name="canned_responses")
    op.drop_index(op.f("ix_canned_responses_owner_id"), table_name="canned_responses")
    op.drop_index("ix_canned_responses_account_id_shortcut", table_name="canned_responses")
    op.drop_table("canned_responses")
