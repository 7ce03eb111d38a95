// Debian's Abseil (20220623) is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own class and does not convert from std::string_view. Our public
// API speaks std::string_view (README, "Design notes"); these two adapters are the only bridge,
// used where we call an Abseil string function.

#ifndef SPANSTORE_UTIL_ABSL_COMPAT_H_
#define SPANSTORE_UTIL_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace spanstore {

inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace spanstore

#endif  // SPANSTORE_UTIL_ABSL_COMPAT_H_
