"""ASGI assembly: one FastAPI application with every context's routes, the console and ops."""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from taihu import __version__
from taihu.accounts import SecurityLog
from taihu.accounts import api as accounts_api
from taihu.alarms import AlarmDelivery, AlarmEngine
from taihu.alarms import api as alarms_api
from taihu.chains import api as chains_api
from taihu.core import MAX_UPLOAD, Clock, Database, Runtime, SystemClock, claim_slot, schema_state
from taihu.core.commands import database_for
from taihu.core.logs import configure_logging
from taihu.devices import FLEET_STATE, SPARKPLUG_STATUS_FILE, BusNode, DeviceHub, SparkplugHost
from taihu.devices import api as devices_api
from taihu.enterprises import api as enterprises_api
from taihu.identifiers import (
    Filer,
    Relay,
    application_router,
    bind_shared_udp,
    handle_server_for,
    relay_path,
    set_case_sensitive,
)
from taihu.identifiers import api as identifiers_api
from taihu.monitor import MeterSync
from taihu.monitor import api as monitor_api
from taihu.nameplates import api_router as nameplates_router
from taihu.nameplates import link_new_device
from taihu.notices import AlarmMailSender, AlarmSmsSender, NoticeJobs, SmtpMailer, sms_gateway
from taihu.notices import api as notices_api
from taihu.programmes import api as programmes_api
from taihu.reporting import ReportJobs, data_router
from taihu.reporting import api as reporting_api
from taihu.settings import Settings
from taihu.solutions import api as solutions_api
from taihu.surveys import CENTRAL_LARGE_BODIES, central_router, feeding_router, openrosa_router
from taihu.surveys import api as surveys_api
from taihu.web import console, ops
from taihu.web.body_limit import BodyLimit, upload_paths
from taihu.web.errors import install_error_handlers
from taihu.web.front_door import FrontDoor
from taihu.web.i18n import catalogs
from taihu.web.middleware import RequestMiddleware
from taihu.web.openapi import install_openapi
from taihu.web.pages import (
    alarm_feed,
    enterprise_forms,
    imports,
    page_globals,
    pickers,
    solution_forms,
    survey_fill,
)
from taihu.web.pages import alarms as alarm_pages
from taihu.web.pages import chain_templates as chain_template_pages
from taihu.web.pages import chains as chain_pages
from taihu.web.pages import contacts as contacts_pages
from taihu.web.pages import devices as devices_pages
from taihu.web.pages import home as home_pages
from taihu.web.pages import identifiers as identifiers_pages
from taihu.web.pages import monitor as monitor_pages
from taihu.web.pages import nameplates as nameplate_pages
from taihu.web.pages import notices as notices_pages
from taihu.web.pages import programme_form as programme_form_pages
from taihu.web.pages import programme_registry as programme_registry_pages
from taihu.web.pages import programmes as programme_pages
from taihu.web.pages import reporting as reporting_pages
from taihu.web.pages import solution_documents as solution_document_pages
from taihu.web.pages import solutions as solution_pages
from taihu.web.pages import survey_map as survey_map_pages
from taihu.web.pages import surveys as survey_pages
from taihu.web.pages import wall as wall_pages
from taihu.web.security_audit import SecurityAudit
from taihu.web.survey_answers import SurveyAnswers
from taihu.web.templating import LanguageMiddleware, build_templates

__all__ = ["SchemaOutdatedError", "app_from_environment", "create_app", "tune_collector"]

DESCRIPTION = """
Taihu is the district's industrial internet platform. Every API answers errors as
`{"error": code, "message": text}`. Authenticate with `Authorization: Bearer <token>`
(`POST /api/auth/token` or `taihu token create`).
"""


class SchemaOutdatedError(RuntimeError):
    """The database schema is behind the code; the server must not start on it."""


log = logging.getLogger("taihu.web")


