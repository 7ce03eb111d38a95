// SpanBatchOfRecord (wal_record.h): the span batch of a kSpanBatch or kSpanBatchLz4 record.

#include "format/wal_record.h"

#include <lz4.h>

#include "absl/strings/str_format.h"
#include "util/coding.h"

namespace spanstore {

absl::Status SpanBatchOfRecord(wal::RecordType type, std::string_view payload, std::string* scratch,
                               std::string_view* batch) {
  switch (type) {
    case wal::kSpanBatch:
      *batch = payload;
      return absl::OkStatus();
    case wal::kSpanBatchLz4: {
      // The size is bounded before anything is allocated.
      const uint32_t size = payload.size() >= 4 ? DecodeFixed32(payload.data()) : UINT32_MAX;
      if (size > wal::kMaxPayloadSize) return absl::DataLossError("bad LZ4 record size");
      scratch->resize(size);
      const int n =
          LZ4_decompress_safe(payload.data() + 4, scratch->data(),
                              static_cast<int>(payload.size() - 4), static_cast<int>(size));
      if (n != static_cast<int>(size)) return absl::DataLossError("LZ4 record does not decompress");
      *batch = *scratch;
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("WAL record type %d carries no span batch", static_cast<int>(type)));
  }
}

}  // namespace spanstore
