"""The email channel adapter: replies leave by SMTP, threaded into the customer's mail.

Mail comes in through the built-in SMTP listener (``listener.py``) or IMAP polling
(``imap.py``), both through :func:`omnidesk.channels.email.mime.to_inbound`; there are no
webhooks. A reply (the ``channel.deliver`` job) is composed here and handed to the inbox's
SMTP server:

- ``Message-ID`` derived from the job's idempotency key (the same on every retry), returned
  as the delivery's ``channel_message_id`` so a customer's answer referring to it threads;
- ``In-Reply-To`` / ``References`` from the customer's last mail, ``Subject: Re: …``;
- ``Reply-To: support+c42.5f3a9b1c@…``: a signed conversation token that threads answers
  back even when the customer's client drops References;
- To the customer, Cc the other people of their last mail (never our own addresses) —
  unless the agent chose To, Cc or Subject (``composed`` in the outbound's meta);
- plain text with an HTML alternative; ``Auto-Submitted: auto-replied`` on omnidesk's own
  automatic answers, which are never sent to an automatic mail (loops).

SMTP 4xx answers and network failures are retried by the outbox; 5xx are final.
"""

from __future__ import annotations

import html
import re
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, ClassVar

import aiosmtplib
import structlog
from pydantic import BaseModel, ValidationError

from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    Outbound,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.channels.email import addressing, ids, imap
from omnidesk.channels.email.schemas import EmailConfig, EmailSecrets
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

#: References kept in a reply: the thread's first message and the latest ones.
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|vs|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