def create_app(  # noqa: PLR0915 - the assembly starts and stops every part in one place
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    mqtt_socket: socket.socket | None = None,
    handle_sockets: tuple[socket.socket, socket.socket] | None = None,
    shared_udp: tuple[socket.socket, Relay] | None = None,
    stamp_lane: tuple[int, int] = (0, 1),
) -> FastAPI:
    """Build the application; the database is opened now and checked at start-up.

    With ``mqtt_socket`` (bound by the caller) the MQTT device transport serves on it for the
    application's lifetime, in the same process and event loop as the HTTP server; likewise the
    Handle protocol with ``handle_sockets`` (TCP, UDP), sharing the REST resolver's cache. A
    worker of a multi-process server answers Handle UDP on ``shared_udp`` (its socket on the
    shared port, and the relay to the supervisor for requests needing challenge or session state).
    ``stamp_lane`` is this process's lane among those that stamp device readings at once
    (``taihu.devices.stamps``).
    """
    settings.check_safe()
    set_case_sensitive(settings.handle.case_sensitive)  # the node's handle case rule
    database = db or database_for(settings)
    runtime = Runtime(settings=settings, db=database, clock=clock or SystemClock())
    hub = DeviceHub(database, settings.mqtt, clock=runtime.clock, stamp_lane=stamp_lane)
    alarm_engine = alarm_engine_for(settings, database, runtime.clock, hub)
    sparkplug = SparkplugHost(
        hub,
        settings.sparkplug,
        clock=runtime.clock,
        status_path=settings.data_dir / SPARKPLUG_STATUS_FILE,
    )
    filer = Filer(database, settings.node, runtime.clock)
    meter_sync = MeterSync(database, settings, runtime.clock)
    notice_jobs = notice_jobs_for(settings, database, runtime.clock)
    report_jobs = ReportJobs(database, settings, runtime.clock)
    alarm_delivery = alarm_delivery_for(settings, database, runtime.clock)
    cluster = settings.cluster
    # With a bus, device data goes through JetStream even here; this process stores it only
    # if it plays the ingest role. Jobs run beside the MQTT hub in one process, by role else.
    bus = (
        BusNode(cluster, hub, publish=True, consume="ingest" in cluster.plays, overview=True)
        if cluster.bus
        else None
    )
    run_jobs = mqtt_socket is not None if cluster.all_roles else "jobs" in cluster.plays

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state = await schema_state(database)
        if not state.is_current:
            raise SchemaOutdatedError(state.outdated_message)
        resolver = await identifiers_api.open_resolver(_app, runtime)
        await alarm_engine.start()
        if bus is not None:
            await bus.start()
        if mqtt_socket is not None:
            await hub.start(mqtt_socket)
            if settings.sparkplug.enabled:  # beside the hub it feeds, so once per server
                sparkplug.start()
        if run_jobs:
            meter_sync.start()  # each job also holds a database lease: once across processes
            notice_jobs.start()
            report_jobs.start()
            alarm_delivery.start()
        handle = None
        if handle_sockets is not None:
            port = handle_sockets[0].getsockname()[1]
            handle = handle_server_for(settings, database, runtime.clock, resolver, port)
            await handle.start(*handle_sockets)
            filer.start()  # filings go upstream from the process that serves the Handle port
        elif shared_udp is not None:
            port = shared_udp[0].getsockname()[1]
            handle = handle_server_for(settings, database, runtime.clock, resolver, port)
            await handle.start(None, shared_udp[0], relay_out=shared_udp[1])
        try:
            yield
        finally:
            await meter_sync.stop()  # lets a sync under way finish (bounded)
            await notice_jobs.stop()
            await report_jobs.stop()
            await alarm_delivery.stop()
            await filer.stop()
            if handle is not None:
                await handle.stop()
            await sparkplug.stop()  # before the hub: what it submitted is stored and acknowledged
            await hub.stop()
            if bus is not None:  # after the hub: its last messages are published
                await bus.stop()
            await alarm_engine.stop()  # after the hub: what it stored last is evaluated
            await identifiers_api.close_resolver(_app, runtime)
            if db is None:
                await database.dispose()

    app = FastAPI(
        title="Taihu",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by ops.api_docs from local assets, under our CSP
        redoc_url=None,
        # Metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would otherwise look
        # up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.device_hub, app.state.alarm_engine = hub, alarm_engine
    # The hub overview across processes, with a bus (``devices.hub_figures`` reads it).
    setattr(app.state, FLEET_STATE, bus.fleet if bus is not None else None)
    app.state.sparkplug_host = sparkplug
    app.state.alarm_delivery = alarm_delivery
    app.state.templates = build_templates(settings)
    # Programme applications read survey forms through it (programmes do not import surveys).
    setattr(app.state, programmes_api.FORMS_STATE, SurveyAnswers)
    # A device registered with an identifier is linked to it through nameplates.
    setattr(app.state, devices_api.LINKER_STATE, link_new_device)
    page_globals.install(app.state.templates.env)
    _install_middleware(app, settings, database, runtime)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("taihu.web") / "static")),
        name="static",
    )
    _include_routers(app)
    install_openapi(app)
    return app


