"""HTTP actions for the shop owner (through admin-ui): retry a submission, run a sync."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.service_layer import actions
from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError, UnitOfWork


class Queued(BaseModel):
    """The action's job is in the queue."""

    job_id: int
    detail: str = "queued"


class AlreadyQueued(BaseModel):
    """An identical job is already waiting or running; this is it."""

    detail: str = "already queued"
    job_id: int | None


class Refused(BaseModel):
    """Why the action makes no sense right now."""

    detail: str


class SyncRequest(BaseModel):
    """Which provider's products to sync."""

    provider: ProviderName


def _uow(request: Request) -> UnitOfWork:
    factory = request.app.state.uow_factory
    unit: UnitOfWork = factory()
    return unit


UowDep = Annotated[UnitOfWork, Depends(_uow)]
CONFLICTS: dict[int | str, dict[str, object]] = {
    status.HTTP_409_CONFLICT: {
        "model": AlreadyQueued | Refused,
        "description": "Already queued (with the existing job), or refused with the reason.",
    },
}


def _already_queued(exc: AlreadyQueuedError) -> JSONResponse:
    body = AlreadyQueued(job_id=exc.job_id).model_dump()
    return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)


def build_router(extra_attempts: int) -> APIRouter:
    """The action routes; `extra_attempts` is how many attempts a manual retry allows."""
    router = APIRouter(tags=["actions"])

    @router.post(
        "/orders/{order_id}/submission/retry",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Queued,
        responses={**CONFLICTS, 404: {"model": Refused, "description": "No such order."}},
    )
    async def retry_submission(order_id: str, uow: UowDep) -> Queued | JSONResponse:
        """Queue a new round of submission attempts for an order whose submission gave up."""
        try:
            job_id = await actions.request_submission_retry(
                order_id=order_id, uow=uow, extra_attempts=extra_attempts
            )
        except AlreadyQueuedError as exc:
            return _already_queued(exc)
        except actions.OrderNotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}") from exc
        except actions.ActionRefusedError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return Queued(job_id=job_id)

    @router.post(
        "/syncs",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Queued,
        responses=CONFLICTS,
    )
    async def retry_sync(body: SyncRequest, uow: UowDep) -> Queued | JSONResponse:
        """Queue a product sync with one provider (one at a time per provider)."""
        try:
            job_id = await actions.request_sync(provider=body.provider, uow=uow)
        except AlreadyQueuedError as exc:
            return _already_queued(exc)
        return Queued(job_id=job_id)

    return router
