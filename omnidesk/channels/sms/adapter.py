"""The SMS/MMS adapter: Twilio Programmable Messaging.

Inbound: Twilio POSTs each message (form-encoded) to the inbox's webhook URL, signed with
``X-Twilio-Signature`` (checked with Twilio's own ``RequestValidator`` over the public URL and
the form). Text becomes the body, MMS media become :class:`MediaRef`s the pipeline downloads
with :meth:`SmsChannel.fetch_media`, and STOP / START keywords become the message's consent.
Status callbacks (``MessageStatus``) come to the same URL and update our messages.

Outbound: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` from the inbox's number or
Messaging Service, with our webhook as ``StatusCallback``. Twilio has no idempotency key: the
SID it returns is recorded with the job's completion, and a retried job first looks for the
message among the recipient's latest ones before sending again (see :meth:`_already_sent`).
"""

from __future__ import annotations

import mimetypes
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryState,
    DeliveryUpdate,
    FailureReason,
    Inbound,
    InboundAttachment,
    InboundSender,
    MediaRef,
    MediaUnavailable,
    Outbound,
    SignatureInvalid,
    WebhookReply,
    WebhookRequest,
)
from omnidesk.channels.sms import keywords, rest
from omnidesk.channels.sms.schemas import SmsConfig, SmsSecrets
from omnidesk.contacts.service import normalise_identity
from omnidesk.kit.errors import ValidationFailed

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_API_URL = "https://api.twilio.com"
#: Twilio accepts at most 10 media per MMS, 5 MB in all.
MAX_MEDIA = 10
MMS_MAX_BYTES = 5 * 1024 * 1024
#: How far Twilio's clock may be behind ours when a retry looks for its earlier attempt.
CLOCK_SKEW = timedelta(seconds=60)

#: Twilio error codes, on a send or in a status callback, in the words the agent reads.
ERROR_REASONS: dict[int, FailureReason] = {
    20003: "auth_failed",  # authentication failed
    20429: "rate_limited",  # too many requests
    21211: "invalid_recipient",  # invalid 'To' phone number
    21214: "invalid_recipient",  # 'To' phone number cannot be reached
    21408: "rejected",  # sending to this region is not enabled on the account
    21606: "rejected",  # the 'From' number cannot send SMS
    21610: "opted_out",  # the recipient replied STOP
    21612: "blocked",  # this To/From combination cannot be sent (carrier, country)
    21614: "invalid_recipient",  # 'To' is not a mobile number
    21617: "rejected",  # the body exceeds 1,600 characters
    30003: "invalid_recipient",  # unreachable handset
    30004: "blocked",  # message blocked by the recipient or carrier
    30005: "invalid_recipient",  # unknown handset
    30006: "invalid_recipient",  # landline or unreachable carrier
    30007: "blocked",  # carrier filtering
    30034: "rejected",  # sender not registered for A2P 10DLC
}
_TRANSIENT: frozenset[FailureReason] = frozenset({"rate_limited", "provider_unavailable"})
#: Twilio's statuses that say something to the agent; the others (queued, sending…) do not.
_STATES: dict[str, DeliveryState] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class FormParams:
    """A webhook's form, repeated names kept, as ``RequestValidator`` reads a multi-dict."""

    def __init__(self, body: bytes) -> None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("the webhook's form is not UTF-8", field="body") from None
        self.pairs = parse_qsl(text, keep_blank_values=True)
        self.first: dict[str, str] = {}
        for name, value in self.pairs:
            self.first.setdefault(name, value)

    def __iter__(self) -> Any:
        return iter(self.first)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def get(self, name: str) -> str | None:
        return self.first.get(name)


