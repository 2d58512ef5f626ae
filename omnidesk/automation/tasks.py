"""Background work of automation, run by the job runner: rules reacting to an event, the
waits of time-based rules ending, and the webhooks their actions call."""

from __future__ import annotations

import json

import httpx

from omnidesk import __version__
from omnidesk.automation import actions, engine, waits
from omnidesk.channels import ssrf
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.events import service as events
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobContext, JobRunner, PermanentJobError

WEBHOOK_TIMEOUT_S = 10.0
_RETRIED_4XX = (408, 429)


async def run_rules(ctx: JobContext, job: Job) -> None:
    # In the order they happened; a retry runs them all again, each rule acting once.
    for event_id in job.payload["event_ids"]:
        await engine.run_event(
            ctx.session,
            ctx.clock,
            int(event_id),
            allow_private=ctx.settings.webhooks_allow_private_addresses,
        )


async def end_wait(ctx: JobContext, job: Job) -> None:
    await engine.wake(
        ctx.session,
        ctx.clock,
        job.account_id or 0,
        job.payload,
        allow_private=ctx.settings.webhooks_allow_private_addresses,
    )


async def call_webhook(ctx: JobContext, job: Job) -> None:
    """POST the conversation (as the API gives it) to the action's URL; 2xx is done, 408,
    429, 5xx and network errors are retried, other answers are final (dead letter)."""
    payload = job.payload
    async with ctx.db.transaction() as session:
        conversation = await conversations_repo.get_in_account(
            session, job.account_id or 0, int(payload["conversation_id"])
        )
        if conversation is None:
            return
        tags = (await conversations_repo.tags_of(session, [conversation.id]))[conversation.id]
        body = json.dumps(
            {
                "event": "automation.webhook",
                **conversations.conversation_payload(conversation, tags),
            },
            separators=(",", ":"),
        ).encode()
    allow_private = ctx.settings.webhooks_allow_private_addresses
    try:
        target = await ssrf.resolve(str(payload["url"]), allow_private=allow_private)
    except ssrf.UnsafeTarget as exc:
        raise PermanentJobError(f"refused to call the webhook: {exc}") from exc
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"omnidesk/{__version__}",
        "Host": target.host_header,
        "Idempotency-Key": str(payload["key"]),
        "X-Omnidesk-Event": "automation.webhook",
    }
    extensions = {"sni_hostname": target.server_name} if target.pinned else {}
    # No redirects (they would skip the SSRF check), no proxies from the environment.
    async with httpx.AsyncClient(
        timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False, trust_env=False
    ) as client:
        request = client.build_request(
            "POST", target.url, content=body, headers=headers, extensions=extensions
        )
        response = await client.send(request)
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 500 and status not in _RETRIED_4XX:
        raise PermanentJobError(f"the webhook answered {status}")
    raise RuntimeError(f"the webhook answered {status}")


def register(runner: JobRunner) -> None:
    runner.register(engine.RUN_JOB, run_rules)
    runner.register(waits.WAKE_JOB, end_wait)
    runner.register(actions.WEBHOOK_JOB, call_webhook)
    engine.forget()  # a new container: nothing cached is known to be of its database
    # Trigger events enqueue their rules' job in their own transaction.
    events.add_recorder(engine.on_record)
