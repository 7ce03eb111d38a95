// End-to-end check of spanstored with the real OpenTelemetry JavaScript SDK and its three OTLP
// exporters (HTTP/JSON, HTTP/protobuf with gzip, gRPC). Run by
// tests/spanstored/spanstored_otel_js_e2e_test.cc against a daemon it started:
//
//   node e2e.js <mode> <otlp-http host:port> <otlp-grpc host:port> <tempo> <jaeger-query>
//
// modes:
//   export      one trace per exporter; each read back through Jaeger's and Tempo's APIs and
//               compared field by field with what the SDK recorded
//   retry       the daemon refuses its first ingest requests (--test-refuse-ingest); the HTTP
//               exporters must retry after Retry-After and lose nothing
//   concurrent  8 exporters x 50 requests x 100 spans at once; every span back, none twice
//
// Prints "ok ..." per check and "FAIL ..." per mismatch; exits 1 on any failure.
'use strict';

const api = require('@opentelemetry/api');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
  require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter: HttpJsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: HttpProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: GrpcExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');

const [mode, otlpHttp, otlpGrpc, tempo, jaeger] = process.argv.slice(2);
let failures = 0;
function check(ok, what, detail) {
  if (ok) {
    console.log(`ok ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : ': ' + detail}`);
  }
  return ok;
}
function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return check(a === e, what, `got ${a}, want ${e}`);
}

const TRANSPORTS = {
  'http-json': () => new HttpJsonExporter({ url: `http://${otlpHttp}/v1/traces` }),
  'http-proto-gzip': () =>
    new HttpProtoExporter({ url: `http://${otlpHttp}/v1/traces`, compression: 'gzip' }),
  'grpc': () => new GrpcExporter({ url: `http://${otlpGrpc}` }),
};

function exportSpans(exporter, spans) {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

// Records spans in memory; each OTLP exporter then sends exactly these, so the test knows what
// every field must read back as.
function recorder(serviceName) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': serviceName,
      'deployment.environment': 'e2e',
      'service.instance.id': `${serviceName}-1`,
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { memory, tracer: provider.getTracer('spanstored-e2e', '1.2.3') };
}

const nowNanos = BigInt(Date.now()) * 1000000n;
// HrTime [seconds, nanos] at `offset` nanoseconds after the test started, with sub-microsecond
// digits so that truncations show.
function at(offset) {
  const t = nowNanos + BigInt(offset) + 123n;
  return [Number(t / 1000000000n), Number(t % 1000000000n)];
}
const nanos = (hr) => (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();
const micros = (hr) => Number((BigInt(hr[0]) * 1000000000n + BigInt(hr[1])) / 1000n);

function makeTrace(tracer, label) {
  const root = tracer.startSpan(`GET /checkout ${label}`, {
    kind: api.SpanKind.SERVER,
    startTime: at(0),
    attributes: { 'http.method': 'GET', 'http.status_code': 500, 'load': 0.75, 'cached': false,
                  'tags': ['a', 'b'], 'label': label },
  }, api.ROOT_CONTEXT);
  const ctx = api.trace.setSpan(api.ROOT_CONTEXT, root);
  const linked = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331',
                   traceFlags: 1 };
  const child = tracer.startSpan('charge card', {
    kind: api.SpanKind.CLIENT,
    startTime: at(1500000),
    attributes: { 'peer.service': 'payments', 'retry.count': 2 },
    links: [{ context: linked, attributes: { 'link.reason': 'retry-of' } }],
  }, ctx);
  child.addEvent('card declined', { 'card.brand': 'visa', 'amount': 12.5 }, at(2000000));
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'declined' });
  child.end(at(9000000));
  root.end(at(10000000));
  return root.spanContext().traceId;
}