class SmsChannel:
    name: ClassVar[str] = "sms"
    # Outbound attachments need a public link Twilio can fetch, which omnidesk does not
    # serve yet: replies are text (docs/channels/sms.md).
    capabilities: ClassVar[Capabilities] = Capabilities()
    config_schema: ClassVar[type[BaseModel]] = SmsConfig
    secrets_schema: ClassVar[type[BaseModel]] = SmsSecrets
    inbound_path: ClassVar[str] = "/api/v1/webhooks/sms/{inbox_id}"
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("phone",)

    def __init__(
        self, context: AdapterContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.context = context
        self.config: SmsConfig | None
        self.secrets: SmsSecrets | None
        try:
            self.config = SmsConfig.model_validate(context.config)
        except ValidationError:
            self.config = None
        try:
            self.secrets = SmsSecrets.model_validate(context.secrets)
        except ValidationError:
            self.secrets = None
        self._transport = transport

    @property
    def webhook_url(self) -> str:
        """Where Twilio posts messages and status callbacks for this inbox."""
        path = self.inbound_path.format(inbox_id=self.context.inbox_id)
        return self.context.public_url.rstrip("/") + path

    def _rest(self) -> rest.TwilioRest:
        assert self.secrets is not None
        return rest.TwilioRest(
            self.context.provider_urls.get("twilio", TWILIO_API_URL),
            self.secrets.account_sid,
            self.secrets.rest_auth(),
            timeout_s=self.context.timeout_s,
            transport=self._transport,
        )

    # Inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        if self.secrets is None:
            raise SignatureInvalid("this inbox has no Twilio Auth Token")
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER}")
        try:
            params = FormParams(request.body)
        except ValidationFailed:
            raise SignatureInvalid("the signed form is not readable") from None
        validator = RequestValidator(self.secrets.auth_token)
        if not validator.validate(request.url, params, signature):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        params = FormParams(request.body)
        if params.get("MessageStatus") is not None:
            return []  # a status callback: see status()
        sid = params.get("MessageSid") or params.get("SmsMessageSid")
        sender = params.get("From")
        if not sid:
            raise ValidationFailed("the webhook has no MessageSid", field="MessageSid")
        if not sender:
            raise ValidationFailed("the webhook has no From", field="From")
        try:
            phone = normalise_identity("phone", sender)
        except ValidationFailed:
            raise ValidationFailed(f"From {sender!r} is not a phone number", field="From") from None
        body = params.get("Body") or ""
        keyword = keywords.classify(body, params.get("OptOutType"))
        meta: dict[str, Any] = {"to": params.get("To") or ""}
        segments = params.get("NumSegments")
        if segments and segments.isdigit():
            meta["segments"] = int(segments)
        if keyword is not None:
            meta["sms_keyword"] = keyword
        return [
            Inbound(
                channel_message_id=sid,
                sender=InboundSender(kind="phone", value=phone),
                body=body,
                meta=meta,
                media=_media(params, sid),
                consent=keyword if keyword in ("opt_out", "opt_in") else None,
            )
        ]

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        params = FormParams(request.body)
        sid = params.get("MessageSid") or params.get("SmsSid")
        state = _STATES.get((params.get("MessageStatus") or "").lower())
        if not sid or state is None:
            return []
        if state != "failed":
            return [DeliveryUpdate(sid, state)]
        code = _code(params.get("ErrorCode"))
        reason = ERROR_REASONS.get(code, "rejected") if code is not None else "rejected"
        error = f"Twilio error {code}" if code is not None else "Twilio could not deliver it"
        return [DeliveryUpdate(sid, state, error=error, reason=reason)]

    def acknowledge(self, request: WebhookRequest) -> WebhookReply:
        # An empty TwiML answer: omnidesk replies through the REST API, not in the webhook.
        return WebhookReply(200, str(MessagingResponse()).encode(), "text/xml")

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        if self.secrets is None:
            raise MediaUnavailable("this inbox has no Twilio credentials")
        client = self._rest()
        if not client.is_ours(media.ref):
            # Our credentials go to Twilio's API host only.
            raise MediaUnavailable("not a Twilio media URL")
        try:
            found = await client.fetch_media(media.ref, max_bytes=max_bytes)
        except rest.TooLarge as exc:
            raise MediaUnavailable(f"too large: {exc}") from exc
        except (rest.TwilioError, rest.Unreachable) as exc:
            raise MediaUnavailable(str(exc)) from exc
        content_type = found.content_type or media.content_type or "application/octet-stream"
        return InboundAttachment(media.filename or "media", content_type, found.data)

    # Checks ---------------------------------------------------------------------------

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The credentials open the account; the number is one of its numbers, and where
        Twilio sends its messages."""
        if self.secrets is None:
            return [CheckResult("credentials", False, "the Account SID and Auth Token are not set")]
        client = self._rest()
        try:
            account = await client.fetch_account()
        except (rest.TwilioError, rest.Unreachable) as exc:
            return [CheckResult("credentials", False, str(exc))]
        status = str(account.get("status", ""))
        results = [
            CheckResult(
                "credentials",
                status == "active",
                f"account {account.get('friendly_name', '')!s} is {status or 'of unknown status'}",
            )
        ]
        if self.config is None:
            results.append(CheckResult("configuration", False, "the inbox's settings are invalid"))
            return results
        if self.config.phone_number is not None:
            results.append(await self._check_number(client, self.config.phone_number))
        return results

    async def _check_number(self, client: rest.TwilioRest, number: str) -> CheckResult:
        try:
            found = await client.find_number(number)
        except (rest.TwilioError, rest.Unreachable) as exc:
            return CheckResult("phone number", False, str(exc))
        if found is None:
            return CheckResult("phone number", False, f"{number} is not a number of this account")
        assert self.config is not None
        sms_url = str(found.get("sms_url") or "")
        if self.config.messaging_service_sid is None and sms_url != self.webhook_url:
            return CheckResult(
                "phone number",
                False,
                f"{number}'s 'A message comes in' webhook is {sms_url or 'not set'}: "
                f"set it to {self.webhook_url} (HTTP POST)",
            )
        return CheckResult("phone number", True, f"{number} belongs to the account")

    # Outbound -------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        if outbound.meta.get("recipient_consent") == "opt_out":
            raise DeliveryFailed(
                f"{outbound.recipient} replied STOP: no SMS until they text START",
                permanent=True,
                reason="opted_out",
            )
        if self.config is None:
            raise DeliveryFailed(
                "the inbox's settings are invalid", permanent=True, reason="rejected"
            )
        if self.secrets is None:
            raise DeliveryFailed(
                "the inbox has no Twilio credentials", permanent=True, reason="auth_failed"
            )
        if not outbound.body.strip():
            raise DeliveryFailed("an SMS needs text", permanent=True, reason="rejected")
        client = self._rest()
        try:
            earlier = await self._already_sent(client, outbound)
            if earlier is not None:
                return Delivery(channel_message_id=earlier, state="sent")
            answer = await client.create_message(self.form(outbound))
        except rest.TwilioError as exc:
            raise _failure(exc) from exc
        except rest.Unreachable as exc:
            raise DeliveryFailed(str(exc), reason="provider_unavailable") from exc
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            raise DeliveryFailed(
                "Twilio's answer has no message SID", reason="provider_unavailable"
            )
        return Delivery(channel_message_id=sid, state="sent")

    def form(self, outbound: Outbound) -> list[tuple[str, str]]:
        assert self.config is not None
        form = [("To", outbound.recipient), ("Body", outbound.body)]
        if self.config.messaging_service_sid is not None:
            form.append(("MessagingServiceSid", self.config.messaging_service_sid))
        else:
            assert self.config.phone_number is not None
            form.append(("From", self.config.phone_number))
        form.append(("StatusCallback", self.webhook_url))
        return form

    async def _already_sent(self, client: rest.TwilioRest, outbound: Outbound) -> str | None:
        """On a retry, the SID of the message an earlier attempt may have sent without
        learning so (a timeout after Twilio took it): one of the recipient's latest
        messages from us, created since the reply was written, with the same text."""
        if int(outbound.meta.get("attempt") or 1) <= 1:
            return None
        assert self.config is not None
        since = outbound.meta.get("created_at")
        for message in await client.recent_messages(outbound.recipient, self.config.phone_number):
            if message.get("body") != outbound.body or not str(
                message.get("direction", "")
            ).startswith("outbound"):
                continue
            if self.config.messaging_service_sid and message.get("messaging_service_sid") not in (
                None,
                self.config.messaging_service_sid,
            ):
                continue
            if isinstance(since, str) and not _created_since(message.get("date_created"), since):
                continue
            sid = message.get("sid")
            if isinstance(sid, str) and sid:
                log.info("sms_send_reconciled", message_id=outbound.message_id, sid=sid)
                return sid
        return None


def _media(params: FormParams, sid: str) -> tuple[MediaRef, ...]:
    count = params.get("NumMedia") or "0"
    if not count.isdigit():
        raise ValidationFailed("NumMedia is not a number", field="NumMedia")
    refs = []
    for index in range(min(int(count), MAX_MEDIA)):
        url = params.get(f"MediaUrl{index}")
        if not url:
            raise ValidationFailed(f"MediaUrl{index} is missing", field=f"MediaUrl{index}")
        kind = (params.get(f"MediaContentType{index}") or "").split(";")[0].strip().lower()
        refs.append(MediaRef(url, kind, _filename(url, kind, sid, index)))
    return tuple(refs)


def _filename(url: str, kind: str, sid: str, index: int) -> str:
    stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or f"{sid}-{index}"
    extension = mimetypes.guess_extension(kind) or "" if kind else ""
    return f"{stem}{extension}"


def _code(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _failure(exc: rest.TwilioError) -> DeliveryFailed:
    reason = ERROR_REASONS.get(exc.code) if exc.code is not None else None
    if reason is None:
        if exc.status == 429:
            reason = "rate_limited"
        elif exc.status >= 500:
            reason = "provider_unavailable"
        elif exc.status in (401, 403):
            reason = "auth_failed"
        else:
            reason = "rejected"
    return DeliveryFailed(str(exc), permanent=reason not in _TRANSIENT, reason=reason)


def _created_since(date_created: object, since: str) -> bool:
    if not isinstance(date_created, str):
        return False
    try:
        created = parsedate_to_datetime(date_created)
        written = datetime.fromisoformat(since)
    except (TypeError, ValueError):
        return False
    # Twilio's dates have whole seconds, and its clock is not ours.
    return created >= written - CLOCK_SKEW
