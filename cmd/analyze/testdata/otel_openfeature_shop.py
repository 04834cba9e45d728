"""A shop instrumented only with the OpenTelemetry Python SDK and the
OpenFeature Python SDK with its official OpenTelemetry hook: no Steadystate
code, no chaos.* attribute.

checkout evaluates the payment-chaos flag per user (the TracingHook records a
feature_flag.evaluation span event on the checkout span) and calls payment,
a separate service (own resource and exporter) that carries no flag and no
baggage, only the trace context. For users with the flag on, payment fails
on a share of requests (--fail-share) and checkout fails with it.

  --protocol grpc|http    OTLP exporter: proto over gRPC or HTTP/protobuf
  --checkout URL/ADDR     where checkout's spans go
  --payment URL/ADDR      where payment's spans go (another ingest serve)
  --order in|out          out: payment's spans are exported before any
                          checkout span (children before their deciding root)
Prints one JSON line: requests per variant and payment failures.
"""
import argparse
import hashlib
import json
import sys

from openfeature import api
from openfeature.contrib.hook.opentelemetry import TracingHook
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def exporter(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


def provider(service, protocol, endpoint):
    tp = TracerProvider(resource=Resource.create({"service.name": service}))
    # A long schedule delay and one batch for all: spans leave only on
    # force_flush (one request per service), so the test
    # decides the order in which services' spans reach ingest.
    tp.add_span_processor(BatchSpanProcessor(exporter(protocol, endpoint), max_queue_size=100000,
                                             max_export_batch_size=100000, schedule_delay_millis=600000))
    return tp


def in_share(user, share):
    h = int(hashlib.sha256(user.encode()).hexdigest()[:8], 16)
    return h % 10000 < share * 10000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["grpc", "http"], required=True)
    ap.add_argument("--checkout", required=True)
    ap.add_argument("--payment", required=True)
    ap.add_argument("--order", choices=["in", "out"], default="in")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--requests-per-user", type=int, default=1)
    ap.add_argument("--rollout", type=float, default=0.3)
    ap.add_argument("--fail-share", type=float, default=0.3)
    ap.add_argument("--prefix", default="u")
    a = ap.parse_args()

    def by_user(flag, ctx):
        on = in_share(ctx.targeting_key or "", a.rollout)
        variant = "on" if on else "off"
        return FlagResolutionDetails(value=flag.variants[variant], variant=variant, reason=Reason.TARGETING_MATCH)

    api.set_provider(InMemoryProvider({
        "payment-chaos": InMemoryFlag("off", {"on": True, "off": False}, context_evaluator=by_user),
    }))
    api.add_hooks([TracingHook()])
    flags = api.get_client("checkout")

    checkout_tp = provider("checkout", a.protocol, a.checkout)
    payment_tp = provider("payment", a.protocol, a.payment)
    checkout, payment = checkout_tp.get_tracer("shop.checkout"), payment_tp.get_tracer("shop.payment")

    counts = {"on": 0, "off": 0, "payment_failed_on": 0, "payment_failed_off": 0}
    for i in range(a.requests):
        user = "%s-%d" % (a.prefix, i // a.requests_per_user)
        with checkout.start_as_current_span("GET /checkout", kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", "GET")
            chaos = flags.get_boolean_value("payment-chaos", False, EvaluationContext(targeting_key=user))
            variant = "on" if chaos else "off"
            counts[variant] += 1
            fail = chaos and (counts[variant] % 10) < a.fail_share * 10
            with payment.start_as_current_span("POST /pay", kind=SpanKind.SERVER) as pay:
                if fail:
                    pay.set_status(Status(StatusCode.ERROR, "payment API returned 500"))
                    pay.set_attribute("http.response.status_code", 500)
                    counts["payment_failed_" + variant] += 1
                else:
                    pay.set_attribute("http.response.status_code", 200)
            if fail:
                span.set_status(Status(StatusCode.ERROR, "payment failed"))
                span.set_attribute("http.response.status_code", 502)
            else:
                span.set_attribute("http.response.status_code", 200)

    first, second = (payment_tp, checkout_tp) if a.order == "out" else (checkout_tp, payment_tp)
    for tp in (first, second):
        if not tp.force_flush(60000):
            print("flush failed", file=sys.stderr)
            sys.exit(1)
    checkout_tp.shutdown()
    payment_tp.shutdown()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
