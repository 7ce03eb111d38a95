#include "format/wal_reader.h"

#include <xxhash.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "util/coding.h"

namespace spanstore {
namespace {

bool AllZero(std::string_view s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

bool KnownType(uint8_t type) {
  return type == wal::kSpanBatch || type == wal::kSpanBatchLz4 ||
         (type & wal::kSafeToIgnoreBit) != 0;
}

}  // namespace

uint64_t WalReader::NextVerifyingRecord(uint64_t from) const {
  for (uint64_t at = from; at + wal::kRecordHeaderSize <= contents_.size(); ++at) {
    const char* q = contents_.data() + at;
    const uint32_t len = DecodeFixed32(q + 8);
    if (len > contents_.size() - at - wal::kRecordHeaderSize) continue;
    if (!KnownType(static_cast<uint8_t>(q[12]))) continue;
    if (DecodeFixed64(q) == XXH3_64bits(q + 8, 5 + len)) return at;
  }
  return contents_.size();
}

WalReader::WalReader(std::string_view contents, std::string path, bool salvage,
                     Reporter* reporter)
    : contents_(contents), path_(std::move(path)), salvage_(salvage), reporter_(reporter) {}

bool WalReader::ReadRecord(wal::RecordType* type, std::string_view* payload) {
  if (!status_.ok() || torn_tail_) return false;
  if (!header_checked_) {
    header_checked_ = true;
    if (contents_.size() < wal::kFileHeaderSize) {
      // A segment that died before its header was complete holds nothing.
      if (AllZero(contents_) ||
          std::memcmp(contents_.data(), wal::kMagic,
                      std::min(contents_.size(), sizeof(wal::kMagic))) == 0) {
        torn_tail_ = !contents_.empty();
        valid_end_ = 0;
        return false;
      }
    }
    if (contents_.size() < wal::kFileHeaderSize ||
        std::memcmp(contents_.data(), wal::kMagic, sizeof(wal::kMagic)) != 0) {
      status_ = absl::DataLossError(
          absl::StrFormat("%s: offset 0: not a spanstore WAL segment (bad magic)", path_));
      return false;
    }
    const uint32_t version = DecodeFixed32(contents_.data() + 8);
    if (version > wal::kFormatVersion) {
      status_ = absl::FailedPreconditionError(absl::StrFormat(
          "%s: WAL format version %d is newer than this build supports (%d); upgrade spanstore",
          path_, version, wal::kFormatVersion));
      return false;
    }
    pos_ = valid_end_ = wal::kFileHeaderSize;
  }

  while (pos_ < contents_.size()) {
    const uint64_t left = contents_.size() - pos_;
    const char* p = contents_.data() + pos_;
    const char* problem = nullptr;
    uint32_t length = 0;
    uint8_t record_type = 0;
    if (left < wal::kRecordHeaderSize) {
      problem = "record header cut short by the end of the file";
    } else {
      length = DecodeFixed32(p + 8);
      record_type = static_cast<uint8_t>(p[12]);
      if (length > wal::kMaxPayloadSize) {
        problem = "record length exceeds the maximum";
      } else if (length > left - wal::kRecordHeaderSize) {
        problem = "record runs past the end of the file";
      } else if (DecodeFixed64(p) != XXH3_64bits(p + 8, 5 + length)) {
        problem = "checksum mismatch";
      } else if (!KnownType(record_type)) {
        problem = "unknown record type";
      }
    }

    if (problem == nullptr) {
      last_record_offset_ = pos_;
      pos_ += wal::kRecordHeaderSize + length;
      valid_end_ = pos_;
      if (record_type & wal::kSafeToIgnoreBit) continue;  // a newer writer's optional record
      *type = static_cast<wal::RecordType>(record_type);
      *payload = std::string_view(p + wal::kRecordHeaderSize, length);
      return true;
    }

    // Damage after which no record verifies is a torn tail: the writer died mid-write (the rest
    // may be missing, zeros, or a partial record). Damage followed by a good record is
    // corruption: something changed bytes that were once written whole. The length field is not
    // trusted for this; we search byte by byte.
    const uint64_t next = NextVerifyingRecord(pos_ + 1);
    if (next == contents_.size()) {
      torn_tail_ = true;
      return false;
    }
    if (!salvage_) {
      status_ = absl::DataLossError(absl::StrFormat(
          "%s: offset %d: %s (a good record follows at offset %d); open with "
          "RecoveryMode::kSalvage to skip damaged records",
          path_, pos_, problem, next));
      return false;
    }
    ++corrupt_records_;
    corrupt_bytes_ += next - pos_;
    if (reporter_ != nullptr) {
      reporter_->Corruption(
          pos_, next - pos_,
          absl::DataLossError(absl::StrFormat("%s: offset %d: %s", path_, pos_, problem)));
    }
    pos_ = next;
    valid_end_ = pos_;
  }
  return false;
}

}  // namespace spanstore
