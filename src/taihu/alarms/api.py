"""HTTP routes of alarms: rules, the alarm list, ack and clear, presence; ThingsBoard's shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.alarms.engine import AlarmEngine
from taihu.alarms.notifications import SubscriptionService
from taihu.alarms.schemas import (
    AckIn,
    AlarmEventOut,
    AlarmOut,
    AlarmPage,
    NotificationOut,
    PresenceOut,
    RuleIn,
    RuleOut,
    RulePatch,
    SubscriptionIn,
    SubscriptionOut,
    TbAlarmPage,
    tb_alarm,
)
from taihu.alarms.service import AlarmFilter, AlarmService
from taihu.core import DbSession, Id, PageNumber, PageSize, RuntimeDep

__all__ = ["router"]

router = APIRouter(tags=["alarms"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such alarm, rule or device (or not visible to you)"},
}


def _alarms(session: DbSession, runtime: RuntimeDep) -> AlarmService:
    return AlarmService(session, runtime.clock)


def _engine(request: Request) -> AlarmEngine | None:
    engine: AlarmEngine | None = getattr(request.app.state, "alarm_engine", None)
    return engine


Alarms = Annotated[AlarmService, Depends(_alarms)]
Engine = Annotated[AlarmEngine | None, Depends(_engine)]


def _rules_changed(engine: AlarmEngine | None) -> None:
    if engine is not None:
        engine.request_reload()


@router.get(
    "/api/alarm-rules",
    summary="List alarm rules",
    description="A profile's rules (every signed-in user), a device's own rules (who sees the "
    "device), or, with neither, every profile's rules.",
    response_model=list[RuleOut],
    responses=_NOT_FOUND,
)
async def list_rules(
    principal: CurrentPrincipal,
    alarms: Alarms,
    profile_id: Annotated[Id | None, Query()] = None,
    device_id: Annotated[Id | None, Query()] = None,
) -> list[RuleOut]:
    rules = await alarms.rules(principal, profile_id=profile_id, device_id=device_id)
    return [RuleOut.model_validate(r) for r in rules]


@router.post(
    "/api/alarm-rules",
    summary="Create an alarm rule",
    description="On a profile: admin and bureau. On a device (overriding its profile's rule of "
    "the same name): admins and the device's enterprise's users. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=RuleOut,
    responses={**_NOT_FOUND, 409: {"description": "A rule of that name exists there"}},
)
async def create_rule(
    body: RuleIn, principal: CurrentPrincipal, alarms: Alarms, engine: Engine
) -> RuleOut:
    rule = await alarms.create_rule(
        principal,
        name=body.name,
        kind=body.kind,
        key=body.key,
        severity=body.severity,
        spec=body.spec,
        profile_id=body.profile_id,
        device_id=body.device_id,
        enabled=body.enabled,
    )
    _rules_changed(engine)
    return RuleOut.model_validate(rule)


@router.patch(
    "/api/alarm-rules/{rule_id}",
    summary="Change an alarm rule",
    description="Who may create it. Audited with the fields before and after.",
    response_model=RuleOut,
    responses={**_NOT_FOUND, 409: {"description": "A rule of that name exists there"}},
)
async def update_rule(
    rule_id: Id, body: RulePatch, principal: CurrentPrincipal, alarms: Alarms, engine: Engine
) -> RuleOut:
    rule = await alarms.update_rule(principal, rule_id, **body.model_dump())
    _rules_changed(engine)
    return RuleOut.model_validate(rule)


@router.delete(
    "/api/alarm-rules/{rule_id}",
    summary="Delete an alarm rule and its alarms",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_FOUND,
)
async def delete_rule(
    rule_id: Id, principal: CurrentPrincipal, alarms: Alarms, engine: Engine
) -> None:
    """Deletes the rule with its alarms and their history; the engine stops evaluating it."""
    await alarms.delete_rule(principal, rule_id)
    _rules_changed(engine)


@router.get(
    "/api/alarms",
    summary="List alarms",
    description="Newest first. Staff see every enterprise's alarms, an enterprise's users their "
    "own. status: ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK, CLEARED_ACK, ACTIVE, CLEARED or ANY.",
    response_model=AlarmPage,
    responses=ERROR_RESPONSES,
)
async def list_alarms(
    principal: CurrentPrincipal,
    alarms: Alarms,
    enterprise_id: Annotated[Id | None, Query()] = None,
    device_id: Annotated[Id | None, Query()] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> AlarmPage:
    wanted = AlarmFilter(
        enterprise_id, device_id, severity, status, page_size, (page - 1) * page_size
    )
    rows, total = await alarms.alarms(principal, wanted)
    return AlarmPage(
        items=[AlarmOut.model_validate(a) for a in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/api/alarms/{alarm_id}", summary="One alarm", response_model=AlarmOut, responses=_NOT_FOUND
)
async def get_alarm(alarm_id: Id, principal: CurrentPrincipal, alarms: Alarms) -> AlarmOut:
    """An alarm of a device the caller may read: state, severity, count and last value."""
    return AlarmOut.model_validate(await alarms.alarm(principal, alarm_id))


@router.get(
    "/api/alarms/{alarm_id}/history",
    summary="An alarm's life",
    description="created, escalated, acknowledged, cleared; oldest first.",
    response_model=list[AlarmEventOut],
    responses=_NOT_FOUND,
)
async def alarm_history(
    alarm_id: Id, principal: CurrentPrincipal, alarms: Alarms
) -> list[AlarmEventOut]:
    return [AlarmEventOut.model_validate(e) for e in await alarms.history(principal, alarm_id)]


@router.post(
    "/api/alarms/{alarm_id}/ack",
    summary="Acknowledge an alarm",
    description="Admins and the enterprise's users, with a comment. Audited.",
    response_model=AlarmOut,
    responses=_NOT_FOUND,
)
async def acknowledge(
    alarm_id: Id, body: AckIn, principal: CurrentPrincipal, alarms: Alarms
) -> AlarmOut:
    return AlarmOut.model_validate(await alarms.acknowledge(principal, alarm_id, body.comment))


@router.post(
    "/api/alarms/{alarm_id}/clear",
    summary="Clear an alarm",
    description="Admins and the enterprise's users. The rule raises a new alarm when its "
    "condition is met again. Audited.",
    response_model=AlarmOut,
    responses=_NOT_FOUND,
)
async def clear(
    alarm_id: Id, body: AckIn, principal: CurrentPrincipal, alarms: Alarms, engine: Engine
) -> AlarmOut:
    alarm = await alarms.clear(principal, alarm_id, body.comment)
    if engine is not None:
        engine.forget(alarm.device_id, alarm.rule_id)
    return AlarmOut.model_validate(alarm)


@router.get(
    "/api/devices/{device_id}/presence",
    summary="A device's presence",
    description="connected, disconnected or inactive, since when, and its latest changes.",
    response_model=PresenceOut,
    responses=_NOT_FOUND,
)
async def presence(device_id: Id, principal: CurrentPrincipal, alarms: Alarms) -> PresenceOut:
    state, since, events = await alarms.presence(principal, device_id)
    return PresenceOut(
        state=state, since=since, history=[{"state": e.state, "at": e.at} for e in events]
    )


# -- ThingsBoard's alarm REST shapes ---------------------------------------------------------------


@router.get(
    # DEVICE literally (the only entity type with alarms here): a parameter in its place would
    # also match /api/alarm/{alarm_id}/ack and answer OPTIONS there with a GET it does not have.
    "/api/alarm/DEVICE/{entity_id}",
    summary="Alarms of a device (ThingsBoard)",
    description="ThingsBoard's `GET /api/alarm/DEVICE/{id}` with `pageSize`, `page` (from 0), "
    "`searchStatus` (ANY, ACTIVE, CLEARED, ACK, UNACK) or `status`.",
    response_model=TbAlarmPage,
    responses=_NOT_FOUND,
)
async def tb_alarms(
    entity_id: Id,
    principal: CurrentPrincipal,
    alarms: Alarms,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=1000)] = 100,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    search_status: Annotated[str | None, Query(alias="searchStatus", max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> TbAlarmPage:
    wanted = AlarmFilter(
        device_id=entity_id,
        status=status or search_status,
        limit=page_size,
        offset=page * page_size,
    )
    rows, total = await alarms.alarms(principal, wanted)
    pages = (total + page_size - 1) // page_size
    return TbAlarmPage(
        data=[tb_alarm(a) for a in rows],
        totalPages=pages,
        totalElements=total,
        hasNext=page + 1 < pages,
    )


@router.post(
    "/api/alarm/{alarm_id}/ack",
    summary="Acknowledge an alarm (ThingsBoard)",
    description="As `POST /api/alarms/{id}/ack`, without a comment; answers ThingsBoard's shape.",
    responses=_NOT_FOUND,
)
async def tb_ack(alarm_id: Id, principal: CurrentPrincipal, alarms: Alarms) -> dict[str, Any]:
    return tb_alarm(await alarms.acknowledge(principal, alarm_id))


@router.post(
    "/api/alarm/{alarm_id}/clear",
    summary="Clear an alarm (ThingsBoard)",
    description="As `POST /api/alarms/{id}/clear`; answers ThingsBoard's shape.",
    responses=_NOT_FOUND,
)
async def tb_clear(
    alarm_id: Id, principal: CurrentPrincipal, alarms: Alarms, engine: Engine
) -> dict[str, Any]:
    alarm = await alarms.clear(principal, alarm_id)
    if engine is not None:
        engine.forget(alarm.device_id, alarm.rule_id)
    return tb_alarm(alarm)


def _subscriptions(session: DbSession, runtime: RuntimeDep) -> SubscriptionService:
    return SubscriptionService(session, runtime.clock)


Subscriptions = Annotated[SubscriptionService, Depends(_subscriptions)]


@router.get(
    "/api/alarm-subscriptions",
    summary="Your alarm subscriptions",
    description="The subscriptions of the signed-in person; webhook secrets are not shown again.",
    response_model=list[SubscriptionOut],
    responses=ERROR_RESPONSES,
)
async def list_subscriptions(
    principal: CurrentPrincipal, subscriptions: Subscriptions
) -> list[SubscriptionOut]:
    return [
        SubscriptionOut.model_validate(s).model_copy(update={"secret": None})
        for s in await subscriptions.mine(principal)
    ]


@router.post(
    "/api/alarm-subscriptions",
    summary="Subscribe to alarm notifications",
    description="On created, escalated and cleared alarms from `min_severity` up: in the "
    "console, to a signed webhook (its secret is in this answer only) or by e-mail. An "
    "enterprise's users subscribe to their own enterprise. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionOut,
    responses=ERROR_RESPONSES,
)
async def subscribe(
    body: SubscriptionIn, principal: CurrentPrincipal, subscriptions: Subscriptions
) -> SubscriptionOut:
    sub = await subscriptions.subscribe(
        principal, channel=body.channel, min_severity=body.min_severity,
        enterprise_id=body.enterprise_id, target=body.target,
    )  # fmt: skip
    out = SubscriptionOut.model_validate(sub)
    return out if sub.channel == "webhook" else out.model_copy(update={"secret": None})


@router.delete(
    "/api/alarm-subscriptions/{subscription_id}",
    summary="Unsubscribe",
    description="Delete one of your subscriptions with its notifications. Audited.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ERROR_RESPONSES, 404: {"description": "No such subscription of yours"}},
)
async def unsubscribe(
    subscription_id: Id, principal: CurrentPrincipal, subscriptions: Subscriptions
) -> None:
    await subscriptions.unsubscribe(principal, subscription_id)


@router.get(
    "/api/alarm-notifications",
    summary="Your console notifications of alarms",
    description="Newest first, from your console subscriptions.",
    response_model=list[NotificationOut],
    responses=ERROR_RESPONSES,
)
async def notifications(
    principal: CurrentPrincipal,
    subscriptions: Subscriptions,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationOut]:
    return [
        NotificationOut.model_validate(n) for n in await subscriptions.inbox(principal, limit=limit)
    ]
