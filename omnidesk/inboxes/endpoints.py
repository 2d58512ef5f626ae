from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from omnidesk.channels import registry
from omnidesk.inboxes import service
from omnidesk.inboxes.models import Inbox
from omnidesk.inboxes.schemas import (
    InboxCheckReport,
    InboxCreate,
    InboxOut,
    InboxUpdate,
    InboxWithSecret,
)
from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, ContainerDep, SessionDep

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])


def inbox_out(inbox: Inbox, container: ContainerDep) -> InboxOut:
    capabilities: dict[str, object] = {}
    webhook_url = forwarding_address = None
    try:
        adapter = registry.get_adapter_class(inbox.channel_type)
    except ValidationFailed:
        adapter = None  # its plugin was uninstalled; still list the inbox
    if adapter is not None:
        capabilities = asdict(adapter.capabilities)
        path = getattr(adapter, "inbound_path", None)
        if isinstance(path, str):
            base = container.settings.public_url.rstrip("/")
            webhook_url = base + path.format(inbox_id=inbox.id)
        address_of = getattr(adapter, "inbound_address", None)
        if callable(address_of):
            forwarding_address = address_of(inbox.id, container.settings)
    return InboxOut(
        id=inbox.id,
        name=inbox.name,
        channel_type=inbox.channel_type,
        config=inbox.config,
        secret_keys=service.secret_keys(container.secret_box, inbox),
        capabilities=capabilities,
        webhook_url=webhook_url,
        forwarding_address=forwarding_address,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


def _with_secret(saved: service.Saved, container: ContainerDep) -> InboxWithSecret:
    out = inbox_out(saved.inbox, container)
    return InboxWithSecret(**out.model_dump(), secret=saved.secret)


@router.get("", summary="List the account's inboxes")
async def list_inboxes(
    principal: PrincipalDep, session: SessionDep, container: ContainerDep
) -> list[InboxOut]:
    return [inbox_out(i, container) for i in await service.list_inboxes(session, principal)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an inbox (admin); a generated signing secret is shown once",
)
async def create_inbox(
    body: InboxCreate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    container: ContainerDep,
) -> InboxWithSecret:
    saved = await service.create_inbox(
        session,
        clock,
        principal,
        body,
        secret_box=container.secret_box,
        allow_private_addresses=container.settings.webhooks_allow_private_addresses,
    )
    return _with_secret(saved, container)


@router.get("/{inbox_id}", summary="One inbox")
async def get_inbox(
    inbox_id: RowId, principal: PrincipalDep, session: SessionDep, container: ContainerDep
) -> InboxOut:
    return inbox_out(await service.get_inbox(session, principal, inbox_id), container)


@router.patch("/{inbox_id}", summary="Change an inbox's name, config or secrets (admin)")
async def update_inbox(
    inbox_id: RowId,
    body: InboxUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    container: ContainerDep,
) -> InboxOut:
    inbox = await service.update_inbox(
        session,
        clock,
        principal,
        inbox_id,
        body,
        secret_box=container.secret_box,
        allow_private_addresses=container.settings.webhooks_allow_private_addresses,
    )
    return inbox_out(inbox, container)


@router.post(
    "/{inbox_id}/rotate-secret",
    summary="Replace the signing secret (admin); the new one is shown once",
)
async def rotate_secret(
    inbox_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    container: ContainerDep,
) -> InboxWithSecret:
    saved = await service.rotate_secret(
        session, clock, principal, inbox_id, secret_box=container.secret_box
    )
    return _with_secret(saved, container)


@router.post(
    "/{inbox_id}/check",
    summary="Test an inbox's settings against its provider (admin)",
    description="Runs the channel's own connectivity check and lists each step: email "
    "connects to the SMTP server (TLS, EHLO, login) and logs in to the IMAP mailbox; web "
    "chat checks that the widget key finds the inbox and that allowed origins are set; the "
    "API channel checks its signing secret and vets its webhook URL (without calling it). "
    "Nothing is sent to a customer. A channel without a check is a 422.",
)
async def check_inbox(
    inbox_id: RowId, principal: PrincipalDep, container: ContainerDep
) -> InboxCheckReport:
    return await service.check_inbox(
        container.db,
        principal,
        inbox_id,
        secret_box=container.secret_box,
        settings=container.settings,
    )


@router.delete(
    "/{inbox_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an inbox (admin); its conversations stay, without a channel",
)
async def delete_inbox(
    inbox_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_inbox(session, clock, principal, inbox_id)
