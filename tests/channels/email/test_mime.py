"""The corpus: every ``payloads/*.eml`` parsed by :func:`to_inbound` and checked against the
``.json`` beside it (hand-written: what an agent must see), plus properties no file shows
alone (dedupe of mails without Message-ID, hostile input never raising)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnidesk.channels.base import Inbound
from omnidesk.channels.email import quotes
from omnidesk.channels.email.mime import MAX_THREAD_REFS, decode_text, to_inbound
from omnidesk.kit import markup
from omnidesk.settings import AttachmentSettings

PAYLOADS = Path(__file__).parent / "payloads"
CASES = sorted(path.stem for path in PAYLOADS.glob("*.eml"))
#: Checked for every file: an expectation file must say what it expects of each.
REQUIRED = ("sender", "subject", "quote_stripped", "attachments", "auto")


def _parse(name: str) -> tuple[Inbound, dict[str, Any]]:
    expected = json.loads((PAYLOADS / f"{name}.json").read_text())
    limits = AttachmentSettings(**expected["limits"]) if "limits" in expected else None
    return to_inbound((PAYLOADS / f"{name}.eml").read_bytes(), limits=limits), expected


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert {p.stem for p in PAYLOADS.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_payload(name: str) -> None:
    inbound, expected = _parse(name)
    meta = inbound.meta
    for key in REQUIRED:
        assert key in expected, f"{name}.json must say what it expects of {key}"
    assert inbound.sender.kind == "email"
    assert inbound.sender.value == expected["sender"]
    if "sender_name" in expected:
        assert inbound.sender.name == expected["sender_name"]
    assert inbound.subject == expected["subject"]
    if "body" in expected:
        assert inbound.body == expected["body"]
    for text in expected.get("body_contains", []):
        assert text in inbound.body
    for text in expected.get("body_excludes", []):
        assert text not in inbound.body
    assert meta["stripped"]["quote"] is expected["quote_stripped"]
    if "signature_stripped" in expected:
        assert meta["stripped"]["signature"] is expected["signature_stripped"]
    if meta["stripped"]["quote"] or meta["stripped"]["signature"]:
        # The original stays viewable: the full text is kept beside the display part.
        assert len(meta["text"]) > len(inbound.body)
        assert all(line in meta["text"] for line in inbound.body.splitlines())
    else:
        assert "text" not in meta
    for text in expected.get("full_text_contains", []):
        assert text in meta["text"]
        assert text not in inbound.body
    if "html" in expected:
        assert (inbound.body_html is not None) is expected["html"]
    for text in expected.get("html_contains", []):
        assert text in (inbound.body_html or "")
    for text in expected.get("html_excludes", []):
        assert inbound.body_html is not None
        assert text not in inbound.body_html
    got = [
        {
            "filename": a.filename,
            "content_type": a.content_type,
            "size": len(a.data),
            "content_id": a.content_id,
        }
        for a in inbound.attachments
    ]
    assert got == expected["attachments"]
    assert meta.get("dropped_attachments", []) == expected.get("dropped", [])
    assert meta["auto"] == expected["auto"]
    if "auto_reason" in expected:
        assert meta["auto_reason"] == expected["auto_reason"]
    for key in ("channel_message_id", "thread_refs"):
        if key in expected:
            value = getattr(inbound, key)
            assert (list(value) if isinstance(value, tuple) else value) == expected[key]
    for key in ("in_reply_to", "references", "to", "cc", "reply_to", "original"):
        if key in expected:
            assert meta[key] == expected[key]
    if "message_id" in expected:
        assert meta["message_id"] == expected["message_id"]
    if "dsn" in expected:
        assert meta["dsn"] == expected["dsn"]
    else:
        assert "dsn" not in meta
    for want, got_entry in zip(expected.get("forwarded", []), meta["forwarded"], strict=True):
        assert {k: got_entry[k] for k in want} == want
    if "sent_at" in expected:
        assert inbound.sent_at is not None
        assert inbound.sent_at.isoformat() == expected["sent_at"]
    # Whatever the file, the contract's meta keys are there and JSON can store them.
    for key in ("message_id", "in_reply_to", "references", "to", "cc"):
        assert key in meta
    json.dumps(meta)
    assert all(len(ref) <= 255 for ref in inbound.thread_refs)
    assert len(inbound.channel_message_id) <= 255


def test_a_mail_without_message_id_gets_the_same_id_on_every_delivery() -> None:
    raw = (PAYLOADS / "no_message_id.eml").read_bytes()
    first = to_inbound(raw)
    # Delivered again through another relay (a trace header more) and with bare LF endings.
    relayed = b"Received: from relay.example.com by mx.example.com; 29 Nov 2026 10:00 +0000\r\n"
    again = to_inbound((relayed + raw).replace(b"\r\n", b"\n"))
    assert first.channel_message_id == again.channel_message_id
    assert first.channel_message_id.startswith("generated.")
    assert first.meta["message_id"] is None
    edited = to_inbound(raw.replace(b"cancel", b"pause"))
    assert edited.channel_message_id != first.channel_message_id


def test_an_oversize_attachment_is_dropped_with_its_mail_kept() -> None:
    raw = (PAYLOADS / "huge_attachment.eml").read_bytes()
    default = to_inbound(raw)  # under the default 25 MB, everything is kept
    assert [a.filename for a in default.attachments] == ["scan.png", "notes.txt"]
    small = to_inbound(raw, limits=AttachmentSettings(max_bytes=1000))
    assert small.body == default.body
    assert [d["reason"] for d in small.meta["dropped_attachments"]] == ["too_large"] * 2


def test_references_are_capped_newest_first() -> None:
    refs = " ".join(f"<ref-{n}@example.com>" for n in range(40))
    raw = (
        "From: a@example.com\r\nMessage-ID: <own@example.com>\r\n"
        f"In-Reply-To: <ref-39@example.com>\r\nReferences: {refs} <own@example.com>\r\n"
        "\r\nhello\r\n"
    ).encode()
    inbound = to_inbound(raw)
    assert len(inbound.thread_refs) == MAX_THREAD_REFS
    assert inbound.thread_refs[:2] == ("ref-39@example.com", "ref-38@example.com")
    assert "own@example.com" not in inbound.thread_refs
    assert len(inbound.meta["references"]) == 41  # the header is kept whole


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"From: <>\r\nSubject: =?utf-8?B?!!!?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary",
        b"From: x@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain; charset=unicode-1-1-utf-7\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n%%%%not base64\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n--b--",
        b"From: x@example.com\r\nContent-Type: text/html; charset=rot13\r\n\r\n<p>hi<blockquote>",
        b"From: x@example.com\r\nMessage-ID: <" + b"a" * 400 + b"@example.com>\r\n\r\nlong id",
    ],
)
def test_hostile_input_never_raises(raw: bytes) -> None:
    inbound = to_inbound(raw)
    assert isinstance(inbound.body, str)
    assert 0 < len(inbound.channel_message_id) <= 255


def test_parts_nested_too_deep_for_the_parser_are_kept_as_text() -> None:
    raw = b"From: Ann <ann@example.com>\r\nSubject: deep\r\n"
    raw += b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for depth in range(3000):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (
            depth,
            depth + 1,
        )
    raw += b"--b3000\r\nContent-Type: text/plain\r\n\r\nthe words that matter\r\n"
    inbound = to_inbound(raw)
    assert inbound.meta["unparsed"] is True
    assert inbound.sender.value == "ann@example.com"
    assert inbound.subject == "deep"
    assert "the words that matter" in inbound.body


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        (b"caf\xe9", "utf-8", "café"),  # mislabelled Windows-1252
        (b"caf\xc3\xa9", "x-unknown", "café"),  # unknown label, UTF-8 bytes
        (b"\x93quoted\x94", "iso-8859-1", "\u201cquoted\u201d"),  # what senders mean by it
        (b"plain", None, "plain"),
        (b"\x81\x8d", "windows-1252", "\ufffd\ufffd"),  # undefined bytes: replaced, not raised
    ],
)
def test_decode_text_falls_back(data: bytes, charset: str | None, text: str) -> None:
    assert decode_text(data, charset) == text


def test_interleaved_answers_are_not_cut() -> None:
    text = "On Mon, Ann wrote:\n> Which size?\nXL please.\n> Which colour?\nBlue."
    reply = quotes.split_reply(text)
    assert reply.display == text
    assert not reply.quote_stripped


def test_header_like_lines_of_the_customer_are_not_a_quote() -> None:
    text = "Please book me:\nFrom: Berlin\nTo: Munich\nDate: 5 May\n\nThanks"
    assert quotes.split_reply(text).display == text


def test_html_text_keeps_quotes_as_quotes() -> None:
    text = markup.to_text("<p>Yes.</p><blockquote><p>Is it <b>ok</b>?</p></blockquote>")
    assert text == "Yes.\n\n> Is it ok?"
    assert quotes.split_reply(text).display == "Yes."
