// SQLite the way a small tracing backend would use it: a table of spans, a table of attributes
// (span and resource attributes, one row each, in their original order), and the indexes its
// queries need -- trace id for GetTrace, (service, start) and (service, name, start) for search,
// and (key, value) on the attributes for attribute search (a tag search without it would read
// the whole attributes table, which no backend offering tag search would ship).
// WAL mode with synchronous=FULL: each batch is one transaction whose commit fsyncs the WAL, the
// durability every engine in the comparison gets. Events, links and the rarer fields travel in
// one OTLP protobuf blob per span that has any (NULL otherwise) -- they are never queried.
//
// Attribute values are scalars in this workload; an array or map value is refused rather than
// stored lossily.

#include <sqlite3.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "benchmarks/compare/engine.h"
#include "spanstore/otlp_proto.h"

namespace spanstore::compare {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS spans(
  id INTEGER PRIMARY KEY,
  trace_id BLOB NOT NULL,
  span_id BLOB NOT NULL,
  parent_span_id BLOB NOT NULL,
  trace_state TEXT NOT NULL,
  flags INTEGER NOT NULL,
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  status_message TEXT NOT NULL,
  scope_name TEXT NOT NULL,
  scope_version TEXT NOT NULL,
  resource_schema_url TEXT NOT NULL,
  extra BLOB);
CREATE TABLE IF NOT EXISTS attributes(
  span INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  scope INTEGER NOT NULL,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  value,
  PRIMARY KEY(span, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_trace ON spans(trace_id);
CREATE INDEX IF NOT EXISTS spans_service_start ON spans(service, start_ns);
CREATE INDEX IF NOT EXISTS spans_service_name_start ON spans(service, name, start_ns);
CREATE INDEX IF NOT EXISTS attributes_key_value ON attributes(key, value);
)sql";

constexpr char kSpanColumns[] =
    "id, trace_id, span_id, parent_span_id, trace_state, flags, service, name, kind, start_ns, "
    "end_ns, status_code, status_message, scope_name, scope_version, resource_schema_url, extra";

constexpr int kSpanScope = 0;
constexpr int kResourceScope = 1;

int64_t ClampToInt64(uint64_t v) { return v > INT64_MAX ? INT64_MAX : static_cast<int64_t>(v); }

std::string_view ColumnBlob(sqlite3_stmt* st, int col) {
  const void* p = sqlite3_column_blob(st, col);
  return std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(st, col));
}

std::string ColumnText(sqlite3_stmt* st, int col) {
  const unsigned char* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st, col))
           : std::string();
}

template <typename Id>
void CopyId(std::string_view raw, Id* id) {
  if (raw.size() == id->bytes.size()) std::copy(raw.begin(), raw.end(), id->bytes.begin());
}

bool NeedsExtra(const Span& s) {
  return !s.events.empty() || !s.links.empty() || !s.scope_attributes.empty() ||
         !s.scope_schema_url.empty() || s.dropped_attributes_count != 0 ||
         s.dropped_events_count != 0 || s.dropped_links_count != 0;
}

class SqliteEngine : public Engine {
 public:
  ~SqliteEngine() override {
    if (db_ != nullptr) (void)Close();
  }

