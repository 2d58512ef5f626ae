"""Cursor pagination over (sort key, id) so that pages stay stable while rows are added."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from omnidesk.kit.errors import BadRequest
from omnidesk.kit.types import MAX_ROW_ID

T = TypeVar("T")

MAX_LIMIT = 200


@dataclass(frozen=True)
class Cursor:
    key: Any
    id: int


def encode_cursor(key: Any, id_: int) -> str:
    raw = json.dumps([key, id_], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # Bounded like every id at the edge, so a forged cursor cannot overflow a driver.
        if not isinstance(id_, int) or isinstance(id_, bool) or not 1 <= id_ <= MAX_ROW_ID:
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor is not valid", field="cursor") from exc
    return Cursor(key=key, id=id_)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
