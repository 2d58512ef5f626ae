"""Value types for everything that crosses the API.

Each refuses at the edge, as a 422 naming the field, what a database would otherwise refuse
deep inside a driver as a 500: ids no 64-bit integer holds, NUL characters (PostgreSQL
allows none in text or JSONB), lone surrogates (not encodable as UTF-8) and non-finite
numbers in JSON documents.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MAX_ROW_ID = 2**63 - 1
#: How deep a free-form JSON document may nest.
MAX_JSON_DEPTH = 16

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (no lone surrogates)") from exc
    return value


def clean_json(value: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value]
    return value


Text = Annotated[str, AfterValidator(clean_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(clean_json)]


def scrub_text(value: str) -> str:
    """For text from providers, which is stored rather than refused: drop NULs and replace
    lone surrogates, keeping everything else as sent."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value