  absl::Status Open(const std::string& dir) override {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
    }
    const std::string path = dir + "/spans.db";
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return Error("open " + path);
    }
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                            "PRAGMA cache_size=-65536", kSchema}) {
      if (absl::Status s = Exec(sql); !s.ok()) return s;
    }
    return Prepare();
  }

  absl::Status Write(absl::Span<const Span> spans) override {
    if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
    std::string extra;
    for (const Span& sp : spans) {
      sqlite3_stmt* st = insert_span_;
      sqlite3_bind_blob(st, 1, sp.trace_id.bytes.data(), 16, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, sp.span_id.bytes.data(), 8, SQLITE_STATIC);
      sqlite3_bind_blob(st, 3, sp.parent_span_id.bytes.data(), 8, SQLITE_STATIC);
      BindText(st, 4, sp.trace_state);
      sqlite3_bind_int64(st, 5, sp.flags);
      BindText(st, 6, sp.service_name);
      BindText(st, 7, sp.name);
      sqlite3_bind_int(st, 8, static_cast<int>(sp.kind));
      sqlite3_bind_int64(st, 9, ClampToInt64(sp.start_time_unix_nano));
      sqlite3_bind_int64(st, 10, ClampToInt64(sp.end_time_unix_nano));
      sqlite3_bind_int64(st, 11, ClampToInt64(sp.duration_nanos()));
      sqlite3_bind_int(st, 12, static_cast<int>(sp.status_code));
      BindText(st, 13, sp.status_message);
      BindText(st, 14, sp.scope_name);
      BindText(st, 15, sp.scope_version);
      BindText(st, 16, sp.resource_schema_url);
      if (NeedsExtra(sp)) {
        Span rest;
        rest.trace_id = sp.trace_id;
        rest.span_id = sp.span_id;
        rest.events = sp.events;
        rest.links = sp.links;
        rest.scope_attributes = sp.scope_attributes;
        rest.scope_schema_url = sp.scope_schema_url;
        rest.dropped_attributes_count = sp.dropped_attributes_count;
        rest.dropped_events_count = sp.dropped_events_count;
        rest.dropped_links_count = sp.dropped_links_count;
        extra.clear();
        EncodeOtlpTraces(absl::MakeConstSpan(&rest, 1), &extra);
        sqlite3_bind_blob(st, 17, extra.data(), static_cast<int>(extra.size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_null(st, 17);
      }
      if (absl::Status s = StepDone(st, "insert span"); !s.ok()) return Rollback(s);
      const int64_t id = sqlite3_last_insert_rowid(db_);
      int seq = 0;
      for (const KeyValue& kv : sp.attributes) {
        if (absl::Status s = InsertAttribute(id, seq++, kSpanScope, kv); !s.ok()) {
          return Rollback(s);
        }
      }
      for (const KeyValue& kv : sp.resource_attributes) {
        if (absl::Status s = InsertAttribute(id, seq++, kResourceScope, kv); !s.ok()) {
          return Rollback(s);
        }
      }
    }
    return Exec("COMMIT");
  }

  absl::Status Compact() override { return Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  absl::Status Close() override {
    for (sqlite3_stmt** st :
         {&insert_span_, &insert_attr_, &select_trace_, &select_span_, &select_attrs_,
          &find_traces_, &find_traces_by_name_, &find_by_attribute_}) {
      sqlite3_finalize(*st);
      *st = nullptr;
    }
    const int rc = sqlite3_close(db_);
    db_ = nullptr;
    return rc == SQLITE_OK ? absl::OkStatus() : absl::InternalError("sqlite close failed");
  }

  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* spans) override {
    spans->clear();
    sqlite3_stmt* st = select_trace_;
    sqlite3_bind_blob(st, 1, trace_id.bytes.data(), 16, SQLITE_STATIC);
    return ReadSpans(st, spans);
  }

  absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                       size_t limit) override {
    if (!query.attributes.empty()) return FindByAttribute(query, limit);
    if (query.services.size() != 1 || query.names.size() > 1 || !query.kinds.empty() ||
        query.status.has_value() || !query.attributes.empty() || query.filter.has_value()) {
      return absl::UnimplementedError("sqlite peer: query outside service/name/time/duration");
    }
    sqlite3_stmt* st = query.names.empty() ? find_traces_ : find_traces_by_name_;
    BindText(st, 1, query.services[0]);
    sqlite3_bind_int64(st, 2, ClampToInt64(query.start_min));
    sqlite3_bind_int64(st, 3, ClampToInt64(query.start_max));
    sqlite3_bind_int64(st, 4, ClampToInt64(query.min_duration_nanos));
    sqlite3_bind_int64(st, 5, ClampToInt64(query.max_duration_nanos));
    sqlite3_bind_int64(st, 6, limit == 0 ? -1 : static_cast<int64_t>(limit));
    if (!query.names.empty()) BindText(st, 7, query.names[0]);
    std::vector<TraceId> candidates;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      CopyId(ColumnBlob(st, 0), &candidates.emplace_back());
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return Error("find traces");
    // The SQL already ranks exactly; fetching and summarising is what remains.
    return RankCandidates(this, candidates, query, limit);
  }

  // A full scan of the attributes table for one attribute predicate (what SQL can say without
  // re-implementing TraceQL), then each hit's span is read and checked with SpanMatches.
  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<void(const Span&)> visit) override {
    if (query.attributes.size() != 1 || query.filter.has_value() || !query.services.empty() ||
        !query.names.empty() || !query.kinds.empty() || query.status.has_value()) {
      return absl::UnimplementedError("sqlite peer: scans take exactly one attribute predicate");
    }
    const AttributePredicate& p = query.attributes[0];
    const char* op = nullptr;
    switch (p.op) {
      case CompareOp::kEq: op = "="; break;
      case CompareOp::kNe: op = "!="; break;
      case CompareOp::kLt: op = "<"; break;
      case CompareOp::kLe: op = "<="; break;
      case CompareOp::kGt: op = ">"; break;
      case CompareOp::kGe: op = ">="; break;
      default: return absl::UnimplementedError("sqlite peer: comparison operators only");
    }
    if (p.scope == AttributeScope::kAny) {
      return absl::UnimplementedError("sqlite peer: span. or resource. scope only");
    }
    // SQLite orders every number before every string, so compare within one family of types.
    std::string types;
    switch (p.value.type()) {
      case AnyValue::Type::kInt:
      case AnyValue::Type::kDouble:
        types = absl::StrCat(static_cast<int>(AnyValue::Type::kInt), ",",
                             static_cast<int>(AnyValue::Type::kDouble));
        break;
      case AnyValue::Type::kString:
        types = absl::StrCat(static_cast<int>(AnyValue::Type::kString));
        break;
      default:
        return absl::UnimplementedError("sqlite peer: int, double or string values only");
    }
    const std::string sql =
        absl::StrCat("SELECT span FROM attributes WHERE key = ?1 AND scope = ?2 AND type IN (",
                     types, ") AND value ", op, " ?3");
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return Error("prepare scan");
    }
    BindText(st, 1, p.key);
    sqlite3_bind_int(st, 2, p.scope == AttributeScope::kSpan ? kSpanScope : kResourceScope);
    if (p.value.type() == AnyValue::Type::kInt) sqlite3_bind_int64(st, 3, p.value.int_value());
    if (p.value.type() == AnyValue::Type::kDouble) {
      sqlite3_bind_double(st, 3, p.value.double_value());
    }
    if (p.value.type() == AnyValue::Type::kString) BindText(st, 3, p.value.string_value());
    std::vector<int64_t> ids;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const int64_t id = sqlite3_column_int64(st, 0);
      if (ids.empty() || ids.back() != id) ids.push_back(id);  // rows come in span order
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Error("scan");
    std::vector<Span> spans;
    for (int64_t id : ids) {
      spans.clear();
      sqlite3_bind_int64(select_span_, 1, id);
      if (absl::Status s = ReadSpans(select_span_, &spans); !s.ok()) return s;
      for (const Span& span : spans) {
        if (SpanMatches(query, span)) visit(span);
      }
    }
    return absl::OkStatus();
  }

 private:
  // One span- or resource-scoped string equality and a time window: the attributes index finds
  // the rows, the join reads each row's span for its trace and start, and SQL ranks the traces
  // the way Store does (earliest matching start, newest first; ties by trace id).
  absl::StatusOr<std::vector<TraceSummary>> FindByAttribute(const SpanQuery& query, size_t limit) {
    if (query.attributes.size() != 1 || !query.services.empty() || !query.names.empty() ||
        !query.kinds.empty() || query.status.has_value() || query.filter.has_value() ||
        query.min_duration_nanos != 0 || query.max_duration_nanos != UINT64_MAX) {
      return absl::UnimplementedError("sqlite peer: attribute search takes one predicate");
    }
    const AttributePredicate& p = query.attributes[0];
    if (p.op != CompareOp::kEq || p.value.type() != AnyValue::Type::kString ||
        p.scope == AttributeScope::kAny) {
      return absl::UnimplementedError("sqlite peer: span. or resource. string equality only");
    }
    sqlite3_stmt* st = find_by_attribute_;
    BindText(st, 1, p.key);
    BindText(st, 2, p.value.string_value());
    sqlite3_bind_int(st, 3, p.scope == AttributeScope::kSpan ? kSpanScope : kResourceScope);
    sqlite3_bind_int(st, 4, static_cast<int>(AnyValue::Type::kString));
    sqlite3_bind_int64(st, 5, ClampToInt64(query.start_min));
    sqlite3_bind_int64(st, 6, ClampToInt64(query.start_max));
    sqlite3_bind_int64(st, 7, limit == 0 ? -1 : static_cast<int64_t>(limit));
    std::vector<TraceId> candidates;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      CopyId(ColumnBlob(st, 0), &candidates.emplace_back());
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return Error("find by attribute");
    return RankCandidates(this, candidates, query, limit);
  }

  absl::Status Prepare() {
    const std::string select = absl::StrCat("SELECT ", kSpanColumns, " FROM spans ");
    const std::string find =
        "SELECT trace_id, MIN(start_ns) AS first FROM spans WHERE service = ?1 AND start_ns "
        "BETWEEN ?2 AND ?3 AND duration_ns BETWEEN ?4 AND ?5 ";
    const std::string rank = " GROUP BY trace_id ORDER BY first DESC, trace_id LIMIT ?6";
    const std::pair<sqlite3_stmt**, std::string> statements[] = {
        {&insert_span_,
         "INSERT INTO spans(trace_id, span_id, parent_span_id, trace_state, flags, service, "
         "name, kind, start_ns, end_ns, duration_ns, status_code, status_message, scope_name, "
         "scope_version, resource_schema_url, extra) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
         "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"},
        {&insert_attr_,
         "INSERT INTO attributes(span, seq, scope, key, type, value) VALUES(?1, ?2, ?3, ?4, ?5, "
         "?6)"},
        {&select_trace_, select + "WHERE trace_id = ?1 ORDER BY start_ns, span_id"},
        {&select_span_, select + "WHERE id = ?1"},
        {&select_attrs_,
         "SELECT scope, key, type, value FROM attributes WHERE span = ?1 "
         "ORDER BY seq"},
        {&find_traces_, find + rank},
        {&find_traces_by_name_, find + "AND name = ?7" + rank},
        {&find_by_attribute_,
         "SELECT s.trace_id, MIN(s.start_ns) AS first FROM attributes a JOIN spans s ON s.id = "
         "a.span WHERE a.key = ?1 AND a.value = ?2 AND a.scope = ?3 AND a.type = ?4 AND "
         "s.start_ns BETWEEN ?5 AND ?6 GROUP BY s.trace_id ORDER BY first DESC, s.trace_id "
         "LIMIT ?7"},
    };
    for (const auto& [st, sql] : statements) {
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, st, nullptr) !=
          SQLITE_OK) {
        return Error("prepare " + sql);
      }
    }
    return absl::OkStatus();
  }

  absl::Status InsertAttribute(int64_t span, int seq, int scope, const KeyValue& kv) {
    sqlite3_stmt* st = insert_attr_;
    sqlite3_bind_int64(st, 1, span);
    sqlite3_bind_int(st, 2, seq);
    sqlite3_bind_int(st, 3, scope);
    BindText(st, 4, kv.key);
    sqlite3_bind_int(st, 5, static_cast<int>(kv.value.type()));
    switch (kv.value.type()) {
      case AnyValue::Type::kEmpty: sqlite3_bind_null(st, 6); break;
      case AnyValue::Type::kString: BindText(st, 6, kv.value.string_value()); break;
      case AnyValue::Type::kBool: sqlite3_bind_int(st, 6, kv.value.bool_value()); break;
      case AnyValue::Type::kInt: sqlite3_bind_int64(st, 6, kv.value.int_value()); break;
      case AnyValue::Type::kDouble: sqlite3_bind_double(st, 6, kv.value.double_value()); break;
      case AnyValue::Type::kBytes:
        sqlite3_bind_blob(st, 6, kv.value.bytes_value().data(),
                          static_cast<int>(kv.value.bytes_value().size()), SQLITE_STATIC);
        break;
      default:
        sqlite3_reset(st);
        return absl::UnimplementedError(
            absl::StrCat("sqlite peer: array/map attribute ", kv.key, " not supported"));
    }
    return StepDone(st, "insert attribute");
  }

  // Reads the rows of `st` (kSpanColumns), each with its attributes, into *spans; resets `st`.
  absl::Status ReadSpans(sqlite3_stmt* st, std::vector<Span>* spans) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Span& sp = spans->emplace_back();
      const int64_t id = sqlite3_column_int64(st, 0);
      CopyId(ColumnBlob(st, 1), &sp.trace_id);
      CopyId(ColumnBlob(st, 2), &sp.span_id);
      CopyId(ColumnBlob(st, 3), &sp.parent_span_id);
      sp.trace_state = ColumnText(st, 4);
      sp.flags = static_cast<uint32_t>(sqlite3_column_int64(st, 5));
      sp.service_name = ColumnText(st, 6);
      sp.name = ColumnText(st, 7);
      sp.kind = static_cast<SpanKind>(sqlite3_column_int(st, 8));
      sp.start_time_unix_nano = static_cast<uint64_t>(sqlite3_column_int64(st, 9));
      sp.end_time_unix_nano = static_cast<uint64_t>(sqlite3_column_int64(st, 10));
      sp.status_code = static_cast<StatusCode>(sqlite3_column_int(st, 11));
      sp.status_message = ColumnText(st, 12);
      sp.scope_name = ColumnText(st, 13);
      sp.scope_version = ColumnText(st, 14);
      sp.resource_schema_url = ColumnText(st, 15);
      if (sqlite3_column_type(st, 16) != SQLITE_NULL) {
        std::vector<Span> rest;
        if (absl::Status s = DecodeOtlpTraces(ColumnBlob(st, 16), &rest); !s.ok() || rest.empty()) {
          sqlite3_reset(st);
          return absl::DataLossError(absl::StrCat("sqlite peer: bad extra blob of span row ", id));
        }
        sp.events = std::move(rest[0].events);
        sp.links = std::move(rest[0].links);
        sp.scope_attributes = std::move(rest[0].scope_attributes);
        sp.scope_schema_url = std::move(rest[0].scope_schema_url);
        sp.dropped_attributes_count = rest[0].dropped_attributes_count;
        sp.dropped_events_count = rest[0].dropped_events_count;
        sp.dropped_links_count = rest[0].dropped_links_count;
      }
      if (absl::Status s = ReadAttributes(id, &sp); !s.ok()) {
        sqlite3_reset(st);
        return s;
      }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("read spans");
  }

  absl::Status ReadAttributes(int64_t id, Span* sp) {
    sqlite3_stmt* st = select_attrs_;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Attributes& list = sqlite3_column_int(st, 0) == kSpanScope ? sp->attributes
                                                                 : sp->resource_attributes;
      KeyValue& kv = list.emplace_back();
      kv.key = ColumnText(st, 1);
      switch (static_cast<AnyValue::Type>(sqlite3_column_int(st, 2))) {
        case AnyValue::Type::kString: kv.value = AnyValue::String(ColumnText(st, 3)); break;
        case AnyValue::Type::kBool: kv.value = AnyValue::Bool(sqlite3_column_int(st, 3) != 0); break;
        case AnyValue::Type::kInt: kv.value = AnyValue::Int(sqlite3_column_int64(st, 3)); break;
        case AnyValue::Type::kDouble: kv.value = AnyValue::Double(sqlite3_column_double(st, 3)); break;
        case AnyValue::Type::kBytes:
          kv.value = AnyValue::BytesValue(std::string(ColumnBlob(st, 3)));
          break;
        default: break;  // kEmpty
      }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("read attributes");
  }

  static void BindText(sqlite3_stmt* st, int col, const std::string& s) {
    sqlite3_bind_text(st, col, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }

  absl::Status StepDone(sqlite3_stmt* st, const char* what) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? absl::OkStatus() : Error(what);
  }

  absl::Status Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return absl::OkStatus();
    absl::Status s = absl::InternalError(absl::StrCat("sqlite: ", message ? message : "", " in ",
                                                      std::string(sql).substr(0, 60)));
    sqlite3_free(message);
    return s;
  }

  absl::Status Rollback(absl::Status s) {
    (void)Exec("ROLLBACK");
    return s;
  }

  absl::Status Error(const std::string& what) const {
    return absl::InternalError(absl::StrCat("sqlite ", what, ": ", sqlite3_errmsg(db_)));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_span_ = nullptr;
  sqlite3_stmt* insert_attr_ = nullptr;
  sqlite3_stmt* select_trace_ = nullptr;
  sqlite3_stmt* select_span_ = nullptr;
  sqlite3_stmt* select_attrs_ = nullptr;
  sqlite3_stmt* find_traces_ = nullptr;
  sqlite3_stmt* find_traces_by_name_ = nullptr;
  sqlite3_stmt* find_by_attribute_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> NewSqliteEngine() { return std::make_unique<SqliteEngine>(); }

}  // namespace spanstore::compare
