// Arbitrary bytes as a block file (format/block_format.h): BlockReader::Open, Verify,
// ForEachRow, GetTrace, Contains, Scan, ScanKeys and the service lists must never crash, leak,
// hang or allocate without bound. Errors are fine.
//
// Every part of a block is checksummed, so a mutation almost never gets past the checksums. Each
// input therefore runs twice: as it is (footer, framing and checksum checks), and with every
// checksum recomputed -- footer, meta page, trace index, then every group page the meta page
// names and (format 4) the value filters' section -- which takes mutations through to the meta page
// parser, the trace index and the column decoders, as a file crafted with valid checksums would.
// Seeds: fuzz/corpus/block_reader/ (written by tests/fuzz_corpus_test.cc).

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "engine/block_source.h"
#include "format/block_format.h"
#include "format/block_reader.h"
#include "format/page_cache.h"
#include "format/trace_index_cache.h"
#include "spanstore/env.h"
#include "spanstore/query.h"
#include "util/coding.h"

namespace {

using namespace spanstore;

// Rows visited per call of ForEachRow and Scan. Verify already decodes every row; the rest only
// needs to reach each code path, and fewer rows mean more inputs per second.
constexpr size_t kMaxRowsVisited = 64;

// One temporary file per process, rewritten for every input and removed at exit.
const std::string& TempPath() {
  static const std::string* path = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/block_reader_fuzz.XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) std::abort();
    ::close(fd);
    auto* p = new std::string(tmpl);
    std::atexit([] { ::unlink(TempPath().c_str()); });
    return p;
  }();
  return *path;
}

// Overwrites in place and then cuts to size: truncating to zero and rewriting would make ext4
// flush the file on every close (its replace-via-truncate heuristic), a hundredfold slowdown.
void WriteTemp(const std::string& data) {
  const int fd = ::open(TempPath().c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) std::abort();
  if (::pwrite(fd, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()) ||
      ::ftruncate(fd, static_cast<off_t>(data.size())) != 0) {
    std::abort();
  }
  ::close(fd);
}

// Every checksummed unit of a block (footer, meta page, trace index, page) keeps the XXH3 of its
// other bytes in its last 8 bytes. Recomputes it for the extent [offset, offset + size) when the
// extent lies inside the file.
bool FixChecksum(std::string* data, uint64_t offset, uint64_t size) {
  if (size < 8 || offset > data->size() || size > data->size() - offset) return false;
  char* p = data->data() + offset;
  EncodeFixed64(p + size - 8, XXH3_64bits(p, size - 8));
  return true;
}

// Footer, meta page and trace index; the pages need the parsed meta page (FixPageChecksums).
void FixFixedChecksums(std::string* data) {
  if (data->size() < kBlockFooterSize) return;
  const uint64_t footer = data->size() - kBlockFooterSize;
  FixChecksum(data, footer, 48);  // 40 bytes of fields, then their checksum
  const char* f = data->data() + footer;
  FixChecksum(data, DecodeFixed64(f), DecodeFixed64(f + 8));        // meta page
  FixChecksum(data, DecodeFixed64(f + 16), DecodeFixed64(f + 24));  // trace index
}

void FixPageChecksums(const BlockReader& block, std::string* data) {
  for (const BlockReader::Group& g : block.groups()) FixChecksum(data, g.offset, g.size);
  // Format 4: the groups' value filters; format 5: the block value filter after them.
  if (block.format_version() >= 4) {
    for (const auto& [offset, size] : {block.group_filters_extent(), block.block_filter_extent()}) {
      FixChecksum(data, offset, size);
    }
  }
}

