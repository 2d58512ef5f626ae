"""The visitor protocol's HTTP calls (docs/channels/webchat.md, "Visitor protocol (v1)"), the
widget bundle, and the agents' side of the chat (embed snippet, typing, reads).

Every visitor call is public, found by the inbox's widget key and, but ``session``,
authenticated by a visitor token. Each checks the page's ``Origin`` against the inbox's
allow-list and is rate limited per visitor and per client address. CORS answers name the
allowed origin only. Errors leave in the one error shape, with the CORS headers that let the
widget read them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnidesk.channels.base import (
    Departure,
    Inbound,
    InboundAttachment,
    InboundSender,
)
from omnidesk.channels.webchat import service, tokens
from omnidesk.channels.webchat.adapter import OFFLINE_THREAD_PREFIX, WebchatChannel
from omnidesk.channels.webchat.schemas import (
    AgentReadIn,
    AgentTypingIn,
    CsatIn,
    EmbedOut,
    EventsIn,
    HistoryOut,
    LeftIn,
    MessageIn,
    OfflineIn,
    ReadIn,
    SessionIn,
    SessionOut,
    TypingIn,
    VisitorMessageOut,
    origin_of,
)
from omnidesk.contacts.models import Contact
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.conversations.service import InboundItem, ReceiveResult
from omnidesk.inboxes import service as inboxes
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OmnideskError,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from omnidesk.kit.types import RowId
from omnidesk.realtime import live, viewers
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ContainerDep
from omnidesk.web.errors import (
    http_error_response,
    omnidesk_error_response,
    unexpected_error_response,
    validation_error_response,
)

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

log = structlog.get_logger(__name__)

#: Where the widget engineer's build puts the bundle (widget/, `make widget`).
BUNDLE = Path(__file__).parent / "static" / "widget.js"
VISITOR_SCHEME = "visitor"
_ALLOW_HEADERS = "Authorization, Content-Type"
_ALLOW_METHODS = "GET, POST, OPTIONS"


class WidgetRoute(APIRoute):
    """Answers every outcome — errors included — with the CORS headers the page may read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            path = request.url.path
            try:
                response = await handle(request)
            except OmnideskError as exc:
                response = omnidesk_error_response(exc, path)
            except RequestValidationError as exc:
                response = validation_error_response(exc.errors(), path)
            except StarletteHTTPException as exc:
                response = http_error_response(exc, path)
            except Exception:
                response = unexpected_error_response(path)
            _cors(request, response)
            return response

        return handler


def _cors(request: Request, response: Response) -> None:
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin and not getattr(request.state, "origin_refused", False):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers["Access-Control-Max-Age"] = "600"


router = APIRouter(tags=["web chat (visitors)"], route_class=WidgetRoute)
agents = APIRouter(tags=["web chat"])

WidgetKey = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=64,
        description="The inbox's public widget key (`config.widget_key`).",
    ),
]


@dataclass
class Caller:
    container: Container
    inbox: Inbox
    visitor_id: str
    contact: Contact | None = None


def origin_allowed(inbox: Inbox, origin: str | None) -> bool:
    allowed = service.config_of(inbox).allowed_origins
    if not allowed or origin is None:
        return True  # no list, or not a browser (a browser always sends Origin cross-site)
    return origin_of(origin) in allowed


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _inbox(request: Request, container: Container, key: str) -> Inbox:
    """The inbox of ``key`` whose allow-list admits the page, after the address's rate."""
    limits = container.settings.webchat
    await container.rate_limiter.hit(
        f"webchat:ip:{client_ip(request)}", limit=limits.ip_calls_per_minute
    )
    async with container.db.transaction() as session:
        inbox = await service.find_inbox(session, key)
    if not origin_allowed(inbox, request.headers.get("origin")):
        request.state.origin_refused = True
        raise Forbidden("this site may not embed the chat", field="Origin")
    return inbox


