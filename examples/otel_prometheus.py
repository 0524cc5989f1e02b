"""Routed calls' OpenTelemetry metrics, scraped by Prometheus: a runnable example.

The application sets the global OpenTelemetry providers once, at start-up (here: the
Prometheus exporter's reader on a loopback port, and a tracer provider); every
`RoutedChatModel` built afterwards reports to them with no setup of its own. The
calls go to the package's local OpenAI-compatible test server, so no API key or
network is needed. The script prints the scraped page's costrouter and GenAI lines.

Run:  pip install "langchain-costrouter[dev]"   (the SDK and the exporter)
      python examples/otel_prometheus.py [--port 9464] [--serve]
      (--serve keeps the page up for a Prometheus at http://127.0.0.1:9464/metrics)
"""

from __future__ import annotations

import argparse
import time

import httpx
from langchain_openai import ChatOpenAI
from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import start_http_server

from langchain_costrouter import Deployment, Route, RoutedChatModel, Tier
from langchain_costrouter.checks import FunctionCheck
from langchain_costrouter.telemetry import flush
from langchain_costrouter.testing import LocalOpenAIServer


def set_up_opentelemetry(port: int) -> None:
    """What an application does once: global providers, a Prometheus page on loopback."""
    resource = Resource.create({"service.name": "costrouter-example"})
    start_http_server(port, addr="127.0.0.1")
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    )
    trace.set_tracer_provider(TracerProvider(resource=resource))  # add an exporter to ship spans


def build_router(server: LocalOpenAIServer) -> RoutedChatModel:
    """Two tiers; the cheap tier's long answers fail their check and escalate."""

    def child(model: str) -> Deployment:
        client = ChatOpenAI(
            model=model, base_url=server.base_url, api_key="local", max_retries=0, stream_usage=True
        )
        return Deployment.of(client)

    short = FunctionCheck(lambda messages, answer, previous: 1.0 if len(answer.text) < 60 else 0.0)
    route = Route(tiers=(Tier(deployments=(child("gpt-4o-mini"),), check=short),
                         Tier(deployments=(child("gpt-4o"),))))  # fmt: skip
    return RoutedChatModel(routes={"chat": route}, cache="memory://")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9464)
    parser.add_argument("--serve", action="store_true", help="keep serving the page")
    args = parser.parse_args()
    set_up_opentelemetry(args.port)
    with LocalOpenAIServer() as server:
        router = build_router(server)
        for question in ("Is 7 prime?", "Explain the water cycle in detail.", "Is 7 prime?"):
            router.invoke(question)
        for _ in router.stream("Name a colour."):
            pass
    flush()  # spans and metrics are made by a worker thread once each call ends
    page = httpx.get(f"http://127.0.0.1:{args.port}/metrics").text
    for line in page.splitlines():
        if line.startswith(("costrouter_", "gen_ai_")) and "_bucket{" not in line:
            print(line)
    if args.serve:
        print(f"serving http://127.0.0.1:{args.port}/metrics; Ctrl-C to stop")
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
