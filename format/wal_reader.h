// Reads the records of one WAL segment, telling torn tails from corruption.
//
// The reader reports, the caller decides (LevelDB's log::Reader). A *torn tail* is what a writer
// that died mid-write leaves: the last record cut short by the end of the file (its header or
// its payload), or zeros to the end of the file. Every other damage is *corruption*: damage
// followed by a record that verifies, and equally a complete last record whose checksum fails
// (a crash cuts records short; it does not garble complete ones, which were acknowledged). With
// salvage off the reader stops at corruption and status() names the segment and offset; with
// salvage on it reports the damage to the Reporter, scans forward for the next record whose
// checksum verifies, and continues. After a checksum mismatch the length field is distrusted (a
// last record whose length runs past the end of the file but whose checksum verifies with the
// length that would end it there is complete, its length damaged). A length above
// wal::kMaxPayloadSize is rejected before any allocation.
//
// Thread safety: not thread-safe.

#ifndef SPANSTORE_FORMAT_WAL_READER_H_
#define SPANSTORE_FORMAT_WAL_READER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "format/wal_format.h"

namespace spanstore {

class WalReader {
 public:
  class Reporter {
   public:
    virtual ~Reporter() = default;
    // `bytes` starting at `offset` were skipped because of `reason` (salvage mode only).
    virtual void Corruption(uint64_t offset, uint64_t bytes, const absl::Status& reason) = 0;
  };

  // `contents` is the whole segment file; it must outlive the reader. `path` is used in
  // messages. `reporter` may be null.
  WalReader(std::string_view contents, std::string path, bool salvage, Reporter* reporter);

  // Returns true with the next good record (payload points into `contents`), false at the end,
  // at a torn tail, or at corruption not skipped (then status() is DataLoss).
  bool ReadRecord(wal::RecordType* type, std::string_view* payload);

  // OK, or DataLoss "<path>: offset N: <what was wrong>" for corruption that stopped the reader
  // (including a bad file header).
  const absl::Status& status() const { return status_; }
  // Offset of the record ReadRecord returned last.
  uint64_t last_record_offset() const { return last_record_offset_; }
  // End of the last good record: the size to truncate a torn segment to.
  uint64_t valid_end() const { return valid_end_; }
  // Set when reading stopped at a torn tail; torn_bytes() = contents.size() - valid_end().
  bool torn_tail() const { return torn_tail_; }
  uint64_t torn_bytes() const { return torn_tail_ ? contents_.size() - valid_end_ : 0; }
  // Counts of damage skipped in salvage mode.
  uint64_t corrupt_records() const { return corrupt_records_; }
  uint64_t corrupt_bytes() const { return corrupt_bytes_; }

 private:
  // Offset of the first record at or after `from` whose checksum verifies, or contents.size().
  uint64_t NextVerifyingRecord(uint64_t from) const;
  // Whether the damaged record at `at`, after which no record verifies, is a torn write (cut
  // short, or zeros to the end) rather than a complete record that was damaged.
  bool IsTornTail(uint64_t at) const;

  std::string_view contents_;
  std::string path_;
  bool salvage_;
  Reporter* reporter_;
  uint64_t pos_ = 0;
  uint64_t last_record_offset_ = 0;
  uint64_t valid_end_ = 0;
  bool torn_tail_ = false;
  bool header_checked_ = false;
  uint64_t corrupt_records_ = 0;
  uint64_t corrupt_bytes_ = 0;
  absl::Status status_;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_WAL_READER_H_
