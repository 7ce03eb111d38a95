// Maps an errno from a failed file operation to an absl::Status per the table in
// include/spanstore/env.h, with the path and operation in the message.

#ifndef SPANSTORE_UTIL_IO_ERROR_H_
#define SPANSTORE_UTIL_IO_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace spanstore {

absl::Status IoError(int err, std::string_view operation, std::string_view path);

}  // namespace spanstore

#endif  // SPANSTORE_UTIL_IO_ERROR_H_
