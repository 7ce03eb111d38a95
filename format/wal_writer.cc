#include "format/wal_writer.h"

#include <xxhash.h>

#include <cstring>

#include "util/coding.h"

namespace spanstore {

void FrameRecord(wal::RecordType type, std::string_view payload, std::string* out) {
  const size_t at = out->size();
  out->resize(at + wal::kRecordHeaderSize);
  char* h = out->data() + at;
  EncodeFixed32(h + 8, static_cast<uint32_t>(payload.size()));
  h[12] = static_cast<char>(type);
  out->append(payload.data(), payload.size());
  // The checksum covers length, type and payload, which are contiguous in *out.
  h = out->data() + at;
  EncodeFixed64(h, XXH3_64bits(h + 8, 5 + payload.size()));
}

void SealFramedRecord(wal::RecordType type, std::string* record) {
  char* h = record->data();
  const size_t payload = record->size() - wal::kRecordHeaderSize;
  EncodeFixed32(h + 8, static_cast<uint32_t>(payload));
  h[12] = static_cast<char>(type);
  EncodeFixed64(h, XXH3_64bits(h + 8, 5 + payload));
}

absl::StatusOr<std::unique_ptr<WalWriter>> WalWriter::Create(Env* env, const std::string& path) {
  auto file = env->NewWritableFile(path);
  if (!file.ok()) return file.status();
  std::string header(wal::kMagic, sizeof(wal::kMagic));
  PutFixed32(&header, wal::kFormatVersion);
  PutFixed32(&header, 0);
  absl::Status s = (*file)->Append(header);
  if (!s.ok()) return s;
  return std::unique_ptr<WalWriter>(new WalWriter(std::move(*file), path));
}

WalWriter::WalWriter(std::unique_ptr<WritableFile> file, std::string path)
    : file_(std::move(file)), path_(std::move(path)) {}

absl::Status WalWriter::AppendFramed(std::string_view framed) { return file_->Append(framed); }

absl::Status WalWriter::AddRecord(wal::RecordType type, std::string_view payload) {
  std::string framed;
  FrameRecord(type, payload, &framed);
  return file_->Append(framed);
}

absl::Status WalWriter::Flush() { return file_->Flush(); }
absl::Status WalWriter::Sync() { return file_->Sync(); }
absl::Status WalWriter::Truncate(uint64_t size) { return file_->Truncate(size); }
absl::Status WalWriter::Close() { return file_->Close(); }
uint64_t WalWriter::size() const { return file_->Size(); }

}  // namespace spanstore
