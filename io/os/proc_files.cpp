#include "io/os/proc_files.hpp"

#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

namespace sf::io {

namespace {

std::string proc_path(int64_t pid, std::string_view name) {
  return "/proc/" + std::to_string(pid) + "/" + std::string(name);
}

// Reads a whole file up to `limit` bytes: /proc files report size 0, so no fstat.
caf::expected<std::string> read_whole(const std::string& path, std::size_t limit) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (!fd) {
    int err = errno;
    return make_error(err == ENOENT || err == ESRCH ? ec::not_found : ec::io_error,
                      "cannot open " + path + ": " + errno_text(err));
  }
  std::string out;
  char buf[8192];
  while (out.size() < limit) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, limit - out.size()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      // A process that exits while we read its /proc entry yields ESRCH.
      return make_error(err == ESRCH ? ec::not_found : ec::io_error,
                        "cannot read " + path + ": " + errno_text(err));
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), out);
  return err == std::errc{} && ptr == s.data() + s.size();
}

} // namespace

caf::expected<std::string> read_proc_file(int64_t pid, std::string_view name, std::size_t limit) {
  if (pid <= 0)
    return make_error(ec::not_found, "no process with pid " + std::to_string(pid));
  return read_whole(proc_path(pid, name), limit);
}

caf::expected<proc_stat> parse_proc_stat(std::string_view text) {
  // The comm field is "(name)" where name may contain anything, ')' included, so the
  // fixed-format fields only start after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string_view::npos)
    return make_error(ec::invalid_input, "malformed /proc stat line: no ')' after comm");
  std::vector<std::string_view> fields;
  std::size_t i = close + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n'))
      ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n')
      ++i;
    if (i > start)
      fields.push_back(text.substr(start, i - start));
  }
  // fields[0] is field 3 (state), so field 4 (ppid) is fields[1], 22 (starttime) fields[19].
  if (fields.size() < 20 || fields[0].size() != 1)
    return make_error(ec::invalid_input, "malformed /proc stat line: only " +
                                             std::to_string(fields.size()) +
                                             " fields after comm, need at least 20");
  proc_stat out;
  out.state = fields[0][0];
  if (!parse_number(fields[1], out.ppid))
    return make_error(ec::invalid_input, "malformed /proc stat line: parent pid '" +
                                             std::string(fields[1]) + "' is not a number");
  if (!parse_number(fields[19], out.start_time))
    return make_error(ec::invalid_input, "malformed /proc stat line: start time '" +
                                             std::string(fields[19]) + "' is not a number");
  return out;
}

caf::expected<proc_stat> read_proc_stat(int64_t pid) {
  auto text = read_proc_file(pid, "stat", 4096);
  if (!text)
    return text.error();
  return parse_proc_stat(*text);
}

bool proc_alive(int64_t pid) {
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
}

caf::expected<std::string> read_boot_id() {
  auto text = read_whole("/proc/sys/kernel/random/boot_id", 256);
  if (!text)
    return text.error();
  while (!text->empty() && (text->back() == '\n' || text->back() == ' '))
    text->pop_back();
  if (text->empty())
    return make_error(ec::io_error, "/proc/sys/kernel/random/boot_id is empty");
  return *text;
}

caf::expected<std::map<std::string, std::string>> read_environ(int64_t pid) {
  auto text = read_proc_file(pid, "environ", 4 * 1024 * 1024);
  if (!text)
    return text.error();
  // The kernel fills environ only late in exec (after posix_spawn already returned) and
  // empties it for zombies: an empty read means "not known", not "nothing set".
  if (text->empty())
    return make_error(ec::unavailable, "environment of process " + std::to_string(pid) +
                                           " is not readable yet (still starting, or exited)");
  std::map<std::string, std::string> env;
  std::size_t start = 0;
  while (start < text->size()) {
    auto end = text->find('\0', start);
    if (end == std::string::npos)
      end = text->size();
    std::string_view entry(text->data() + start, end - start);
    auto eq = entry.find('=');
    // The first value of a key is the one getenv sees.
    if (eq != std::string_view::npos)
      env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    start = end + 1;
  }
  return env;
}

caf::expected<std::string> read_environ_value(int64_t pid, const std::string& key) {
  auto env = read_environ(pid);
  if (!env)
    return env.error();
  auto it = env->find(key);
  if (it == env->end())
    return make_error(ec::not_found,
                      "variable " + key + " not set in " + proc_path(pid, "environ"));
  return it->second;
}

std::string read_comm(int64_t pid) {
  auto text = read_proc_file(pid, "comm", 64);
  if (!text)
    return {};
  while (!text->empty() && text->back() == '\n')
    text->pop_back();
  return *text;
}

std::string read_argv0(int64_t pid) {
  auto text = read_proc_file(pid, "cmdline", 4096);
  if (!text)
    return {};
  return text->substr(0, text->find('\0'));
}

std::string read_cwd(int64_t pid) {
  if (pid <= 0)
    return {};
  std::error_code ec_;
  auto cwd = std::filesystem::read_symlink(proc_path(pid, "cwd"), ec_);
  return ec_ ? std::string() : cwd.string();
}

std::vector<int64_t> all_pids() {
  std::vector<int64_t> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr)
    return pids;
  while (auto* e = ::readdir(d)) {
    int64_t pid = 0;
    if (parse_number(std::string_view(e->d_name), pid) && pid > 0)
      pids.push_back(pid);
  }
  ::closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string self_exe() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

} // namespace sf::io