// Queries built from the block's first row, so that the dictionary, zone map and attribute
// narrowing paths see values the block holds.
std::vector<SpanQuery> Queries(const std::optional<Span>& first) {
  std::vector<SpanQuery> queries(1);  // everything
  SpanQuery q;
  q.start_min = first ? first->start_time_unix_nano : 1;
  q.start_max = q.start_min + 1'000'000'000;
  q.min_duration_nanos = 1;
  queries.push_back(q);
  q = SpanQuery();
  q.services.push_back(first ? first->service_name : "checkout");
  q.names.push_back(first ? first->name : "GET /");
  q.status = first ? first->status_code : StatusCode::kError;
  q.kinds.push_back(first ? first->kind : SpanKind::kServer);
  queries.push_back(q);
  q = SpanQuery();
  AttributePredicate p;
  p.scope = AttributeScope::kSpan;
  p.key = "http.host";
  p.value = AnyValue::String("payments.staging.internal");
  if (first) {
    for (const KeyValue& kv : first->attributes) {
      if (kv.value.type() != AnyValue::Type::kString) continue;
      p.key = kv.key;
      p.value = kv.value;
      break;
    }
  }
  q.attributes.push_back(p);
  p.scope = AttributeScope::kAny;
  p.op = CompareOp::kExists;
  q.attributes.push_back(p);
  queries.push_back(q);
  return queries;
}

void Exercise(const std::string& data) {
  // Through the engine's BlockSource, so the query paths over the columns are fuzzed too, with
  // the caches a store gives its readers (small ones: an index or a page may not fit).
  PageCache pages(256 << 10);
  PageCache filters(256 << 10, 1);
  TraceIndexCache indexes(64 << 10);
  auto opened = BlockSource::Open(Env::Default(), TempPath(), 1, &pages, &filters, &indexes);
  if (!opened.ok()) return;
  const BlockSource& source = **opened;
  const BlockReader& block = source.reader();
  (void)block.Verify();

  std::optional<Span> first;
  size_t rows = 0;
  (void)block.ForEachRow([&](const Span& span, std::string_view) {
    if (!first) first = span;
    return ++rows < kMaxRowsVisited;
  });

  // A trace id the block holds (if any row decoded) and one taken from the input.
  std::vector<TraceId> ids;
  if (first) ids.push_back(first->trace_id);
  TraceId from_input;
  std::memcpy(from_input.bytes.data(), data.data() + data.size() / 2 - 8, 16);
  ids.push_back(from_input);
  for (const TraceId& id : ids) {
    std::vector<Span> trace;
    block.PrefetchTrace(TraceIndex::Hash(id));
    (void)block.MayHoldTrace(TraceIndex::Hash(id));
    (void)block.LoadTraceIndex();
    (void)block.MayContainTrace(id);
    (void)source.GetTrace(id, &trace);
  }
  if (first) (void)block.Contains(*first);

  for (const SpanQuery& q : Queries(first)) {
    size_t visited = 0;
    (void)source.Scan(q, [&](const Span&) { return ++visited < kMaxRowsVisited; });
    // ScanKeys answers from the predicate columns alone when it can (trace ids from the index,
    // starts from the time columns): a path of its own.
    visited = 0;
    (void)source.ScanKeys(q, [&](const TraceId&, uint64_t) { return ++visited < kMaxRowsVisited; });
  }
  absl::btree_set<std::string> services, operations;
  source.CollectServices(&services);
  source.CollectOperations(services.empty() ? std::string() : *services.begin(), &operations);
  (void)block.memory_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 16) return 0;  // far below a block's header + footer; Open's size check is trivial
  std::string data(reinterpret_cast<const char*>(bytes), size);
  WriteTemp(data);
  Exercise(data);

  // Again with valid checksums: first the fixed-position ones, then the pages the (now
  // readable) meta page names.
  std::string fixed = data;
  FixFixedChecksums(&fixed);
  WriteTemp(fixed);
  auto opened = BlockReader::Open(Env::Default(), TempPath(), 1);
  if (!opened.ok()) return 0;
  FixPageChecksums(**opened, &fixed);
  opened->reset();
  if (fixed == data) return 0;  // already exercised
  WriteTemp(fixed);
  Exercise(fixed);
  return 0;
}
