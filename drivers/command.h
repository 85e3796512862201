#pragma once

// Runs the iproute2 and ethtool programs that set paths up: fork + exec of an argument
// vector (never a shell), optionally inside a network namespace (the child setns()es
// before exec), with stdout and stderr captured. A failure names the command and quotes
// what the program printed, so that a set-up error says what failed and why.

#include <string>
#include <vector>

#include "stack/result.h"

namespace zcb {

struct CommandOutput {
  int exit_code = 0;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `argv` (argv[0] is looked up in the sbin and bin directories, then PATH) inside
// the network namespace open at `netns_fd` (-1: the caller's). Returns an error only
// when the program could not be started or was killed; a non-zero exit is returned.
Result<CommandOutput> RunCommandStatus(const std::vector<std::string>& argv, int netns_fd = -1);

// Like RunCommandStatus, but a non-zero exit is an error quoting the program's stderr.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, int netns_fd = -1);

// The program `name` as RunCommand finds it (the sbin and bin directories, then PATH),
// as an absolute path; an error names the Debian package that has it.
Result<std::string> ResolveProgram(const std::string& name);

// "ip link add ..." for messages.
std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace zcb
