"""An email inbox's connectivity check against real servers: an SMTP sink (plain, STARTTLS
and implicit TLS with a login) and a private dovecot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP

from omnidesk.channels.base import AdapterContext
from omnidesk.channels.email.adapter import EmailChannel
from tests.channels.api.receiver import free_port
from tests.channels.email.conftest import SmtpSink, close_sessions, make_email_inbox, tls_sink
from tests.channels.email.dovecot import PASSWORD, USER, Dovecot
from tests.channels.email.tls import self_signed
from tests.conftest import Tenant

SUPPORT = "support@acme.example.com"


class _NoLookups:
    async def inboxes_with(self, key: str, value: str) -> list[int]:
        raise AssertionError("an email check looks nothing up")


async def _check(
    client: httpx.AsyncClient, tenant: Tenant, inbox_id: int
) -> dict[str, dict[str, Any]]:
    response = await client.post(f"/api/v1/inboxes/{inbox_id}/check", headers=tenant.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] == all(c["ok"] for c in report["checks"])
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.slow
async def test_smtp_and_imap_are_checked_with_the_inboxs_settings(
    email_client: httpx.AsyncClient, tenant: Tenant, smtp_sink: SmtpSink, dovecot: Dovecot
) -> None:
    inbox = await make_email_inbox(
        email_client,
        tenant,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_security="none",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_tls=False,
        imap_username=USER,
        imap_poll_interval_s=3600,
        secrets={"imap_password": PASSWORD},
    )
    checks = await _check(email_client, tenant, inbox["id"])
    assert list(checks) == ["SMTP connect", "IMAP connect", "IMAP login", "IMAP mailbox"]
    assert all(c["ok"] for c in checks.values()), checks
    assert "250" in checks["SMTP connect"]["detail"]
    assert smtp_sink.mails == []  # nothing was sent

    # A wrong IMAP password stops at the login; a mailbox that does not exist at the select.
    await email_client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"secrets": {"imap_password": "wrong"}},
        headers=tenant.headers,
    )
    checks = await _check(email_client, tenant, inbox["id"])
    assert [(n, c["ok"]) for n, c in checks.items()] == [
        ("SMTP connect", True),
        ("IMAP connect", True),
        ("IMAP login", False),
    ]
    await email_client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"secrets": {"imap_password": PASSWORD}, "config": {"imap_mailbox": "Nope"}},
        headers=tenant.headers,
    )
    checks = await _check(email_client, tenant, inbox["id"])
    assert checks["IMAP mailbox"]["ok"] is False
    assert "Nope" in checks["IMAP mailbox"]["detail"]


async def test_an_unreachable_or_missing_smtp_server_fails_its_check(
    email_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    closed = free_port()  # nothing listens there
    inbox = await make_email_inbox(
        email_client, tenant, smtp_host="127.0.0.1", smtp_port=closed, smtp_security="none"
    )
    checks = await _check(email_client, tenant, inbox["id"])
    assert list(checks) == ["SMTP connect"]
    assert checks["SMTP connect"]["ok"] is False
    assert f"127.0.0.1:{closed}" in checks["SMTP connect"]["detail"]

    bare = await make_email_inbox(email_client, tenant)
    checks = await _check(email_client, tenant, bare["id"])
    assert checks["SMTP connect"]["ok"] is False
    assert "no SMTP server" in checks["SMTP connect"]["detail"]


async def test_tls_and_the_login_are_checked_like_a_send(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "tls")
    for security in ("starttls", "tls"):
        logins: list[tuple[bytes, bytes]] = []
        sessions: list[SMTP] = []
        sink, server = await tls_sink(
            certificate, implicit=security == "tls", logins=logins, sessions=sessions
        )
        try:
            context = AdapterContext(
                inbox_id=1,
                account_id=1,
                config={
                    "address": SUPPORT,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": sink.port,
                    "smtp_security": security,
                    "smtp_username": SUPPORT,
                },
                secrets={"smtp_password": "smtp-pass-1"},
                public_url="http://testserver",
                timeout_s=5,
            )
            # The system's authorities do not know this server: the connection fails.
            [untrusted] = await EmailChannel(context).check(_NoLookups())
            assert untrusted.name == "SMTP connect"
            assert untrusted.ok is False

            trusted = EmailChannel(context, tls_context=certificate.client_context())
            results = await trusted.check(_NoLookups())
            assert [(r.name, r.ok) for r in results] == [
                ("SMTP connect", True),
                ("SMTP login", True),
            ]
            assert logins == [(SUPPORT.encode(), b"smtp-pass-1")]

            wrong = context.model_copy(update={"secrets": {"smtp_password": "nope"}})
            results = await EmailChannel(wrong, tls_context=certificate.client_context()).check(
                _NoLookups()
            )
            assert results[-1].name == "SMTP login"
            assert results[-1].ok is False
            assert "535" in results[-1].detail
            assert sink.mails == []
        finally:
            server.close()
            await close_sessions(sessions)
            await server.wait_closed()


@pytest.mark.slow
async def test_imaps_is_checked_with_the_servers_certificate(dovecot: Dovecot) -> None:
    assert dovecot.certificate is not None
    context = AdapterContext(
        inbox_id=1,
        account_id=1,
        config={
            "address": SUPPORT,
            "smtp_host": None,
            "imap_host": "127.0.0.1",
            "imap_port": dovecot.tls_port,
            "imap_tls": True,
            "imap_username": USER,
        },
        secrets={"imap_password": PASSWORD},
        public_url="http://testserver",
        timeout_s=5,
    )
    results = await EmailChannel(context).check(_NoLookups())
    assert [(r.name, r.ok) for r in results] == [("SMTP connect", False), ("IMAP connect", False)]
    trusted = EmailChannel(context, tls_context=dovecot.certificate.client_context())
    results = await trusted.check(_NoLookups())
    assert [(r.name, r.ok) for r in results] == [
        ("SMTP connect", False),
        ("IMAP connect", True),
        ("IMAP login", True),
        ("IMAP mailbox", True),
    ]
