// Appends framed records to one WAL segment file.
//
// Group commit splits the work so the expensive parts run in parallel: each appender frames its
// own record (FrameRecord: checksum over its payload) on its own thread; the group leader then
// hands all framed bytes to AppendFramed, one Flush (one write(2)) and at most one Sync.
//
// Thread safety: a WalWriter is not thread-safe; the store serialises access (the leader).

#ifndef SPANSTORE_FORMAT_WAL_WRITER_H_
#define SPANSTORE_FORMAT_WAL_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "format/wal_format.h"
#include "spanstore/env.h"

namespace spanstore {

// Appends the framed record (header + payload) to *out. REQUIRES: payload.size() <=
// wal::kMaxPayloadSize.
void FrameRecord(wal::RecordType type, std::string_view payload, std::string* out);

// For callers that build the payload in place: `record` holds wal::kRecordHeaderSize bytes of
// room followed by the payload; fills in the header (length, type, checksum).
void SealFramedRecord(wal::RecordType type, std::string* record);

class WalWriter {
 public:
  // Creates the segment file `path` (which must not hold data) and writes its file header.
  static absl::StatusOr<std::unique_ptr<WalWriter>> Create(Env* env, const std::string& path);

  // Appends bytes produced by FrameRecord (one or more whole records) to the file buffer.
  absl::Status AppendFramed(std::string_view framed);
  // Frames and appends one record.
  absl::Status AddRecord(wal::RecordType type, std::string_view payload);
  // Hands buffered bytes to the OS (write(2)).
  absl::Status Flush();
  // fdatasync. After a failure the caller must assume every unsynced byte is lost.
  absl::Status Sync();
  // After a failed append or flush: cuts the file back to `size` (a record boundary the caller
  // remembered from size()), so a partial record never precedes later good ones.
  absl::Status Truncate(uint64_t size);
  absl::Status Close();

  // Bytes in the segment, including the file header and anything not yet flushed.
  uint64_t size() const;
  const std::string& path() const { return path_; }

 private:
  WalWriter(std::unique_ptr<WritableFile> file, std::string path);
  std::unique_ptr<WritableFile> file_;
  std::string path_;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_WAL_WRITER_H_
