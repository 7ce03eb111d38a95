#include "tools/spanctl/flags.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore::spanctl {
namespace {

const FlagSpec* Find(const CommandSpec& spec, const std::string& name) {
  for (const FlagSpec& f : spec.flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status UsageError(const CommandSpec& spec, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " (see 'spanctl ", spec.name, " --help')"));
}

}  // namespace

absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec& spec, int argc, char** argv) {
  ParsedFlags out;
  out.spec_ = &spec;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return UsageError(spec, absl::StrCat("unknown flag ", arg, "; flags are spelled --name"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* flag = Find(spec, name);
    if (flag == nullptr) return UsageError(spec, absl::StrCat("unknown flag --", name));
    if (flag->value_name.empty()) {
      if (has_value && value != "true" && value != "false") {
        return UsageError(spec, absl::StrCat("--", name, " takes no value"));
      }
      out.values_[name] = has_value ? value : "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return UsageError(spec, absl::StrCat("--", name, " needs a value (", flag->value_name, ")"));
      }
      value = argv[++i];
    }
    out.values_[name] = value;
  }
  if (!out.help) {
    if (out.args.size() < spec.min_args) {
      return UsageError(spec, absl::StrFormat("missing argument: usage: spanctl %s", spec.synopsis));
    }
    if (out.args.size() > spec.max_args) {
      return UsageError(spec, absl::StrFormat("unexpected argument '%s': usage: spanctl %s",
                                              out.args[spec.max_args], spec.synopsis));
    }
  }
  return out;
}

bool ParsedFlags::Has(const std::string& name) const { return values_.count(name) > 0; }

std::string ParsedFlags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const FlagSpec* f = Find(*spec_, name);
  return f != nullptr ? f->default_value : "";
}

bool ParsedFlags::GetBool(const std::string& name) const { return Get(name) == "true"; }

absl::StatusOr<int64_t> ParsedFlags::GetInt(const std::string& name, int64_t min,
                                            int64_t max) const {
  const std::string v = Get(name);
  int64_t out;
  if (!absl::SimpleAtoi(v, &out) || out < min || out > max) {
    return UsageError(*spec_, absl::StrCat("--", name, " must be a whole number from ", min, " to ",
                                           max, ", got '", v, "'"));
  }
  return out;
}

absl::StatusOr<double> ParsedFlags::GetDouble(const std::string& name, double min,
                                              double max) const {
  const std::string v = Get(name);
  double out;
  // SimpleAtod accepts "nan" and "inf"; the range test refuses them (NaN compares false).
  if (!absl::SimpleAtod(v, &out) || !(out >= min && out <= max)) {
    return UsageError(*spec_, absl::StrCat("--", name, " must be a number from ", min, " to ", max,
                                           ", got '", v, "'"));
  }
  return out;
}

std::string Usage(const CommandSpec& spec) {
  std::string out = absl::StrCat("usage: spanctl ", spec.synopsis, "\n\n", spec.summary, "\n");
  if (!spec.details.empty()) absl::StrAppend(&out, "\n", spec.details, "\n");
  absl::StrAppend(&out, "\nflags:\n");
  for (const FlagSpec& f : spec.flags) {
    std::string left = absl::StrCat("  --", f.name);
    if (!f.value_name.empty()) absl::StrAppend(&left, " ", f.value_name);
    std::string help = f.help;
    if (!f.default_value.empty() && !f.value_name.empty()) {
      absl::StrAppend(&help, " (default: ", f.default_value, ")");
    }
    absl::StrAppend(&out, absl::StrFormat("%-26s %s\n", left, help));
  }
  absl::StrAppend(&out, absl::StrFormat("%-26s %s\n", "  -h, --help", "show this help"));
  return out;
}

}  // namespace spanstore::spanctl
