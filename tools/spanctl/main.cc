// spanctl: load, query, inspect, verify and benchmark a spanstore store.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "tools/spanctl/commands.h"

namespace spanstore::spanctl {
namespace {

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: spanctl <command> [--db DIR] [flags]\n\n"
               "A command-line tool for spanstore, an embeddable storage engine for trace spans.\n\n"
               "commands:\n");
  int width = 0;  // the longest command name, so the summaries line up
  for (const Command& c : Commands()) width = std::max(width, static_cast<int>(c.spec.name.size()));
  for (const Command& c : Commands()) {
    std::fprintf(out, "  %-*s %s\n", width, c.spec.name.c_str(), c.spec.summary.c_str());
  }
  std::fprintf(out,
               "\n'spanctl <command> --help' describes a command's flags.\n"
               "exit codes: 0 success, 1 the operation failed (I/O error, damage, not found),\n"
               "2 usage error.\n");
}

}  // namespace
}  // namespace spanstore::spanctl

int main(int argc, char** argv) {
  using namespace spanstore::spanctl;
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (c.spec.name != name) continue;
    auto flags = ParseFlags(c.spec, argc - 2, argv + 2);
    if (!flags.ok()) {
      std::fprintf(stderr, "spanctl %s: %s\n", name.c_str(),
                   std::string(flags.status().message()).c_str());
      return kExitUsage;
    }
    if (flags->help) {
      std::fputs(Usage(c.spec).c_str(), stdout);
      return kExitOk;
    }
    return c.run(*flags);
  }
  std::fprintf(stderr, "spanctl: unknown command '%s' (see 'spanctl --help')\n", name.c_str());
  return kExitUsage;
}
