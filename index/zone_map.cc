#include "index/zone_map.h"

#include <algorithm>

#include "util/coding.h"

namespace spanstore {

void ZoneMap::AddService(std::string_view service) {
  // Consecutive spans mostly share a service (a compaction adds a trace's spans in turn).
  if (last_service_ < services_.size() && services_[last_service_] == service) return;
  auto it = std::lower_bound(services_.begin(), services_.end(), service);
  last_service_ = static_cast<size_t>(it - services_.begin());
  if (it == services_.end() || *it != service) services_.insert(it, std::string(service));
}

void ZoneMap::Add(const Span& span) {
  ++rows_;
  min_start_ = std::min(min_start_, span.start_time_unix_nano);
  max_start_ = std::max(max_start_, span.start_time_unix_nano);
  const uint64_t duration = span.duration_nanos();
  min_duration_ = std::min(min_duration_, duration);
  max_duration_ = std::max(max_duration_, duration);
  status_mask_ |= Bit(static_cast<uint8_t>(span.status_code));
  kind_mask_ |= Bit(static_cast<uint8_t>(span.kind));
  AddService(span.service_name);
}

void ZoneMap::Merge(const ZoneMap& other) {
  if (other.rows_ == 0) return;
  rows_ += other.rows_;
  min_start_ = std::min(min_start_, other.min_start_);
  max_start_ = std::max(max_start_, other.max_start_);
  min_duration_ = std::min(min_duration_, other.min_duration_);
  max_duration_ = std::max(max_duration_, other.max_duration_);
  status_mask_ |= other.status_mask_;
  kind_mask_ |= other.kind_mask_;
  for (const std::string& s : other.services_) AddService(s);
}

bool ZoneMap::MayMatch(const SpanQuery& query) const {
  if (!MayMatchExceptServices(query)) return false;
  if (!query.services.empty() &&
      std::none_of(query.services.begin(), query.services.end(), [this](const std::string& s) {
        return std::binary_search(services_.begin(), services_.end(), s);
      })) {
    return false;
  }
  return true;
}

bool ZoneMap::MayMatchExceptServices(const SpanQuery& query) const {
  if (rows_ == 0) return false;
  if (max_start_ < query.start_min || min_start_ > query.start_max) return false;
  if (max_duration_ < query.min_duration_nanos || min_duration_ > query.max_duration_nanos) {
    return false;
  }
  if (query.status.has_value() && (status_mask_ & Bit(static_cast<uint8_t>(*query.status))) == 0) {
    return false;
  }
  if (!query.kinds.empty() &&
      std::none_of(query.kinds.begin(), query.kinds.end(), [this](SpanKind k) {
        return (kind_mask_ & Bit(static_cast<uint8_t>(k))) != 0;
      })) {
    return false;
  }
  return true;
}

void ZoneMap::Serialize(std::string* out) const {
  PutVarint64(out, min_start_);
  PutVarint64(out, max_start_);
  PutVarint64(out, min_duration_);
  PutVarint64(out, max_duration_);
  PutVarint64(out, status_mask_);
  PutVarint64(out, kind_mask_);
  PutVarint64(out, rows_);
  PutVarint64(out, services_.size());
  for (const std::string& s : services_) PutLengthPrefixed(out, s);
}

bool ZoneMap::Parse(std::string_view* in) {
  ZoneMap z;
  uint64_t status_mask = 0, kind_mask = 0, count = 0;
  if (!GetVarint64(in, &z.min_start_) || !GetVarint64(in, &z.max_start_) ||
      !GetVarint64(in, &z.min_duration_) || !GetVarint64(in, &z.max_duration_) ||
      !GetVarint64(in, &status_mask) || !GetVarint64(in, &kind_mask) ||
      !GetVarint64(in, &z.rows_) || !GetVarint64(in, &count)) {
    return false;
  }
  if (status_mask > UINT32_MAX || kind_mask > UINT32_MAX || count > in->size()) return false;
  z.status_mask_ = static_cast<uint32_t>(status_mask);
  z.kind_mask_ = static_cast<uint32_t>(kind_mask);
  z.services_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view s;
    if (!GetLengthPrefixed(in, &s)) return false;
    // Sorted and distinct, as Serialize wrote them; binary search in MayMatch relies on it.
    if (!z.services_.empty() && !(z.services_.back() < s)) return false;
    z.services_.emplace_back(s);
  }
  *this = std::move(z);
  return true;
}

void ZoneMap::SerializeCompact(uint64_t base,
                               const std::function<uint32_t(std::string_view)>& service_id,
                               std::string* out) const {
  PutVarint64(out, min_start_ - base);
  PutVarint64(out, max_start_ - min_start_);
  PutVarint64(out, min_duration_);
  PutVarint64(out, max_duration_ - min_duration_);
  PutVarint64(out, status_mask_);
  PutVarint64(out, kind_mask_);
  PutVarint64(out, rows_);
  std::vector<uint32_t> ids;
  ids.reserve(services_.size());
  for (const std::string& s : services_) ids.push_back(service_id(s));
  std::sort(ids.begin(), ids.end());
  PutVarint64(out, ids.size());
  for (uint32_t id : ids) PutVarint64(out, id);
}

bool ZoneMap::ParseCompact(std::string_view* in, uint64_t base, size_t service_count,
                           std::vector<uint32_t>* service_ids) {
  ZoneMap z;
  uint64_t min_start, start_range, duration_range, status_mask = 0, kind_mask = 0, count = 0;
  if (!GetVarint64(in, &min_start) || !GetVarint64(in, &start_range) ||
      !GetVarint64(in, &z.min_duration_) || !GetVarint64(in, &duration_range) ||
      !GetVarint64(in, &status_mask) || !GetVarint64(in, &kind_mask) ||
      !GetVarint64(in, &z.rows_) || !GetVarint64(in, &count)) {
    return false;
  }
  if (min_start > UINT64_MAX - base || start_range > UINT64_MAX - base - min_start ||
      duration_range > UINT64_MAX - z.min_duration_ || status_mask > UINT32_MAX ||
      kind_mask > UINT32_MAX || count > in->size() || count > service_count || z.rows_ == 0 ||
      count > z.rows_) {  // each service is some row's
    return false;
  }
  z.min_start_ = base + min_start;
  z.max_start_ = z.min_start_ + start_range;
  z.max_duration_ = z.min_duration_ + duration_range;
  z.status_mask_ = static_cast<uint32_t>(status_mask);
  z.kind_mask_ = static_cast<uint32_t>(kind_mask);
  service_ids->clear();
  service_ids->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id;
    if (!GetVarint64(in, &id) || id >= service_count ||
        (i > 0 && id <= service_ids->back())) {
      return false;
    }
    service_ids->push_back(static_cast<uint32_t>(id));
  }
  *this = std::move(z);
  return true;
}

bool ZoneMap::ParseCompact(std::string_view* in, uint64_t base,
                           const std::vector<std::string_view>& services) {
  ZoneMap z;
  std::vector<uint32_t> ids;
  if (!z.ParseCompact(in, base, services.size(), &ids)) return false;
  z.services_.reserve(ids.size());
  for (uint32_t id : ids) z.services_.emplace_back(services[id]);
  // Ids ascend, names need not: MayMatch's binary search wants the names sorted.
  std::sort(z.services_.begin(), z.services_.end());
  if (std::adjacent_find(z.services_.begin(), z.services_.end()) != z.services_.end()) {
    return false;  // a dictionary never holds a name twice; damage if it seems to
  }
  *this = std::move(z);
  return true;
}

}  // namespace spanstore