async function getJson(url) {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// Jaeger UI model: what Jaeger's OTLP translator would show for the recorded span.
function checkJaegerSpan(j, s, processes, where) {
  same(j.operationName, s.name, `${where} operationName`);
  same(j.startTime, micros(s.startTime), `${where} startTime (us)`);
  same(j.duration, micros(s.duration), `${where} duration (us)`);
  const tags = Object.fromEntries(j.tags.map((t) => [t.key, t]));
  for (const [key, value] of Object.entries(s.attributes)) {
    const t = tags[key];
    if (!check(t !== undefined, `${where} tag ${key} present`)) continue;
    if (Array.isArray(value)) {
      same([t.type, t.value], ['string', JSON.stringify(value)], `${where} tag ${key}`);
    } else if (typeof value === 'number') {
      same([t.type, t.value], [Number.isInteger(value) ? 'int64' : 'float64', value],
           `${where} tag ${key}`);
    } else {
      same([t.type, t.value], [typeof value === 'boolean' ? 'bool' : 'string', value],
           `${where} tag ${key}`);
    }
  }
  same(tags['span.kind'] && tags['span.kind'].value,
       s.kind === api.SpanKind.SERVER ? 'server' : 'client', `${where} span.kind`);
  same(tags['otel.scope.name'] && tags['otel.scope.name'].value, 'spanstored-e2e',
       `${where} otel.scope.name`);
  same(tags['otel.scope.version'] && tags['otel.scope.version'].value, '1.2.3',
       `${where} otel.scope.version`);
  if (s.status.code === api.SpanStatusCode.ERROR) {
    same([tags.error && tags.error.value, tags['otel.status_code'].value,
          tags['otel.status_description'].value], [true, 'ERROR', s.status.message],
         `${where} error status`);
  }
  const refs = j.references.map((r) => [r.refType, r.spanID]);
  const want = [];
  if (s.parentSpanContext) want.push(['CHILD_OF', s.parentSpanContext.spanId]);
  for (const l of s.links) want.push(['FOLLOWS_FROM', l.context.spanId]);
  same(refs, want, `${where} references`);
  same(j.logs.map((l) => [l.timestamp, ...l.fields.map((f) => [f.key, f.value])]),
       s.events.map((e) => [micros(e.time), ['event', e.name],
                            ...Object.entries(e.attributes).map(([k, v]) => [k, v])]),
       `${where} logs`);
  const process = processes[j.processID];
  same(process.serviceName, s.resource.attributes['service.name'], `${where} process service`);
  const ptags = Object.fromEntries(process.tags.map((t) => [t.key, t.value]));
  for (const [key, value] of Object.entries(s.resource.attributes)) {
    if (key !== 'service.name') same(ptags[key], value, `${where} process tag ${key}`);
  }
}

function otlpValue(v) {
  if (Array.isArray(v)) return { arrayValue: { values: v.map(otlpValue) } };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  return { stringValue: v };
}
const otlpAttributes = (attrs) =>
  Object.entries(attrs).map(([key, value]) => ({ key, value: otlpValue(value) }));
const sortByKey = (list) => [...list].sort((a, b) => (a.key < b.key ? -1 : 1));

// Tempo: OTLP/JSON, compared with what the recorded span encodes to.
function checkTempoSpan(t, s, resource, scope, where) {
  const ctx = s.spanContext();
  same([t.traceId, t.spanId], [ctx.traceId, ctx.spanId], `${where} ids`);
  same(t.parentSpanId, s.parentSpanContext ? s.parentSpanContext.spanId : undefined,
       `${where} parentSpanId`);
  same(t.name, s.name, `${where} name`);
  same(t.kind, s.kind + 1, `${where} kind (OTLP numbering)`);
  same([t.startTimeUnixNano, t.endTimeUnixNano], [nanos(s.startTime), nanos(s.endTime)],
       `${where} times (ns)`);
  same(sortByKey(t.attributes), sortByKey(otlpAttributes(s.attributes)), `${where} attributes`);
  same((t.events || []).map((e) => [e.timeUnixNano, e.name, sortByKey(e.attributes)]),
       s.events.map((e) => [nanos(e.time), e.name, sortByKey(otlpAttributes(e.attributes))]),
       `${where} events`);
  same((t.links || []).map((l) => [l.traceId, l.spanId, l.attributes]),
       s.links.map((l) => [l.context.traceId, l.context.spanId, otlpAttributes(l.attributes)]),
       `${where} links`);
  same([t.status.code, t.status.message], [s.status.code === api.SpanStatusCode.ERROR ? 2 : 0,
                                           s.status.message], `${where} status`);
  same(sortByKey(resource.attributes), sortByKey(otlpAttributes(s.resource.attributes)),
       `${where} resource`);
  same([scope.name, scope.version], ['spanstored-e2e', '1.2.3'], `${where} scope`);
}

async function exportMode() {
  for (const [transport, make] of Object.entries(TRANSPORTS)) {
    const service = `js-${transport}`;
    const { memory, tracer } = recorder(service);
    const traceId = makeTrace(tracer, transport);
    const spans = memory.getFinishedSpans();
    const exporter = make();
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();
    if (!check(result.code === 0, `${transport}: export acknowledged`, result.error)) continue;

    const jaegerTrace = (await getJson(`http://${jaeger}/api/traces/${traceId}`)).data[0];
    same(jaegerTrace.spans.length, spans.length, `${transport}: jaeger span count`);
    for (const s of spans) {
      const j = jaegerTrace.spans.find((x) => x.spanID === s.spanContext().spanId);
      if (check(j !== undefined, `${transport}: jaeger has span ${s.name}`)) {
        checkJaegerSpan(j, s, jaegerTrace.processes, `${transport}: jaeger ${s.name}:`);
      }
    }

    const tempoTrace = (await getJson(`http://${tempo}/api/v2/traces/${traceId}`)).trace;
    for (const s of spans) {
      let found = null;
      for (const rs of tempoTrace.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const t of ss.spans) {
            if (t.spanId === s.spanContext().spanId) found = [t, rs.resource, ss.scope];
          }
        }
      }
      if (check(found !== null, `${transport}: tempo has span ${s.name}`)) {
        checkTempoSpan(found[0], s, found[1], found[2], `${transport}: tempo ${s.name}:`);
      }
    }

    // Searches as Grafana and Jaeger UI send them.
    const start = Math.floor(Date.now() / 1000) - 3600;
    const end = Math.floor(Date.now() / 1000) + 3600;
    const q = encodeURIComponent(`{ resource.service.name = "${service}" && span.peer.service = "payments" }`);
    const search = await getJson(`http://${tempo}/api/search?q=${q}&start=${start}&end=${end}&limit=20&spss=3`);
    const hit = search.traces.find((t) => t.traceID === traceId);
    if (check(hit !== undefined, `${transport}: tempo search finds the trace`)) {
      same([hit.rootServiceName, hit.rootTraceName], [service, `GET /checkout ${transport}`],
           `${transport}: tempo search root`);
      same(hit.spanSets[0].matched, 1, `${transport}: tempo span set matched`);
    }
    const tags = encodeURIComponent(JSON.stringify({ 'card.brand': 'visa', 'retry.count': '2' }));
    const found = await getJson(`http://${jaeger}/api/traces?service=${service}&tags=${tags}` +
                                `&start=${start * 1000000}&end=${end * 1000000}&limit=20`);
    check(found.data.some((t) => t.traceID === traceId),
          `${transport}: jaeger tag search (event + span attribute) finds the trace`);
  }
}

