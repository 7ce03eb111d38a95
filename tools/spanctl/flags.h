// A small GNU-style flag parser for spanctl: `--name value`, `--name=value`, boolean `--name`,
// `-h`/`--help`, `--` ends flags. Each subcommand declares its flags; anything else is a usage
// error that names the flag and the subcommand.

#ifndef SPANSTORE_TOOLS_SPANCTL_FLAGS_H_
#define SPANSTORE_TOOLS_SPANCTL_FLAGS_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spanstore::spanctl {

struct FlagSpec {
  std::string name;       // without dashes
  std::string value_name; // empty for a boolean flag
  std::string default_value;
  std::string help;
};

struct CommandSpec {
  std::string name;
  std::string synopsis;  // e.g. "trace <trace-id|traceparent>"
  std::string summary;   // one line
  std::string details;   // paragraphs for --help
  std::vector<FlagSpec> flags;
  size_t min_args = 0;
  size_t max_args = 0;  // SIZE_MAX: any number
};

class ParsedFlags {
 public:
  bool help = false;
  std::vector<std::string> args;

  bool Has(const std::string& name) const;
  std::string Get(const std::string& name) const;  // value or the declared default
  bool GetBool(const std::string& name) const;
  // The value as a whole number in [min, max]; anything else (garbage, a fraction, out of
  // range) is a usage error naming the flag and the range.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t min, int64_t max) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double min, double max) const;

 private:
  friend absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec&, int, char**);
  const CommandSpec* spec_ = nullptr;
  std::map<std::string, std::string> values_;
};

// Parses argv[first..argc). Errors (InvalidArgument) read like
// "unknown flag --foo (see 'spanctl query --help')".
absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec& spec, int argc, char** argv);

// The --help text of a command.
std::string Usage(const CommandSpec& spec);

}  // namespace spanstore::spanctl

#endif  // SPANSTORE_TOOLS_SPANCTL_FLAGS_H_