def notice_jobs_for(settings: Settings, database: Database, clock: Clock) -> NoticeJobs:
    """The notices' publishing and delivery rounds, with the channels the settings configure."""
    mailer = SmtpMailer(settings.notices)
    return NoticeJobs(
        database, settings.notices, clock, mailer=mailer if mailer.configured else None,
        sms=sms_gateway(settings.sms), translate=catalogs().get(settings.console.language).gettext,
        sms_settings=settings.sms,
    )  # fmt: skip


def alarm_delivery_for(settings: Settings, database: Database, clock: Clock) -> AlarmDelivery:
    """Alarm notifications: webhooks, e-mail where SMTP is set up, SMS where a template is."""
    delivery = AlarmDelivery(database, settings.alarms, clock=clock)
    mailer = SmtpMailer(settings.notices)
    translate = catalogs().get(settings.console.language).gettext
    if mailer.configured:  # e-mail is notices' channel: registered here, above both contexts
        delivery.register("email", AlarmMailSender(mailer, translate))
    if settings.sms.template_alarm:  # likewise SMS, with its own gateway instance
        gateway = sms_gateway(settings.sms)
        delivery.register("sms", AlarmSmsSender(gateway, settings.sms.template_alarm, translate))
    return delivery


def alarm_engine_for(
    settings: Settings, database: Database, clock: Clock, hub: DeviceHub
) -> AlarmEngine:
    """The alarm engine, told by the hub of what it stores and of connections."""
    cluster = settings.cluster
    engine = AlarmEngine(
        database, settings.alarms, clock=clock, zone=settings.console.zone,
        # With a bus only the ingest processes store data, and so see devices fall silent.
        sees_data=not cluster.bus or "ingest" in cluster.plays,
        # and each of them only of the devices of the partitions it holds (told by the bus).
        partitions=cluster.partitions if cluster.bus else 0,
    )  # fmt: skip
    # On SQLite its writes queue behind the hub's batches rather than poll for the lock.
    engine.write_lock = hub.ingest.write_lock
    hub.observe(engine)
    return engine


def _install_middleware(
    app: FastAPI, settings: Settings, database: Database, runtime: Runtime
) -> None:
    """Error handlers and the middleware stack, innermost first."""
    install_error_handlers(app)
    app.add_exception_handler(console.LoginRequired, console.login_redirect)
    app.add_exception_handler(console.NotPermitted, console.not_permitted)
    # Anonymous resolutions (the node's hot path) are answered before routing, inside the
    # middleware that gives every request its id, headers, log line and metrics; the body limit
    # and the security audit between them pass a GET without a body straight through.
    app.add_middleware(identifiers_api.FastResolution)
    # Outside it, so that its error answers are in the caller's language like the route's.
    app.add_middleware(LanguageMiddleware, default=settings.console.language)
    # The same resolutions, when the resolver can answer at once, before ASGI altogether
    # (web/front_door.py; the protocol in web/http_protocol.py asks it first).
    app.state.front_door = FrontDoor(
        partial(identifiers_api.resolve_now, app.state), access_log=settings.log.access
    )
    app.add_middleware(
        BodyLimit, default=settings.http.max_body_bytes, larger=_larger_bodies(settings)
    )
    app.add_middleware(SecurityAudit, security_log=SecurityLog(database, runtime.clock))
    app.add_middleware(RequestMiddleware, access_log=settings.log.access)
    if settings.http.trusted_proxies:
        # Outermost, so every layer (throttling, audit, logs) sees the client behind the proxy.
        # uvicorn's own proxy handling is off (cli/server.py): it trusts loopback by default.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.http.trusted_proxies)


