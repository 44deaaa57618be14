"""Operator problems: said once when first seen, said cleared once when a provider call succeeds.

Both run inside the caller's unit of work, so the problem's row and its event
commit with the state change that met or disproved it.
"""

from __future__ import annotations

import logging

from shoptrail.events.system import OperatorActionCleared, OperatorActionNeeded
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.domain.problems import SERVICE, OperatorProblem, Scope
from shoptrail.fulfilment.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)


async def note_problem(problem: OperatorProblem, uow: UnitOfWork) -> bool:
    """Remember `problem`; stage `system.action_needed` only if it was not open. True if new."""
    if not await uow.problems.open(problem):
        return False
    log.error(
        "operator action needed",
        extra={"problem": problem.key, "provider": problem.provider, "detail": problem.detail},
    )
    await uow.emit(
        OperatorActionNeeded(
            service=SERVICE,
            problem=problem.key,
            summary=problem.summary,
            fix=problem.fix,
            detail=problem.detail,
        )
    )
    return True


async def clear_problems(
    provider: ProviderName, scopes: frozenset[Scope], uow: UnitOfWork
) -> list[OperatorProblem]:
    """A call to `provider` needing `scopes` succeeded: close what it disproves, each said once."""
    cleared = await uow.problems.clear(provider, scopes)
    for problem in cleared:
        log.info("operator problem cleared", extra={"problem": problem.key})
        await uow.emit(
            OperatorActionCleared(
                service=SERVICE, problem=problem.key, summary=problem.when_cleared
            )
        )
    return cleared