def visitor_id_of(container: Container, inbox: Inbox, token: str | None) -> str:
    if not token:
        raise Unauthorized("send the visitor token: Authorization: Visitor <token>")
    try:
        claims = tokens.read(container.settings.secret_key.get_secret_value(), token)
    except tokens.BadToken as exc:
        raise Unauthorized(str(exc)) from None
    if claims.inbox_id != inbox.id:
        raise Unauthorized("this visitor token belongs to another chat")
    return claims.visitor_id


async def visitor(request: Request, key: str, *, message: bool = False) -> Caller:
    """The authenticated visitor of a call (and their contact, if they have one yet)."""
    container: Container = request.app.state.container
    inbox = await _inbox(request, container, key)
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    visitor_id = visitor_id_of(
        container, inbox, token.strip() if scheme.lower() == VISITOR_SCHEME else None
    )
    limits = container.settings.webchat
    rate = container.rate_limiter
    await rate.hit(f"webchat:visitor:{inbox.id}:{visitor_id}", limit=limits.calls_per_minute)
    if message:
        await rate.hit(f"webchat:message:{inbox.id}:{visitor_id}", limit=limits.messages_per_minute)
    async with container.db.transaction() as session:
        contact = await service.visitor_contact(session, inbox, visitor_id)
    return Caller(container, inbox, visitor_id, contact)


def links_of(container: Container, inbox: Inbox) -> service.Links:
    return service.Links(
        base_url=container.settings.public_url.rstrip("/"),
        widget_key=service.config_of(inbox).widget_key,
        inbox_id=inbox.id,
        secret_key=container.settings.secret_key.get_secret_value(),
    )


# Session ----------------------------------------------------------------------------------


@router.post(
    "/widget/v1/{key}/session",
    summary="Start or resume a visitor's session (web chat)",
    description="Without a visitor token, or with one of another inbox, a new visitor is "
    "made. With `user` (the host site's logged-in user and `hash` = hex(HMAC-SHA256(identity "
    "secret, id))), the visitor joins the contact with that `external` identity, so that "
    "their conversations follow them across devices; a wrong hash is a 403.",
    responses={404: {"description": "No web chat has this widget key"}},
)
async def start_session(request: Request, key: WidgetKey, body: SessionIn) -> SessionOut:
    container: Container = request.app.state.container
    inbox = await _inbox(request, container, key)
    await container.rate_limiter.hit(
        f"webchat:session:{client_ip(request)}",
        limit=container.settings.webchat.sessions_per_minute,
    )
    secret_key = container.settings.secret_key.get_secret_value()
    visitor_id = None
    if body.visitor_token:
        try:
            claims = tokens.read(secret_key, body.visitor_token)
        except tokens.BadToken:
            claims = None
        if claims is not None and claims.inbox_id == inbox.id:
            visitor_id = claims.visitor_id
    visitor_id = visitor_id or tokens.new_visitor_id()
    clock = container.clock
    async with container.db.transaction() as session:
        contact: Contact | None
        if body.user is not None:
            secret = service.identity_secret(container.secret_box, inbox)
            visitor_id, contact = await service.identify(
                session, clock, inbox, secret, visitor_id, body.user
            )
        else:
            contact = await service.visitor_contact(session, inbox, visitor_id)
        conversation = await service.latest_conversation(
            session, inbox, contact.id if contact else None
        )
        return SessionOut(
            visitor_token=tokens.issue(secret_key, inbox.id, visitor_id),
            visitor=await service.visitor_out(session, contact),
            settings=await service.widget_settings(
                session, clock, inbox, container.settings.attachments
            ),
            conversation=service.conversation_view(conversation),
        )


# Messages ---------------------------------------------------------------------------------


