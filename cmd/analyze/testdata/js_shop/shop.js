// A shop instrumented only with the OpenTelemetry JavaScript SDK and the
// OpenFeature server SDK with its official OpenTelemetry hook
// (@openfeature/open-telemetry-hooks SpanEventHook): no Steadystate code, no
// chaos.* attribute. The JavaScript twin of ../otel_openfeature_shop.py.
//
// checkout evaluates the payment-chaos flag per user (the hook records a
// feature_flag.evaluation span event on the active checkout span) and calls
// payment, a separate service (own resource and exporter) that carries no
// flag and no baggage, only the trace context. For users with the flag on,
// payment fails on a share of requests and checkout fails with it.
//
//   --protocol grpc|http   OTLP exporter: proto over gRPC or HTTP/protobuf
//   --checkout URL/ADDR    where checkout's spans go
//   --payment URL/ADDR     where payment's spans go (another ingest serve)
//   --order in|out         out: payment's spans are exported before any
//                          checkout span (children before their deciding root)
// Prints one JSON line: requests per variant and payment failures.
'use strict';

const crypto = require('node:crypto');
const { parseArgs } = require('node:util');

const otel = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OpenFeature, InMemoryProvider } = require('@openfeature/server-sdk');
const { SpanEventHook } = require('@openfeature/open-telemetry-hooks');

const { values: a } = parseArgs({
  options: {
    protocol: { type: 'string' },
    checkout: { type: 'string' },
    payment: { type: 'string' },
    order: { type: 'string', default: 'in' },
    requests: { type: 'string', default: '300' },
    'requests-per-user': { type: 'string', default: '1' },
    rollout: { type: 'string', default: '0.3' },
    'fail-share': { type: 'string', default: '0.3' },
    prefix: { type: 'string', default: 'u' },
  },
});
if (!['grpc', 'http'].includes(a.protocol) || !a.checkout || !a.payment || !['in', 'out'].includes(a.order)) {
  console.error('usage: shop.js --protocol grpc|http --checkout ADDR --payment ADDR [--order in|out]');
  process.exit(2);
}
const requests = Number(a.requests);
const perUser = Number(a['requests-per-user']);
const rollout = Number(a.rollout);
const failShare = Number(a['fail-share']);

function exporter(endpoint) {
  if (a.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    const { credentials } = require('@grpc/grpc-js');
    return new OTLPTraceExporter({ url: 'http://' + endpoint, credentials: credentials.createInsecure() });
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: endpoint.replace(/\/$/, '') + '/v1/traces' });
}

function provider(service, endpoint) {
  // A long schedule delay and one batch for all: spans leave only on
  // forceFlush (one request per service), so the test decides the order in
  // which services' spans reach ingest.
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter(endpoint), {
      maxQueueSize: 100000, maxExportBatchSize: 100000, scheduledDelayMillis: 600000, exportTimeoutMillis: 60000,
    })],
  });
}

function inShare(user, share) {
  const h = parseInt(crypto.createHash('sha256').update(user).digest('hex').slice(0, 8), 16);
  return h % 10000 < share * 10000;
}

async function main() {
  // The hook writes to the active span: the context manager carries it.
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  await OpenFeature.setProviderAndWait(new InMemoryProvider({
    'payment-chaos': {
      disabled: false,
      variants: { on: true, off: false },
      defaultVariant: 'off',
      contextEvaluator: (ctx) => (inShare(ctx.targetingKey || '', rollout) ? 'on' : 'off'),
    },
  }));
  OpenFeature.addHooks(new SpanEventHook());
  const flags = OpenFeature.getClient('checkout');

  const checkoutTP = provider('checkout', a.checkout);
  const paymentTP = provider('payment', a.payment);
  const checkout = checkoutTP.getTracer('shop.checkout');
  const payment = paymentTP.getTracer('shop.payment');

  const counts = { on: 0, off: 0, payment_failed_on: 0, payment_failed_off: 0 };
  for (let i = 0; i < requests; i++) {
    const user = `${a.prefix}-${Math.floor(i / perUser)}`;
    await checkout.startActiveSpan('GET /checkout', { kind: otel.SpanKind.SERVER }, async (span) => {
      span.setAttribute('http.request.method', 'GET');
      const chaos = await flags.getBooleanValue('payment-chaos', false, { targetingKey: user });
      const variant = chaos ? 'on' : 'off';
      counts[variant]++;
      const fail = chaos && (counts[variant] % 10) < failShare * 10;
      payment.startActiveSpan('POST /pay', { kind: otel.SpanKind.SERVER }, (pay) => {
        if (fail) {
          pay.setStatus({ code: otel.SpanStatusCode.ERROR, message: 'payment API returned 500' });
          pay.setAttribute('http.response.status_code', 500);
          counts['payment_failed_' + variant]++;
        } else {
          pay.setAttribute('http.response.status_code', 200);
        }
        pay.end();
      });
      if (fail) {
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: 'payment failed' });
        span.setAttribute('http.response.status_code', 502);
      } else {
        span.setAttribute('http.response.status_code', 200);
      }
      span.end();
    });
  }

  // forceFlush resolves even when the export failed (the exporter only
  // logs it): count what the exporter reports as failed and exit non-zero.
  let failed = 0;
  otel.diag.setLogger({
    error: (...m) => { failed++; console.error(...m); },
    warn: (...m) => console.error(...m),
    info: () => {}, debug: () => {}, verbose: () => {},
  }, otel.DiagLogLevel.WARN);
  const [first, second] = a.order === 'out' ? [paymentTP, checkoutTP] : [checkoutTP, paymentTP];
  await first.forceFlush();
  await second.forceFlush();
  await checkoutTP.shutdown();
  await paymentTP.shutdown();
  if (failed > 0) {
    console.error(`export failed (${failed} errors)`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(counts) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
