# One OTLP JSON document of about N MiB -- many resourceSpans, each 8 spans of one trace -- for
# measuring `spanctl load` on large input (README, Performance):
#   python3 benchmarks/gen_otlp_json.py 600 big.json
#   /usr/bin/time -v build/spanctl load --db /tmp/db big.json
# With --ndjson, the same spans as the Collector's file exporter writes them (one request of
# 125 resourceSpans, ~1000 spans, per line).
import sys, random
ndjson = '--ndjson' in sys.argv
args = [a for a in sys.argv[1:] if a != '--ndjson']
target = int(args[0]) << 20
out = open(args[1], 'w')
rnd = random.Random(1)
if not ndjson:
    out.write('{"resourceSpans":[\n')
written = 0
i = 0
svcs = ["checkout", "payments", "cart", "frontend", "shipping", "email"]
while written < target:
    tid = "%032x" % rnd.getrandbits(128)
    spans = []
    t0 = 1700000000000000000 + i * 1000000
    for j in range(8):
        sid = "%016x" % (rnd.getrandbits(64) | 1)
        spans.append('{"traceId":"%s","spanId":"%s","parentSpanId":"%s","name":"GET /api/v1/item/%d","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.status_code","value":{"intValue":"200"}},{"key":"http.url","value":{"stringValue":"https://shop.example.com/api/v1/item/%d?ref=abc"}},{"key":"user.id","value":{"stringValue":"u-%d"}}],"status":{}}' % (tid, sid, "" if j == 0 else "%016x" % 7, j, t0 + j * 1000, t0 + j * 1000 + 500000, i, i % 5000))
    s = '%s{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}},{"key":"host.name","value":{"stringValue":"host-%d"}}]},"scopeSpans":[{"scope":{"name":"io.opentelemetry.http","version":"1.2.3"},"spans":[%s]}]}\n' % ("," if i and not ndjson else "", svcs[i % 6], i % 50, ",".join(spans))
    if ndjson:
        s = ('{"resourceSpans":[' if i % 125 == 0 else ',') + s.rstrip('\n') + (']}\n' if i % 125 == 124 else '')
    out.write(s)
    written += len(s)
    i += 1
if not ndjson:
    out.write(']}\n')
elif i % 125:
    out.write(']}\n')
print(i * 8, "spans")