_ROUTERS = (
    ops.router,
    accounts_api.router,
    enterprises_api.router,
    chains_api.router,
    chain_template_pages.router,  # before chain_pages: /industry-map/templates is no chain
    chain_pages.router,
    identifiers_api.router,
    application_router,
    devices_api.router,
    devices_pages.router,
    alarms_api.router,
    nameplates_router,
    alarm_feed.router,  # before alarm_pages: /alarms/notifications/… is not an alarm id
    alarm_pages.router,
    nameplate_pages.router,
    monitor_api.router,
    monitor_pages.router,
    surveys_api.router,
    feeding_router,
    openrosa_router,
    central_router,
    survey_pages.router,
    survey_fill.router,
    survey_map_pages.router,
    notices_api.router,
    notices_pages.router,
    contacts_pages.router,
    programmes_api.router,
    programme_pages.router,
    programme_registry_pages.router,
    programme_form_pages.router,
    reporting_api.router,
    data_router,
    reporting_pages.router,
    solutions_api.router,
    solution_pages.router,
    solution_forms.router,
    solution_document_pages.router,
    console.router,
    home_pages.router,
    wall_pages.router,
    enterprise_forms.router,
    imports.router,
    pickers.router,
    identifiers_pages.router,
)


def _include_routers(app: FastAPI) -> None:
    """Mount every context's API and console routes."""
    for router in _ROUTERS:
        app.include_router(router)


def _larger_bodies(settings: Settings) -> dict[str, int]:
    """Paths whose bodies may pass TAIHU_HTTP_MAX_BODY_BYTES: file uploads and SNMS batches."""
    # An upload's multipart envelope and form fields come on top of the file itself.
    upload = MAX_UPLOAD + settings.http.max_body_bytes
    return (
        dict.fromkeys(upload_paths(_ROUTERS), upload)
        | identifiers_api.LARGE_BODIES
        | CENTRAL_LARGE_BODIES
    )


def app_from_environment() -> FastAPI:
    """Factory for worker processes: settings come from the environment."""
    settings = Settings()
    configure_logging(settings.log)
    # Workers stamp device readings in lanes 0..workers-1; the supervisor's MQTT hub in the last.
    slot = claim_slot(settings.data_dir / "run" / "workers", settings.http.workers)
    app = create_app(
        settings,
        shared_udp=_shared_udp(settings),
        stamp_lane=(slot.index, settings.http.workers + 1),
    )
    app.state.worker_slot = slot  # held for the process's life
    tune_collector()
    return app


def _shared_udp(settings: Settings) -> tuple[socket.socket, Relay] | None:
    """This worker's socket on the supervisor's shared Handle UDP port, and the relay to it."""
    path = relay_path(settings.data_dir)
    if not path.is_socket():  # the supervisor serves no Handle port (or answers UDP alone)
        return None
    try:
        udp = bind_shared_udp(settings.handle.host, settings.handle.port)
    except OSError as exc:
        log.warning("Handle UDP not answered in this worker: %s", exc)
        return None
    return udp, Relay(path)


def tune_collector() -> None:
    """Set the garbage collector up for a server process (call once the application is built)."""
    # Everything built so far (modules, the application, SQLAlchemy's metadata) lives as long as
    # the process: freezing it keeps full collections from walking it again and again. Young
    # collections every 200,000 allocations instead of 700: a 2,000-identifier batch allocates
    # hundreds of thousands of objects that all stay alive until it is written, and the default
    # threshold made the collector scan them over and over (a third of the batch's time); the
    # MQTT ingest holds up to 200,000 points in flight, and at 50,000 the collector still took
    # a fifth of its CPU (bench/ingest_mqtt.py, docs/benchmarks.md). Full collections come
    # every 20 x 10 young ones, so cycles are still freed within tens of seconds at full load.
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 20, 10)
