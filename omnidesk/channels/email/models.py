"""What the IMAP pollers remember: per inbox and mailbox, how far they have read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId


class ImapCursor(Base):
    """The last UID stored from one mailbox, valid while the mailbox's UIDVALIDITY holds.

    Advanced only after the message is committed: a restart fetches from the next UID, and
    a message fetched twice (a crash between the two commits) is deduplicated on its
    Message-ID. A new UIDVALIDITY (the mailbox was recreated) starts over from UID 1.
    """

    __tablename__ = "email_imap_cursors"

    inbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: IMAP numbers are unsigned 32-bit: too big for a signed INTEGER.
    uid_validity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