// One scrape of the OTLP/HTTP listener's /metrics (the scrape itself is counted after it).
async function scrape() {
  const text = await (await fetch(`http://${otlpHttp}/metrics`)).text();
  return (name, labels) => {
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{${labels}}`)) return Number(line.split(' ').pop());
    }
    return 0;
  };
}

async function retryMode() {
  // The daemon refuses the first 4 ingest requests: each HTTP exporter is refused twice
  // (503, Retry-After: 1), retries, and gets its spans in.
  for (const transport of ['http-proto-gzip', 'http-json']) {
    const { memory, tracer } = recorder(`js-retry-${transport}`);
    const traceId = makeTrace(tracer, transport);
    const spans = memory.getFinishedSpans();
    const exporter = TRANSPORTS[transport]();
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();
    check(result.code === 0, `${transport}: export acknowledged after retries`, result.error);
    const trace = (await getJson(`http://${jaeger}/api/traces/${traceId}`)).data[0];
    same(trace.spans.map((s) => s.spanID).sort(),
         spans.map((s) => s.spanContext().spanId).sort(), `${transport}: nothing lost`);
  }
  const metric = await scrape();
  same(metric('spanstored_requests_total', 'listener="otlp-http",code="503"'), 4,
       'the daemon answered 503 four times');
  same(metric('spanstored_requests_total', 'listener="otlp-http",code="200"'), 2,
       'and 200 once per exporter');
}

async function concurrentMode() {
  const kinds = Object.keys(TRANSPORTS);
  const expected = new Map();  // traceId -> sorted span ids
  const workers = [];
  for (let w = 0; w < 8; w++) {
    workers.push((async () => {
      const { memory, tracer } = recorder(`js-load-${w}`);
      const exporter = TRANSPORTS[kinds[w % kinds.length]]();
      let acknowledged = 0;
      for (let r = 0; r < 50; r++) {
        const root = tracer.startSpan(`request ${w}/${r}`, { kind: api.SpanKind.SERVER },
                                      api.ROOT_CONTEXT);
        const ctx = api.trace.setSpan(api.ROOT_CONTEXT, root);
        for (let i = 0; i < 99; i++) {
          tracer.startSpan(`step ${i}`, { attributes: { 'step': i } }, ctx).end();
        }
        root.end();
        const spans = memory.getFinishedSpans();
        memory.reset();
        expected.set(root.spanContext().traceId, spans.map((s) => s.spanContext().spanId).sort());
        const result = await exportSpans(exporter, spans);
        if (result.code === 0) acknowledged++;
      }
      await exporter.shutdown();
      return acknowledged;
    })());
  }
  const acks = await Promise.all(workers);
  same(acks.reduce((a, b) => a + b, 0), 400, 'all 400 requests acknowledged');
  let complete = 0;
  for (const [traceId, spanIds] of expected) {
    const trace = (await getJson(`http://${jaeger}/api/traces/${traceId}`)).data[0];
    const got = trace.spans.map((s) => s.spanID).sort();
    if (JSON.stringify(got) === JSON.stringify(spanIds)) {
      complete++;
    } else {
      check(false, `trace ${traceId}`, `${got.length} spans back of ${spanIds.length}`);
    }
  }
  same(complete, 400, 'every trace has exactly its 100 spans (none lost, none twice)');
}

(async () => {
  try {
    if (mode === 'export') await exportMode();
    else if (mode === 'retry') await retryMode();
    else if (mode === 'concurrent') await concurrentMode();
    else throw new Error(`unknown mode ${mode}`);
  } catch (e) {
    check(false, 'no exception', e.stack);
  }
  console.log(failures === 0 ? 'PASS' : `${failures} failures`);
  process.exit(failures === 0 ? 0 : 1);
})();