@router.get(
    "/widget/v1/{key}/messages",
    summary="The visitor's message history, oldest first (web chat)",
    description="Messages after `after` (a message id), at most `limit`. Internal notes are "
    "never included. `conversation` is the visitor's current conversation.",
)
async def list_messages(
    request: Request,
    key: WidgetKey,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.HISTORY_LIMIT)] = 50,
) -> HistoryOut:
    caller = await visitor(request, key)
    if caller.contact is None:
        return HistoryOut(messages=[], conversation=None)
    async with caller.container.db.transaction() as session:
        rows = await service.history(
            session, caller.inbox, caller.contact.id, after=after, limit=limit
        )
        messages = await service.visitor_messages(
            session, caller.inbox, rows, links_of(caller.container, caller.inbox)
        )
        conversation = await service.latest_conversation(session, caller.inbox, caller.contact.id)
    return HistoryOut(messages=messages, conversation=service.conversation_view(conversation))


_MESSAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": VisitorMessageOut, "description": "Already received: the stored message"},
    409: {"description": "This client_id is another visitor's message"},
    413: {"description": "The body is longer than allowed"},
    429: {"description": "Too many messages: wait Retry-After seconds"},
}


@router.post(
    "/widget/v1/{key}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitorMessageOut,
    summary="Send a visitor's message (web chat; idempotent on client_id)",
    description="The first message opens a conversation; `pre_chat` fills the contact (name, "
    "email identity, the custom attributes the pre-chat form names). Sending the same "
    "`client_id` again answers 200 with the stored message.",
    responses=_MESSAGE_RESPONSES,
)
async def send_message(request: Request, key: WidgetKey, body: MessageIn) -> Response:
    caller = await visitor(request, key, message=True)
    _check_size(caller.container, body.body)
    return await _receive(caller, body.client_id, body.body, pre_chat=body)


def _check_size(container: Container, text: str) -> None:
    limit = container.settings.webchat.max_message_chars
    if len(text) > limit:
        raise PayloadTooLarge(f"messages may be at most {limit} characters", field="body")


async def _contact_for(caller: Caller, name: str = "") -> Contact:
    async with caller.container.db.transaction() as session:
        contact = await service.ensure_contact(
            session, caller.container.clock, caller.inbox, caller.visitor_id, name=name
        )
    caller.contact = contact
    return contact


async def _receive(
    caller: Caller,
    client_id: str,
    text: str,
    *,
    pre_chat: MessageIn | None = None,
    attachments: tuple[InboundAttachment, ...] = (),
    offline: OfflineIn | None = None,
) -> Response:
    container, inbox = caller.container, caller.inbox
    name = (pre_chat.pre_chat.name if pre_chat and pre_chat.pre_chat else None) or (
        offline.name if offline else None
    )
    contact = caller.contact or await _contact_for(caller, name or "")
    if (pre_chat is not None and pre_chat.pre_chat is not None) or offline is not None:
        async with container.db.transaction() as session:
            contact = await service.visitor_contact(session, inbox, caller.visitor_id) or contact
            if pre_chat is not None and pre_chat.pre_chat is not None:
                await service.apply_pre_chat(
                    session, container.clock, inbox, contact, pre_chat.pre_chat
                )
            if offline is not None:
                await service.fill_contact(
                    session, container.clock, contact, name=offline.name, email=offline.email
                )
    thread = f"{OFFLINE_THREAD_PREFIX}{client_id}" if offline else f"chat:{contact.id}"
    if container.inbound is None:
        raise ServiceUnavailable("the server is not taking messages")
    result = await container.inbound.receive(
        InboundItem(
            account_id=inbox.account_id,
            inbox_id=inbox.id,
            channel_type=WebchatChannel.name,
            inbound=Inbound(
                channel_message_id=client_id,
                sender=InboundSender(kind=service.VISITOR, value=caller.visitor_id),
                body=text,
                thread_id=thread,
                subject=f"Message left on the web chat by {offline.name or offline.email}"
                if offline
                else None,
                attachments=attachments,
                meta={"client_id": client_id, "visitor_id": caller.visitor_id},
            ),
        )
    )
    if result.conversation.contact_id != contact.id:
        raise Conflict("this client_id was used for another message", field="client_id")
    if offline is not None and result.created:
        async with container.db.transaction() as session:
            await service.hand_off_offline(session, container.clock, inbox, result.conversation.id)
    return await _message_response(caller, result)


