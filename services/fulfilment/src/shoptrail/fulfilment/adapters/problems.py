"""PostgreSQL repository of open operator problems: one row per problem, said once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, delete, func, literal_column, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shoptrail.fulfilment.adapters.tables import operator_problems
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.domain.problems import OperatorProblem, Scope
from shoptrail.fulfilment.service_layer.ports import ProblemRepository


def _problem(row: Row[Any]) -> OperatorProblem:
    return OperatorProblem(
        key=row.problem,
        provider=row.provider,
        summary=row.summary,
        fix=row.fix,
        when_cleared=row.when_cleared,
        detail=row.detail,
        scope=row.scope,
    )


class SqlProblemRepository(ProblemRepository):
    """`fulfilment_operator_problems`; the primary key makes "first seen" one transaction's.

    Concurrent jobs meeting the same problem race on the key: PostgreSQL lets
    one insert and turns the others' into updates once it commits, so exactly
    one of them learns it is new (and says so).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open(self, problem: OperatorProblem) -> bool:
        new = insert(operator_problems).values(
            problem=problem.key,
            provider=problem.provider,
            scope=problem.scope,
            summary=problem.summary,
            fix=problem.fix,
            when_cleared=problem.when_cleared,
            detail=problem.detail,
        )
        statement: Any = new.on_conflict_do_update(
            index_elements=["problem"],
            set_={"last_seen_at": func.now(), "detail": new.excluded.detail},
        ).returning(literal_column("xmax = 0").label("inserted"))  # xmax 0: a new row
        return (await self._session.scalar(statement)) is True

    async def clear(
        self, provider: ProviderName, scopes: frozenset[Scope]
    ) -> list[OperatorProblem]:
        t = operator_problems
        statement = (
            delete(t)
            .where(t.c.provider == provider, or_(t.c.scope.is_(None), t.c.scope.in_(scopes)))
            .returning(*t.c)
        )
        rows = (await self._session.execute(statement)).all()
        return sorted((_problem(row) for row in rows), key=lambda p: p.key)