class EmailChannel:
    name: ClassVar[str] = "email"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attachments=True, max_attachment_bytes=25 * 1024 * 1024, html=True, subject=True
    )
    config_schema: ClassVar[type[BaseModel]] = EmailConfig
    secrets_schema: ClassVar[type[BaseModel]] = EmailSecrets
    #: The identity kinds a reply can be addressed to.
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("email",)

    def __init__(
        self, context: AdapterContext, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.context = context
        #: Which certificates to trust (default: the system's): tests bring their own CA.
        self.tls_context = tls_context
        self._config_error: str | None = None
        try:
            self.config: EmailConfig | None = EmailConfig.model_validate(context.config)
        except ValidationError as exc:
            self.config = None
            self._config_error = str(exc.errors()[0]["msg"])
        self.secrets = EmailSecrets.model_validate(
            {k: v for k, v in context.secrets.items() if k in EmailSecrets.model_fields}
        )

    @classmethod
    def inbound_address(cls, inbox_id: int, settings: Settings) -> str:
        """Where the provider forwards this inbox's mail (the built-in SMTP listener)."""
        return addressing.forwarding_address(inbox_id, settings)

    # Inbound: by SMTP and IMAP, never by webhook ---------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        raise SignatureInvalid("email arrives by SMTP or IMAP, not by webhook")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return []

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return []

    # Outbound -------------------------------------------------------------------------

    def compose(self, outbound: Outbound) -> tuple[EmailMessage, list[str]]:
        """The reply as a MIME message, and its recipients (To first, then Cc)."""
        config = self._usable_config()
        key = self.context.channel_key
        if not key:
            raise DeliveryFailed("the inbox's adapter has no channel key", permanent=True)
        last = outbound.meta.get("last_inbound") or {}
        last_meta: dict[str, Any] = last.get("meta") or {}
        automatic = outbound.meta.get("sender_type") == "system"
        if automatic and last_meta.get("auto"):
            # An automatic answer to an automatic mail (an out-of-office, a bounce) is how
            # mail loops start: it is not sent.
            raise DeliveryFailed(
                "not sending an automatic answer to an automatic mail", permanent=True
            )
        message = EmailMessage()
        message_id = ids.stable_message_id(outbound.idempotency_key, key, config.domain)
        message["Message-ID"] = f"<{message_id}>"
        message["Date"] = format_datetime(_sent_at(outbound))
        message["From"] = formataddr((self._from_name(outbound), config.address))
        token = ids.conversation_token(outbound.conversation_id, key)
        message["Reply-To"] = formataddr(
            (_one_line(config.display_name), f"{config.local_part}+{token}@{config.domain}")
        )
        composed: dict[str, Any] = outbound.meta.get("composed") or {}
        to_list = _chosen(composed.get("to"), config.address, key)
        if "to" in composed and not to_list:
            raise DeliveryFailed("the reply is addressed to no one but us", permanent=True)
        to_list = to_list or [outbound.recipient.strip()]
        to = to_list[0]
        message["To"] = ", ".join(to_list)
        if "cc" in composed:
            taken = {a.lower() for a in to_list}
            cc = [a for a in _chosen(composed["cc"], config.address, key) if a.lower() not in taken]
        else:
            cc = _copied(last_meta, to, config.address, key)
        if cc:
            message["Cc"] = ", ".join(cc)
        # Only a mail's own Message-ID: the customer's last message may have come another
        # way (an offline web chat's id is the widget's).
        parent = last_meta.get("message_id") if last else outbound.meta.get("last_outbound_id")
        references = _references(last_meta, parent if isinstance(parent, str) else None)
        subject = composed.get("subject")
        message["Subject"] = (
            _one_line(subject)
            if isinstance(subject, str) and subject.strip()
            else _reply_subject(outbound.subject, replying=bool(references))
        )
        if references:
            message["In-Reply-To"] = f"<{references[-1]}>"
            message["References"] = " ".join(f"<{r}>" for r in references)
        if automatic:
            message["Auto-Submitted"] = "auto-replied"
            message["X-Auto-Response-Suppress"] = "All"
        message.set_content(outbound.body or "")
        html_body = _document(outbound.body_html) if outbound.body_html else _as_html(outbound.body)
        message.add_alternative(html_body, subtype="html")
        for attachment in outbound.attachments:
            maintype, _, subtype = attachment.content_type.lower().partition("/")
            if not _TOKEN.match(maintype) or not _TOKEN.match(subtype) or maintype == "multipart":
                maintype, subtype = "application", "octet-stream"
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=_one_line(attachment.filename) or "attachment",
            )
        return message, [*to_list, *cc]

    async def send(self, outbound: Outbound) -> Delivery:
        config = self._usable_config()
        if not config.smtp_host:
            raise DeliveryFailed("the inbox has no SMTP server to send through", permanent=True)
        message, recipients = self.compose(outbound)
        message_id = ids.normalise_message_id(str(message["Message-ID"]))
        username = config.smtp_username or None
        password = self.secrets.smtp_password if username else None
        try:
            refused, answer = await aiosmtplib.send(
                message,
                sender=config.address,
                recipients=recipients,
                hostname=config.smtp_host,
                port=config.smtp_port_or_default,
                username=username,
                password=password,
                use_tls=config.smtp_security == "tls",
                start_tls=config.smtp_security == "starttls",
                timeout=self.context.timeout_s,
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            permanent = all(code >= 500 for code in codes)
            raise DeliveryFailed(
                f"the SMTP server refused every recipient: {detail}", permanent=permanent
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the SMTP server answered {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"the SMTP server could not be reached: {exc!r}") from None
        if refused:
            # Accepted for the customer and refused for someone copied: sent, and said so.
            log.warning(
                "email_recipients_refused",
                inbox_id=self.context.inbox_id,
                message_id=outbound.message_id,
                refused={k: f"{v.code} {v.message}" for k, v in refused.items()},
            )
        log.info(
            "email_sent",
            inbox_id=self.context.inbox_id,
            message_id=outbound.message_id,
            smtp_answer=answer[:200],
        )
        return Delivery(channel_message_id=message_id, state="sent")

    # Checks ---------------------------------------------------------------------------

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """Connect to the SMTP server as ``send`` would (TLS as configured, EHLO, login when
        a username is set) and log in to the IMAP mailbox, sending and reading nothing.

        The hosts are the admin's own mail servers, reached like ``send`` reaches them
        (an internal relay is normal): the webhooks' SSRF policy does not apply.
        """
        if self.config is None:
            return [CheckResult("configuration", False, f"not valid: {self._config_error}")]
        results = await self._check_smtp(self.config)
        account = imap.account_from(self.config, self.context.secrets)
        if account is not None:
            results += await imap.check_account(
                account, timeout_s=self.context.timeout_s, ssl_context=self.tls_context
            )
        return results

    async def _check_smtp(self, config: EmailConfig) -> list[CheckResult]:
        if not config.smtp_host:
            return [CheckResult("SMTP connect", False, "no SMTP server: replies cannot be sent")]
        port = config.smtp_port_or_default
        where = f"{config.smtp_host}:{port} ({config.smtp_security})"
        client = aiosmtplib.SMTP(
            hostname=config.smtp_host,
            port=port,
            use_tls=config.smtp_security == "tls",
            start_tls=config.smtp_security == "starttls",
            timeout=self.context.timeout_s,
            tls_context=self.tls_context,
        )
        results: list[CheckResult] = []
        step = "SMTP connect"
        try:
            await client.connect()
            answer = await client.ehlo()
            results.append(CheckResult(step, True, f"{where}: {answer.code} {_first(answer)}"))
            if config.smtp_username:
                step = "SMTP login"
                await client.login(config.smtp_username, self.secrets.smtp_password or "")
                results.append(CheckResult(step, True, f"logged in as {config.smtp_username}"))
        except aiosmtplib.SMTPResponseException as exc:
            results.append(CheckResult(step, False, f"{where}: {exc.code} {exc.message}"[:300]))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            results.append(CheckResult(step, False, f"{where}: {exc}"[:300]))
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()
        return results

    def _usable_config(self) -> EmailConfig:
        if self.config is None:
            raise DeliveryFailed(
                f"the inbox's email configuration is not valid: {self._config_error}",
                permanent=True,
            )
        return self.config

    def _from_name(self, outbound: Outbound) -> str:
        assert self.config is not None
        team = _one_line(self.config.display_name)
        agent = (
            _one_line(outbound.sender_name) if outbound.meta.get("sender_type") == "user" else ""
        )
        if agent and team:
            return f"{agent} ({team})"
        return agent or team


def _first(answer: aiosmtplib.SMTPResponse) -> str:
    return answer.message.splitlines()[0] if answer.message else ""


def _one_line(value: str) -> str:
    return _LINE_BREAKS.sub(" ", value).strip()


def _sent_at(outbound: Outbound) -> datetime:
    created = outbound.meta.get("created_at")
    try:
        return datetime.fromisoformat(created) if isinstance(created, str) else datetime.now(UTC)
    except ValueError:
        return datetime.now(UTC)


def _reply_subject(subject: str | None, *, replying: bool) -> str:
    """``Re: <subject>`` for a reply (never ``Re: Re:``); a new thread keeps its subject."""
    text = _one_line(subject or "")
    if not replying:
        return text
    if not text:
        return "Re: (no subject)"
    stripped = text
    while (found := _REPLY_PREFIX.match(stripped)) is not None:
        stripped = stripped[found.end() :].lstrip()
    return f"Re: {stripped}"


def _references(last_meta: dict[str, Any], parent: str | None) -> list[str]:
    """The parent's References then the parent itself, each once, oldest first; a long
    chain keeps its first message and the latest ones (RFC 5322 3.6.4)."""
    chain: list[str] = []
    for value in [*(last_meta.get("references") or []), parent]:
        if isinstance(value, str):
            normalised = ids.normalise_message_id(value)
            if normalised and normalised not in chain and " " not in normalised:
                chain.append(normalised)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def _copied(last_meta: dict[str, Any], to: str, inbox_address: str, key: str) -> list[str]:
    """Reply-all: the other people on the customer's last mail, never us nor the customer."""
    seen = {to.lower()}
    copied = []
    for field in ("to", "cc"):
        for value in last_meta.get(field) or []:
            if not isinstance(value, str) or "@" not in value:
                continue
            address = value.strip()
            if address.lower() in seen or addressing.is_own(address, inbox_address, key):
                continue
            seen.add(address.lower())
            copied.append(address)
    return copied


def _chosen(addresses: Any, inbox_address: str, key: str) -> list[str]:
    """The addresses an agent typed (checked when stored), each once, never ours."""
    out: list[str] = []
    for value in addresses if isinstance(addresses, list) else []:
        if not isinstance(value, str) or "@" not in value:
            continue
        address = _one_line(value)
        if addressing.is_own(address, inbox_address, key):
            continue
        if address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out


def _as_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    rendered = "".join(
        "<p>" + html.escape(p.strip()).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs
    )
    return _document(rendered)


def _document(fragment: str) -> str:
    """An HTML body (sanitised when stored) as a whole document."""
    return f'<!doctype html>\n<html><body>\n<div dir="auto">\n{fragment}</div>\n</body></html>\n'