async def _message_response(caller: Caller, result: ReceiveResult) -> Response:
    message = result.message_json
    async with caller.container.db.transaction() as session:
        if message is None:
            attachments = await conversations_repo.attachments_of(session, [result.message.id])
            message = conversations.message_out(
                result.message, attachments[result.message.id]
            ).model_dump(mode="json")
        [out] = await service.visitor_messages(
            session, caller.inbox, [message], links_of(caller.container, caller.inbox)
        )
    return Response(
        out.model_dump_json(),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.post(
    "/widget/v1/{key}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitorMessageOut,
    summary="Send a file from the visitor (web chat; multipart, idempotent on client_id)",
    description="Multipart fields `file`, `client_id` and an optional `body`. The account's "
    "attachment limits apply: too large is a 413, a type not accepted a 415.",
    responses=_MESSAGE_RESPONSES | {415: {"description": "A file type not accepted"}},
)
async def send_attachment(
    request: Request,
    key: WidgetKey,
    file: Annotated[UploadFile, File(description="The file.")],
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    body: Annotated[str, Form(max_length=65536)] = "",
) -> Response:
    caller = await visitor(request, key, message=True)
    _check_size(caller.container, body)
    for name, value in (("client_id", client_id), ("body", body)):
        if "\x00" in value:
            raise ValidationFailed("must not contain NUL characters", field=name)
    limits = caller.container.settings.attachments
    data = await file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"attachments may be at most {limits.max_bytes} bytes", field="file")
    filename = file.filename or "attachment"
    kind = conversations.check_attachment(limits, filename, file.content_type or "", len(data))
    attachment = InboundAttachment(filename=filename, content_type=kind, data=data)
    return await _receive(caller, client_id, body, attachments=(attachment,))


