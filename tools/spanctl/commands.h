// The spanctl subcommands. Each takes the arguments after its name and returns the exit code:
//   0 success; 1 the operation failed (I/O error, damage found, trace not found);
//   2 usage error (unknown flag, missing or malformed argument).

#ifndef SPANSTORE_TOOLS_SPANCTL_COMMANDS_H_
#define SPANSTORE_TOOLS_SPANCTL_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/spanstore.h"
#include "tools/spanctl/flags.h"

namespace spanstore::spanctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Command {
  CommandSpec spec;
  int (*run)(const ParsedFlags& flags);
};

// Every subcommand, in the order `spanctl --help` lists them.
const std::vector<Command>& Commands();

// Shared helpers.
FlagSpec DbFlag();
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const ParsedFlags& flags, Options options = {});
// For commands that only read: read-only (nothing is created, replayed durably, deleted or
// compacted, so it works on read-only media) and never creates a store for a mistyped --db.
absl::StatusOr<std::unique_ptr<Store>> OpenStoreForReading(const ParsedFlags& flags);
// --salvage for read commands (OpenStoreForReading honours it where it is declared).
FlagSpec SalvageFlag();
// Prints the error; returns 2 (usage) for InvalidArgument -- a bad flag, filter or argument --
// and 1 otherwise.
int Fail(const std::string& command, const absl::Status& status);
// Prints the error; returns 1 whatever the code (the store refused data, I/O failed, ...).
int FailOperation(const std::string& command, const absl::Status& status);
bool StderrIsTerminal();
bool StdoutIsTerminal();
// A progress line on stderr (only on a terminal), redrawn in place.
void Progress(const std::string& what, uint64_t done, uint64_t total);
void ProgressDone();

// The command tables of each file.
std::vector<Command> WriteCommands();  // gen, compact, bench
std::vector<Command> ReadCommands();   // trace, query, search, services, stats, verify
Command VerifyCommand();               // tools/spanctl/verify.cc
std::vector<Command> AnalysisCommands();  // graph, red, doctor, critical-path
Command RepairCommand();                  // tools/spanctl/repair.cc

}  // namespace spanstore::spanctl

#endif  // SPANSTORE_TOOLS_SPANCTL_COMMANDS_H_
