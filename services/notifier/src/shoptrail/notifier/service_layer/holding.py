"""Held emails: what waits while the operator fixes a problem only they can fix.

An email the mail server refuses for our set-up (sender, login, TLS) is held,
not failed and not bounced, and the problem is said once (`system.action_needed`)
however many emails it holds. While it holds, new emails are held untried.
Held emails go back to `pending` when the settings change, one at a time on a
slow probe otherwise, and all of them with `system.action_cleared` when a send
succeeds again. Each is claimed before it is sent, so none is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from shoptrail.events.failures import describe
from shoptrail.events.system import OperatorActionCleared, OperatorActionNeeded
from shoptrail.notifier.domain import problems as rules
from shoptrail.notifier.domain.model import EmailStatus
from shoptrail.notifier.domain.problems import OperatorProblem
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import Clock, EmailQueue, UnitOfWork

log = logging.getLogger(__name__)


async def holding_back(uow: UnitOfWork) -> bool:
    """Whether an open problem holds new emails back untried (inside a unit of work)."""
    return any(open_problem.holding for open_problem in await uow.problems.all())


async def hold_email(
    email_id: UUID,
    problem: OperatorProblem | None,
    *,
    claimed: bool,
    uow: UnitOfWork,
    clock: Clock,
) -> None:
    """Hold the email (claimed by us, or still pending); open `problem`, said only if new."""
    now = clock.now()
    from_status = EmailStatus.SENDING if claimed else EmailStatus.PENDING
    async with uow:
        reason = problem.key if problem else "held: an operator problem is open"
        held = await uow.emails.hold(email_id, from_status=from_status, now=now, reason=reason)
        log.info(
            "email held",
            extra={"email_id": str(email_id), "held": held is not None, "problem": reason},
        )
        if problem is not None and await uow.problems.open(problem, now=now):
            needed = OperatorActionNeeded(
                service=rules.SERVICE,
                problem=problem.key,
                summary=problem.summary,
                fix=problem.fix,
                detail=problem.detail,
            )
            await uow.emit(notifier_event(needed, clock=clock))
        await uow.commit()


async def clear_problems(*, uow: UnitOfWork, clock: Clock) -> list[UUID]:
    """A send went through: close open problems (each said cleared) and release held emails.

    Runs inside the caller's unit of work; the caller enqueues what is released.
    """
    cleared = await uow.problems.clear()
    if not cleared:
        return []
    released = await uow.emails.release_held(now=clock.now())
    summary = rules.cleared_summary(len(released))
    for problem in cleared:
        done = OperatorActionCleared(service=rules.SERVICE, problem=problem.key, summary=summary)
        await uow.emit(notifier_event(done, clock=clock))
    return released


async def release_for_a_trial(*, uow: UnitOfWork, clock: Clock) -> list[UUID]:
    """New settings may have fixed it: let every held email try again (inside a unit of work)."""
    await uow.problems.allow_trial(now=clock.now())
    return await uow.emails.release_held(now=clock.now())


async def probe_held_emails(
    *, uow: UnitOfWork, queue: EmailQueue, clock: Clock, every: timedelta
) -> int:
    """Minute tick: try one held email again every `every`; release all if nothing is open."""
    now = clock.now()
    async with uow:
        open_problems = await uow.problems.all()
        if not open_problems:  # held as a success cleared the problem: nothing holds them now
            released = await uow.emails.release_held(now=now)
        elif rules.probe_due(open_problems, now=now, every=every):
            released = await uow.emails.release_held(now=now, limit=1)
            if released:
                await uow.problems.allow_trial(now=now)
        else:
            released = []
        await uow.commit()
    await enqueue_all(released, queue=queue)
    return len(released)


async def enqueue_all(email_ids: Iterable[UUID], *, queue: EmailQueue) -> None:
    """Enqueue released emails; one the queue misses now is re-enqueued by the minute tick."""
    for email_id in email_ids:
        try:
            await queue.enqueue(email_id)
        except Exception as error:  # it is `pending`: requeue_pending_emails picks it up
            log.warning(
                "could not enqueue a released email; the minute tick will",
                extra={"email_id": str(email_id), "error": describe(error)},
            )