@router.get(
    "/widget/v1/{key}/attachments/{attachment_id}",
    summary="Download an attachment of the chat (web chat; signed link)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    request: Request,
    key: WidgetKey,
    attachment_id: RowId,
    sig: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    container: Container = request.app.state.container
    inbox = await _inbox(request, container, key)
    secret_key = container.settings.secret_key.get_secret_value()
    if not tokens.attachment_signature_matches(secret_key, inbox.id, attachment_id, sig):
        raise NotFound("attachment")
    async with container.db.transaction() as session:
        attachment = await conversations_repo.get_attachment(
            session, inbox.account_id, attachment_id
        )
    if attachment is None:
        raise NotFound("attachment")
    data = await container.storage.get(attachment.storage_key)
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# Typing, reads, events --------------------------------------------------------------------


@router.post(
    "/widget/v1/{key}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="The visitor is typing, or stopped (web chat)",
    description="Agents who may see the conversation get `conversation.typing` on `/ws` "
    "(live only, never stored). Nothing happens before the visitor has a conversation.",
)
async def visitor_typing(request: Request, key: WidgetKey, body: TypingIn) -> None:
    caller = await visitor(request, key)
    if caller.contact is None:
        return
    async with caller.container.db.transaction() as session:
        conversation = await service.latest_conversation(session, caller.inbox, caller.contact.id)
    if conversation is None:
        return
    await publish_typing(
        caller.container,
        conversation,
        typing=body.typing,
        sender={"type": "contact", "contact_id": caller.contact.id, "name": caller.contact.name},
    )


async def publish_typing(
    container: Container,
    conversation: Conversation,
    *,
    typing: bool,
    sender: dict[str, Any],
) -> None:
    """Live only: to the agents' sockets (by the conversation's visibility) and the
    visitor's (``stream.py``)."""
    await _publish(
        container,
        conversation,
        {
            "type": "conversation.typing",
            "conversation_id": conversation.id,
            "typing": typing,
            "expires_in_s": container.settings.webchat.typing_ttl_s,
            "sender": sender,
        },
    )


async def _publish(
    container: Container, conversation: Conversation, message: dict[str, Any]
) -> None:
    await live.publish_to_conversation(container.broker, conversation, message)


@router.post(
    "/widget/v1/{key}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="The visitor read the agents' messages up to one (web chat)",
    description="Each of our messages up to `message_id` becomes `read` "
    "(`message.delivery_updated` on `/ws`).",
)
async def visitor_read(request: Request, key: WidgetKey, body: ReadIn) -> None:
    caller = await visitor(request, key)
    async with caller.container.db.transaction() as session:
        await service.mark_read(
            session, caller.container.clock, caller.inbox, caller.contact, body.message_id
        )


@router.post(
    "/widget/v1/{key}/events",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Record what the visitor did on the site (web chat): page views, rage clicks",
    description="Up to 20 at once; each becomes a `contact.page_viewed` or "
    "`contact.rage_clicked` event on the contact's timeline (`/api/v1/contacts/{id}/events`).",
)
async def visitor_events(request: Request, key: WidgetKey, body: EventsIn) -> None:
    caller = await visitor(request, key)
    contact = caller.contact or await _contact_for(caller)
    async with caller.container.db.transaction() as session:
        await service.record_page_events(
            session, caller.container.clock, caller.inbox, contact, caller.visitor_id, body.events
        )


@router.post(
    "/widget/v1/{key}/offline",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitorMessageOut,
    summary="Leave a message out of hours, answered by email (web chat)",
    description="Opens a conversation of its own; the email becomes an identity of the "
    "contact. With the inbox's `offline_email_inbox_id`, the conversation moves to that email "
    "inbox, so agents' replies go out by email. Idempotent on `client_id`.",
    responses=_MESSAGE_RESPONSES,
)
async def leave_offline_message(request: Request, key: WidgetKey, body: OfflineIn) -> Response:
    caller = await visitor(request, key, message=True)
    _check_size(caller.container, body.body)
    return await _receive(caller, body.client_id, body.body, offline=body)


@router.post(
    "/widget/v1/{key}/csat",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Rate a conversation, once (web chat)",
    description="Stored on the conversation (`csat_rating`, `csat_comment`) with the event "
    "`conversation.csat_received`; a second rating is a 409.",
)
async def rate_conversation(request: Request, key: WidgetKey, body: CsatIn) -> None:
    caller = await visitor(request, key)
    async with caller.container.db.transaction() as session:
        await service.rate(session, caller.container.clock, caller.inbox, caller.contact, body)


@router.post(
    "/widget/v1/{key}/left",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="The visitor closed the chat while waiting (web chat)",
    description="Reported like any channel's departure: a conversation waiting for an agent "
    "becomes `pending` and counts as abandoned. Nothing happens without a conversation.",
)
async def visitor_left(request: Request, key: WidgetKey, body: LeftIn) -> None:
    caller = await visitor(request, key)
    if caller.contact is None:
        return
    async with caller.container.db.transaction() as session:
        try:
            await conversations.report_departure(
                session,
                caller.container.clock,
                account_id=caller.inbox.account_id,
                inbox_id=caller.inbox.id,
                departure=Departure(
                    sender=InboundSender(kind=service.VISITOR, value=caller.visitor_id),
                    thread_id=f"chat:{caller.contact.id}",
                    reason="closed_chat",
                ),
                channel_type=WebchatChannel.name,
            )
        except NotFound:
            return


# CORS preflight and the bundle -----------------------------------------------------------


@router.options("/widget/v1/{key}/{rest:path}", include_in_schema=False)
async def preflight(request: Request, key: str, rest: str) -> Response:
    container: Container = request.app.state.container
    await _inbox(request, container, key)
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Access-Control-Allow-Methods": _ALLOW_METHODS,
            "Access-Control-Allow-Headers": _ALLOW_HEADERS,
        },
    )


