#include "check_worker/conformance_sandbox.hpp"

#include "config/escape.hpp"
#include "core/sf_paths.hpp"
#include "io/files/gitignore.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/git/git.hpp"
#include "io/git/worktree.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"
#include "worker/git_commit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace sf::worker {

namespace {

std::string seconds(std::chrono::milliseconds d) {
  std::ostringstream out;
  out << static_cast<double>(d.count()) / 1000.0;
  return out.str();
}

caf::error write_new_file(const std::string& path, const std::string& text) {
  std::error_code err;
  fs::create_directories(fs::path(path).parent_path(), err);
  if (err)
    return make_error(ec::io_error, "cannot create the folder of " + path + ": " + err.message());
  auto dir = fs::path(path).parent_path().string();
  return io::write_file_atomic(dir, fs::path(path).filename().string(), text, 0644);
}

// Each unit waits for its gate, so the checker decides when a unit ends; the short poll
// lives in the unit (the worker's child), never in the checker.
std::string milestone_text(const std::string& gates) {
  std::ostringstream out;
  out << "---\ntitle: Worker conformance check\nstatus: pending\ndependsOn: []\nslices:\n"
         "  - id: S01\n    title: Gated units\n    units:\n";
  for (std::size_t n = 1; n <= conformance_sandbox::unit_count; ++n) {
    auto name = unit_name(n);
    auto gate = sh_quote(gates + "/" + name);
    auto run = "while [ ! -e " + gate + " ]; do sleep 0.05; done; echo " + name + " >> units.txt";
    out << "      - id: " << name << "\n        title: Gated unit " << name
        << "\n        run: " << yaml_quote(run) << "\n        files: [units.txt]\n";
  }
  out << "---\n\nCreated by `sf-actors check-worker`; removed when the check ends.\n";
  return out.str();
}

caf::error init_repository(const std::string& root) {
  io::git_init_once();
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_MKPATH;
  opts.initial_head = "main";
  git_repository* raw = nullptr;
  if (git_repository_init_ext(&raw, root.c_str(), &opts) != 0)
    return io::git_fail("creating a repository", root);
  io::repo_ptr repo{raw};
  return {};
}

} // namespace

std::string unit_name(std::size_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U%02zu", n);
  return buf;
}

conformance_sandbox::conformance_sandbox(std::string base) : base_(std::move(base)) {
  root_ = base_ + "/project";
  gates_ = base_ + "/gates";
}

conformance_sandbox::conformance_sandbox(conformance_sandbox&& other) noexcept
    : base_(std::exchange(other.base_, std::string{})), root_(std::move(other.root_)),
      gates_(std::move(other.gates_)), worktree_(std::move(other.worktree_)) {}

conformance_sandbox::~conformance_sandbox() {
  if (base_.empty())
    return;
  std::error_code ignored;
  fs::remove_all(base_, ignored);
}

caf::expected<conformance_sandbox>
conformance_sandbox::create(std::chrono::milliseconds heartbeat,
                            std::chrono::milliseconds stop_grace) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/sf-check-worker-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    return make_error(ec::io_error, "cannot create a temporary folder " + pattern + ": " +
                                        io::errno_text(errno) +
                                        "; set TMPDIR to a writable folder");
  std::error_code err;
  auto base = fs::canonical(buf.data(), err).string();
  if (err)
    base = buf.data();
  conformance_sandbox sb{base};
  fs::create_directories(sb.gates_, err);
  if (err)
    return make_error(ec::io_error, "cannot create " + sb.gates_ + ": " + err.message());
  if (auto e = init_repository(sb.root_))
    return e;
  // The worker's heartbeat must stay below stale_timeout, which preferences validate.
  auto stale = std::max<std::chrono::milliseconds>(std::chrono::seconds(30), heartbeat * 4);
  std::string prefs =
      "---\nparallel:\n  enabled: true\n  heartbeat_interval: " + seconds(heartbeat) +
      "\n  stale_timeout: " + seconds(stale) + "\n  stop_grace: " + seconds(stop_grace) + "\n---\n";
  if (auto e = write_new_file(core::preferences_file(sb.root_), prefs))
    return e;
  if (auto e = write_new_file(core::milestone_file(sb.root_, milestone), milestone_text(sb.gates_)))
    return e;
  if (auto ignored = io::ensure_runtime_ignored(sb.root_); !ignored)
    return ignored.error();
  if (auto commit = commit_all(sb.root_, "Plan for the worker conformance check"); !commit)
    return commit.error();
  if (auto dir = io::ensure_parallel_dir(sb.root_); !dir)
    return dir.error();
  auto wt = io::ensure_worktree(sb.root_, milestone);
  if (!wt)
    return wt.error();
  sb.worktree_ = wt->path;
  return sb;
}

void conformance_sandbox::open_gate(std::size_t n) const {
  if (n < 1 || n > unit_count)
    return;
  // The worker under test can write in the sandbox: a link or FIFO it planted is never
  // followed or blocked on (the gate then stays shut and the check fails on its timeout).
  (void) io::open_regular(gates_ + "/" + unit_name(n), O_WRONLY | O_CREAT, 0644);
}

void conformance_sandbox::open_all_gates() const {
  for (std::size_t n = 1; n <= unit_count; ++n)
    open_gate(n);
}

void conformance_sandbox::clear_runtime_files() const {
  ::unlink(io::status_path(root_, milestone).c_str());
  ::unlink(io::signal_path(root_, milestone).c_str());
}

} // namespace sf::worker
