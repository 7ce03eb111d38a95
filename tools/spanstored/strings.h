// Debian's Abseil is built with its own string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0), which
// does not convert from std::string_view; the public API speaks std::string_view. This is the
// daemon's bridge (the library has its own in engine/, which the daemon does not include).

#ifndef SPANSTORE_TOOLS_SPANSTORED_STRINGS_H_
#define SPANSTORE_TOOLS_SPANSTORED_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace spanstore::spanstored {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_STRINGS_H_