@router.get("/widget.js", include_in_schema=False)
async def widget_bundle() -> Response:
    if not BUNDLE.is_file():
        return JSONResponse(
            {
                "code": "unavailable",
                "message": "the widget is not built: run `make widget` (widget/README.md)",
                "field": None,
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return FileResponse(
        BUNDLE,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


# Agents' side -----------------------------------------------------------------------------


@agents.get(
    "/api/v1/inboxes/{inbox_id}/webchat",
    summary="A web-chat inbox's embed snippet and widget key",
    description="The `<script>` tag to paste on the site's pages. The identity secret is "
    "shown once, when the inbox is made or its secret rotated "
    "(`POST /api/v1/inboxes/{id}/rotate-secret`).",
    responses={404: {"description": "No such web-chat inbox in the caller's account"}},
)
async def embed(inbox_id: RowId, principal: PrincipalDep, container: ContainerDep) -> EmbedOut:
    async with container.db.transaction() as session:
        inbox = await inboxes.get_inbox(session, principal, inbox_id)
    if inbox.channel_type != WebchatChannel.name:
        raise NotFound("web-chat inbox")
    config = service.config_of(inbox)
    widget_url = f"{container.settings.public_url.rstrip('/')}/widget.js"
    snippet = f'<script src="{widget_url}" data-inbox="{config.widget_key}" async></script>'
    return EmbedOut(
        inbox_id=inbox.id,
        widget_key=config.widget_key,
        widget_url=widget_url,
        snippet=snippet,
        allowed_origins=config.allowed_origins,
    )


@agents.post(
    "/api/v1/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["conversations"],
    summary="The agent is typing a reply, or stopped",
    description="Live only (never stored): a web-chat visitor sees `typing` in the widget, "
    "and agents who may see the conversation get `conversation.typing` and "
    "`conversation.viewers` (the collision indicator) on `/ws`.",
    responses={404: {"description": "No such conversation the caller may see"}},
)
async def agent_typing(
    conversation_id: RowId,
    body: AgentTypingIn,
    principal: PrincipalDep,
    container: ContainerDep,
) -> None:
    async with container.db.transaction() as session:
        conversation = await service.agent_conversation(session, principal, conversation_id)
        names = await service.user_names(session, principal.account_id, [principal.user_id or 0])
    await publish_typing(
        container,
        conversation,
        typing=body.typing,
        sender={
            "type": "user",
            "user_id": principal.user_id,
            "name": names.get(principal.user_id or 0),
        },
    )
    # The collision indicator: who is viewing or typing (realtime/viewers.py).
    await viewers.changed(
        container,
        conversation,
        principal,
        names.get(principal.user_id or 0, ""),
        "typing",
        on=body.typing,
        ttl_s=container.settings.webchat.typing_ttl_s,
    )


@agents.post(
    "/api/v1/conversations/{conversation_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["conversations"],
    summary="The agent read the customer's messages up to one",
    description="Live only: a web-chat visitor sees their messages up to `message_id` as "
    "read (`read` in the widget); agents get `conversation.read` on `/ws`.",
    responses={404: {"description": "No such conversation or message"}},
)
async def agent_read(
    conversation_id: RowId,
    body: AgentReadIn,
    principal: PrincipalDep,
    container: ContainerDep,
) -> None:
    async with container.db.transaction() as session:
        conversation = await service.agent_conversation(session, principal, conversation_id)
        message = await conversations_repo.get_message(session, body.message_id)
    if message is None or message.conversation_id != conversation.id:
        raise NotFound("message", field="message_id")
    await _publish(
        container,
        conversation,
        {
            "type": "conversation.read",
            "conversation_id": conversation.id,
            "message_id": message.id,
            "user_id": principal.user_id,
        },
    )
