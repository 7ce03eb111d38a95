// The span batch that a WAL record carries, whatever its record type: the payload itself for
// wal::kSpanBatch, the decompressed payload for wal::kSpanBatchLz4 (docs/wal_format.md). The
// reader of records (format/wal_reader.h) checks framing and checksums; this checks and unpacks
// what a verified record holds.
//
// Thread safety: a stateless function.

#ifndef SPANSTORE_FORMAT_WAL_RECORD_H_
#define SPANSTORE_FORMAT_WAL_RECORD_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "format/wal_format.h"

namespace spanstore {

// Sets *batch to the span batch of a record of `type` with `payload`: a view of `payload` for
// kSpanBatch, of *scratch (replaced) for kSpanBatchLz4, whose payload is a u32 LE uncompressed
// size and an LZ4 block. DataLoss when an LZ4 record's size is out of bounds (checked before
// anything is allocated: at most wal::kMaxPayloadSize) or its block does not decompress to
// exactly that size, and InvalidArgument for a type that carries no span batch.
absl::Status SpanBatchOfRecord(wal::RecordType type, std::string_view payload, std::string* scratch,
                               std::string_view* batch);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_WAL_RECORD_H_
