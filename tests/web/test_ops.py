import httpx
import sqlalchemy as sa

from taihu.core import Database, head_revisions


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_current(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    heads = ", ".join(sorted(head_revisions()))  # one head per context's branch of revisions
    assert response.json() == {"status": "ready", "database": "ok", "schema": heads}


async def test_readyz_reports_an_outdated_schema(client: httpx.AsyncClient, db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE alembic_version SET version_num = 'old_' || version_num")
        )
    try:
        response = await client.get("/readyz")
    finally:
        # On PostgreSQL the tests share one migrated database (emptied, not replaced): later
        # tests that start the application's lifespan need its schema current again.
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE alembic_version SET version_num = substr(version_num, 5)")
            )
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert "taihu db upgrade" in response.json()["schema"]


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/api/enterprises/123")
    text = (await client.get("/metrics")).text
    assert 'taihu_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/api/enterprises/{enterprise_id}",status="401"' in text
    assert "taihu_http_request_duration_seconds_bucket" in text
    assert 'taihu_build_info{version="0.1.0"}' in text


async def test_every_response_carries_a_request_id_and_security_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 16
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    forged = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert forged.headers["x-request-id"] != "bad id\nwith newline"


async def test_unknown_routes_answer_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Not Found"}
