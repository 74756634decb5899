"""`/metrics` of a server with several workers: the sum over the supervisor and every worker.

The server is a real `taihu serve --workers 2` process; requests go over connections of their
own, so the kernel shares them out between the workers; any worker's `/metrics` must count them
all, and the supervisor's MQTT hub too. A role process without HTTP gets a listener of its own.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics import MetricWrapperBase

import taihu.web  # noqa: F401 - defines every context's metrics
from taihu.core.metrics import BUILD_INFO
from tests.cli.test_serve import MQTT, env, registered_device  # noqa: F401 - fixture
from tests.processes import DEADLINE, free_port, http, running

REQUESTS = 40
HEALTHZ = re.compile(
    r'^taihu_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', re.M
)
MALFORMED = 'taihu_device_rejects_total{reason="malformed",transport="mqtt"} 1.0'


def test_every_metric_of_the_code_base_works_in_multiprocess_mode() -> None:
    # A custom collector or an Info metric is invisible in the sum over workers; a gauge must
    # say how processes combine (the default, "all", keeps one series per pid forever).
    for collector in list(REGISTRY._collector_to_names):  # no public listing
        if not isinstance(collector, MetricWrapperBase):
            module = type(collector).__module__
            assert collector is BUILD_INFO or module.startswith("prometheus_client."), collector
            continue
        assert isinstance(collector, Counter | Gauge | Histogram | Summary), collector
        if isinstance(collector, Gauge):
            assert collector._multiprocess_mode != "all", collector


def _reject_one_malformed_message(mqtt_port: int, token: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(token)
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    try:
        info = client.publish("v1/devices/me/telemetry", b"not json", qos=1)
        info.wait_for_publish(timeout=DEADLINE)
        assert info.is_published()  # MQTT 3.1.1: a permanent refusal is acknowledged
    finally:
        client.disconnect()
        client.loop_stop()


def test_two_workers_answer_metrics_summed_over_every_process(
    env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    database_url: str,
) -> None:
    _, token = registered_device(database_url)
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", "--workers", "2")
    with running(*args, env=env, cwd=tmp_path) as server:
        mqtt_port = int(server.wait_for(MQTT).group(1))
        url = server.url()
        for _ in "12":
            server.wait_for("Application startup complete")

        def get(_: int) -> int:
            with http() as client:  # a connection of its own: the workers share them out
                return client.get(f"{url}/healthz").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(get, range(REQUESTS))) == [200] * REQUESTS
        _reject_one_malformed_message(mqtt_port, token)  # counted by the supervisor's hub
        with http() as client:
            deadline = time.monotonic() + DEADLINE
            # The count follows the PUBACK in the hub's loop: wait for it, then scrape.
            while MALFORMED not in client.get(f"{url}/metrics").text:
                assert time.monotonic() < deadline, server.output
                time.sleep(0.1)
            # New connections: whichever worker answers, the same sum.
            scrapes = [client.get(f"{url}/metrics").text for _ in range(6)]
        files = sorted(p.name for p in (tmp_path / "var" / "run" / "metrics").iterdir())
        server.interrupt()
    for text in scrapes:
        match = HEALTHZ.search(text)
        assert match, text
        assert float(match.group(1)) == REQUESTS
        assert MALFORMED in text
        assert 'taihu_build_info{version="0.1.0"}' in text
    # The supervisor and both workers each count into files of their own.
    counter_files = [name for name in files if name.startswith("counter_")]
    assert len(counter_files) >= 3, files


def test_one_process_keeps_its_own_registry_and_shares_no_files(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0")
    with running(*args, env=env, cwd=tmp_path) as server:
        url = server.url()
        with http() as client:
            for _ in range(3):
                client.get(f"{url}/healthz")
            text = client.get(f"{url}/metrics").text
        server.interrupt()
    match = HEALTHZ.search(text)
    assert match
    assert float(match.group(1)) == 3
    assert "process_resident_memory_bytes" in text  # the default registry's process collector
    assert not (tmp_path / "var" / "run" / "metrics").exists()


def test_a_role_process_without_http_serves_metrics_on_its_own_port(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    for _ in range(5):  # a port free when chosen may be taken by another before it is bound
        port = free_port()
        env["TAIHU_METRICS_PORT"] = str(port)
        with running("serve", "--role", "resolver", env=env, cwd=tmp_path) as process:
            shown = f"Prometheus metrics on http://127.0.0.1:{port}/metrics"
            if process.wait_for_or_end(shown) is None:
                assert f"metrics port {port} on 127.0.0.1 is already in use" in process.output
                continue
            process.wait_for("ready: roles resolver")
            with http() as client:
                text = client.get(f"http://127.0.0.1:{port}/metrics").text
            process.interrupt()
            break
    else:
        pytest.fail("no free metrics port in 5 tries")
    assert 'taihu_build_info{version="0.1.0"}' in text
    assert "# TYPE taihu_handle_refused_total counter" in text
