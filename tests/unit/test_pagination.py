from __future__ import annotations

import pytest

from omnidesk.kit.errors import BadRequest
from omnidesk.kit.pagination import decode_cursor, encode_cursor
from omnidesk.kit.types import MAX_ROW_ID


def test_a_cursor_round_trips() -> None:
    cursor = decode_cursor(encode_cursor("2026-01-05T09:00:00+00:00", 42))
    assert cursor is not None
    assert (cursor.key, cursor.id) == ("2026-01-05T09:00:00+00:00", 42)


@pytest.mark.parametrize("bad", ["!!", "bm90IGpzb24", encode_cursor(None, 0)[:-2] + "xx"])
def test_garbage_is_a_400_on_the_cursor_field(bad: str) -> None:
    with pytest.raises(BadRequest) as refused:
        decode_cursor(bad)
    assert refused.value.field == "cursor"


@pytest.mark.parametrize("row_id", [0, -1, MAX_ROW_ID + 1, 2**70])
def test_an_id_no_database_can_hold_is_refused(row_id: int) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor(None, row_id))
