"""HTTP routes of programmes, applications with staged review, and the award registries.

The programmes themselves are here; an application's routes are in ``application_api``, the
award registry's in ``registry_api``, a programme's own form in ``form_api``; this router
includes them all, in that order.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, RuntimeDep
from taihu.programmes.application_api import application_out
from taihu.programmes.application_api import router as application_router
from taihu.programmes.catalogue import LEVELS, ProgrammeSpec
from taihu.programmes.form_api import FORMS_STATE
from taihu.programmes.form_api import router as form_router
from taihu.programmes.registry_api import award_out
from taihu.programmes.registry_api import router as registry_router
from taihu.programmes.schemas import FormIn, ProgrammeIn, ProgrammeOut
from taihu.programmes.service import ProgrammeService

__all__ = ["FORMS_STATE", "application_out", "award_out", "router"]

router = APIRouter(tags=["programmes"])


@router.get(
    "/api/programmes",
    summary="List programmes",
    response_model=list[ProgrammeOut],
    description="Every programme (public in the district): the built-ins "
    "(试点示范, 标杆工厂, 星级上云, 两化融合, 专精特新 …) and the bureau's own.",
    responses=ERROR_RESPONSES,
)
async def list_programmes(
    _principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[ProgrammeOut]:
    rows = await ProgrammeService(session, runtime.clock).all()
    return [ProgrammeOut.model_validate(r) for r in rows]


@router.post(
    "/api/programmes",
    summary="Add a programme",
    status_code=status.HTTP_201_CREATED,
    description="Bureau. Stages start with `enterprise` and go upwards through "
    f"`district`, `city`, `province`, `national`; levels: {', '.join(LEVELS)}.",
    response_model=ProgrammeOut,
    responses={**ERROR_RESPONSES, 409: {"description": "The key is taken"}},
)
async def create_programme(
    body: ProgrammeIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProgrammeOut:
    spec = ProgrammeSpec(
        **{
            **body.model_dump(),
            "stages": tuple(body.stages),
            "documents": tuple(body.documents),
            "grades": tuple(body.grades),
        }
    )
    row = await ProgrammeService(session, runtime.clock).create(principal, spec)
    return ProgrammeOut.model_validate(row)


@router.get(
    "/api/programmes/{programme_id:int}",
    summary="One programme",
    description="Its names, level, issuing body, criteria, documents, stages, grades, validity "
    "and subsidy.",
    response_model=ProgrammeOut,
    responses=ERROR_RESPONSES,
)
async def get_programme(
    programme_id: Id, _principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProgrammeOut:
    return ProgrammeOut.model_validate(
        await ProgrammeService(session, runtime.clock).get(programme_id)
    )


@router.put(
    "/api/programmes/{programme_id:int}/form",
    summary="Set a programme's survey form",
    description="Bureau. A survey form (its `form_id` in the surveys) that applicants fill "
    "through its web form, besides the built-in fields; `null` goes back to the built-in form "
    "only. Applications already made keep what they were made with.",
    response_model=ProgrammeOut,
    responses=ERROR_RESPONSES,
)
async def set_programme_form(
    programme_id: Id,
    body: FormIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> ProgrammeOut:
    row = await ProgrammeService(session, runtime.clock).set_form(
        principal, programme_id, body.form_id
    )
    return ProgrammeOut.model_validate(row)


router.include_router(application_router)
router.include_router(registry_router)
# A programme's own application form (its XForm and the applicant's submission).
router.include_router(form_router)
