// Zone map: a summary of a set of spans (one page, or a whole block) that lets a scan skip it
// without decompressing anything when it cannot hold a span matching the query. It keeps the
// start-time and duration ranges, the span kinds and status codes present (so "status = error"
// skips pages without errors) and the distinct services.
//
// MayMatch is conservative: false only when no span summarised can satisfy the query's time
// window, duration bounds, status, kinds or services. Names, attributes and filters are left to
// the row-level SpanMatches.
//
// Serialized form: varints min_start, max_start, min_duration, max_duration, status mask, kind
// mask, row count, service count, then each service length-prefixed.
//
// Thread safety: thread-compatible value type.

#ifndef SPANSTORE_INDEX_ZONE_MAP_H_
#define SPANSTORE_INDEX_ZONE_MAP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

class ZoneMap {
 public:
  void Add(const Span& span);
  void Merge(const ZoneMap& other);

  bool MayMatch(const SpanQuery& query) const;
  // MayMatch without the services test, for a zone map parsed with service ids (below): the
  // caller tests the ids.
  bool MayMatchExceptServices(const SpanQuery& query) const;

  uint64_t rows() const { return rows_; }
  uint64_t min_start() const { return min_start_; }
  uint64_t max_start() const { return max_start_; }
  uint64_t max_duration() const { return max_duration_; }
  bool has_error() const {
    return (status_mask_ & Bit(static_cast<uint8_t>(StatusCode::kError))) != 0;
  }
  // Distinct services, sorted.
  const std::vector<std::string>& services() const { return services_; }

  void Serialize(std::string* out) const;
  // Reads a serialized zone map and advances `*in`; false on short or inconsistent input.
  bool Parse(std::string_view* in);

  // The compact form of a row group's zone map inside a block: varints min_start - `base`
  // (the block's least start), max_start - min_start, min_duration, max_duration -
  // min_duration, status mask, kind mask, row count, service count, then the services as
  // ascending ids into the block's service dictionary. REQUIRES: rows() > 0, min_start() >=
  // base; service_id maps every service of this zone map.
  void SerializeCompact(uint64_t base, const std::function<uint32_t(std::string_view)>& service_id,
                        std::string* out) const;
  // Reads the compact form, the services as ids into a dictionary of `service_count` entries:
  // *service_ids receives them (ascending, at most rows() of them) and services() stays empty.
  // A block reader keeps its groups' zone maps so, sharing the block's dictionary: copying the
  // names into every group would let a few KB of ids cost a copy of a long name each.
  bool ParseCompact(std::string_view* in, uint64_t base, size_t service_count,
                    std::vector<uint32_t>* service_ids);
  // The same, with services() set to the names of the ids in `services` (sorted, distinct).
  bool ParseCompact(std::string_view* in, uint64_t base,
                    const std::vector<std::string_view>& services);

  friend bool operator==(const ZoneMap& a, const ZoneMap& b) {
    return a.rows_ == b.rows_ && a.min_start_ == b.min_start_ && a.max_start_ == b.max_start_ &&
           a.min_duration_ == b.min_duration_ && a.max_duration_ == b.max_duration_ &&
           a.status_mask_ == b.status_mask_ && a.kind_mask_ == b.kind_mask_ &&
           a.services_ == b.services_;
  }

 private:
  // Values above 31 (not defined by OTLP, but representable) share bit 31, which then means
  // "may hold any such value".
  static uint32_t Bit(uint8_t v) { return uint32_t{1} << (v < 31 ? v : 31); }
  void AddService(std::string_view service);

  uint64_t rows_ = 0;
  uint64_t min_start_ = UINT64_MAX;
  uint64_t max_start_ = 0;
  uint64_t min_duration_ = UINT64_MAX;
  uint64_t max_duration_ = 0;
  uint32_t status_mask_ = 0;
  uint32_t kind_mask_ = 0;
  std::vector<std::string> services_;
  // Where AddService last found or put a service (a cache, not part of the value).
  size_t last_service_ = SIZE_MAX;
};

}  // namespace spanstore

#endif  // SPANSTORE_INDEX_ZONE_MAP_H_
