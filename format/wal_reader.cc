#include "format/wal_reader.h"

#include <xxhash.h>

#include <cstring>

#include "absl/strings/str_cat.h"
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

bool WalReader::IsTornTail(uint64_t at) const {
  const std::string_view rest = contents_.substr(at);
  if (AllZero(rest)) return true;  // the file system extended the file; the data never came
  if (rest.size() < wal::kRecordHeaderSize) return true;
  const uint32_t length = DecodeFixed32(rest.data() + 8);
  if (length <= rest.size() - wal::kRecordHeaderSize) return false;  // complete: damaged
  // The record claims more bytes than the file holds. A writer that died mid-record leaves that;
  // so does a flipped bit in the length of a complete last record. The checksum tells them
  // apart: it verifies with the length that ends the record at the end of the file only if the
  // record is all there.
  std::string header(rest.data() + 8, 5);
  EncodeFixed32(header.data(), static_cast<uint32_t>(rest.size() - wal::kRecordHeaderSize));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, header.data(), header.size());
  XXH3_64bits_update(state, rest.data() + wal::kRecordHeaderSize,
                     rest.size() - wal::kRecordHeaderSize);
  const bool complete = XXH3_64bits_digest(state) == DecodeFixed64(rest.data());
  XXH3_freeState(state);
  return !complete;
}

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
    std::string problem;
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

    if (problem.empty()) {
      last_record_offset_ = pos_;
      pos_ += wal::kRecordHeaderSize + length;
      valid_end_ = pos_;
      if (record_type & wal::kSafeToIgnoreBit) continue;  // a newer writer's optional record
      *type = static_cast<wal::RecordType>(record_type);
      *payload = std::string_view(p + wal::kRecordHeaderSize, length);
      return true;
    }

    // A torn tail is what a writer that died mid-write leaves: the last record cut short by the
    // end of the file, or zeros where the file system extended it. Anything else is corruption
    // -- bytes changed after they were written whole -- wherever it is: damage followed by a
    // good record, and equally a complete last record whose checksum fails (acknowledged spans,
    // which a crash does not garble). The length field is not trusted for telling them apart:
    // the next good record is searched byte by byte, and a "cut short" record whose checksum
    // verifies with the length that would end it at the end of the file was complete and only
    // its length damaged.
    uint64_t next = NextVerifyingRecord(pos_ + 1);
    if (next == contents_.size()) {
      if (IsTornTail(pos_)) {
        torn_tail_ = true;
        return false;
      }
      problem = absl::StrCat(problem,
                             " in the last record, which is complete: damage, not a "
                             "torn write");
    }
    if (!salvage_) {
      status_ = absl::DataLossError(absl::StrFormat(
          "%s: offset %d: %s%s; open with RecoveryMode::kSalvage to skip damaged records", path_,
          pos_, problem,
          next == contents_.size()
              ? ""
              : absl::StrFormat(" (a good record follows at offset %d)", next)));
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
