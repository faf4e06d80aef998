#pragma once
/// proc_files: the one reader of /proc. Every process fact sf-actors uses (state, parent,
/// start time, environment, command name, working folder, our own program) comes from here.

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sf::io {

/// Reads /proc/<pid>/<name> whole (its size is reported as 0), up to `limit` bytes, never
/// through a link. not_found when the process is gone.
caf::expected<std::string> read_proc_file(int64_t pid, std::string_view name,
                                          std::size_t limit = 64 * 1024);

/// The parts of /proc/<pid>/stat we use.
struct proc_stat {
  char state = '?';        ///< Field 3: R, S, D, Z, X, ...
  int64_t ppid = 0;        ///< Field 4: the parent's pid.
  uint64_t start_time = 0; ///< Field 22, in clock ticks since boot.
};

/// Parses the text of /proc/<pid>/stat; the comm field may hold spaces and ')'.
caf::expected<proc_stat> parse_proc_stat(std::string_view text);

/// Reads and parses /proc/<pid>/stat.
caf::expected<proc_stat> read_proc_stat(int64_t pid);

/// True while `pid` runs: its stat reads and it is neither a zombie nor dying.
bool proc_alive(int64_t pid);

/// The current boot id (without the trailing newline).
caf::expected<std::string> read_boot_id();

/// Every KEY=VALUE of the environment the process started with; unavailable while the
/// process is still inside exec or a zombie (the kernel shows it empty then).
caf::expected<std::map<std::string, std::string>> read_environ(int64_t pid);

/// Value of `key` in /proc/<pid>/environ; not_found if absent, unavailable as `read_environ`.
caf::expected<std::string> read_environ_value(int64_t pid, const std::string& key);

/// `comm` of a process ("sleep"), empty when it is gone.
std::string read_comm(int64_t pid);

/// argv[0] of a process, empty when it is gone or has none.
std::string read_argv0(int64_t pid);

/// The folder a process works in, empty when it is gone or cannot be read.
std::string read_cwd(int64_t pid);

/// Pids of every process visible in /proc, ascending.
std::vector<int64_t> all_pids();

/// This program's path, empty if /proc cannot tell.
std::string self_exe();

} // namespace sf::io
