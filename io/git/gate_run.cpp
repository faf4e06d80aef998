#include "io/git/gate_run.hpp"

#include "core/sf_paths.hpp"
#include "io/files/gate_record.hpp"
#include "io/git/gate_worktree.hpp"
#include "io/os/safe_file.hpp"
#include "io/os/worker_launch.hpp"
#include "io/os/write_all.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <poll.h>

namespace sf::io {

namespace {

std::string joined(const std::vector<std::string>& ids, const char* sep) {
  std::string out;
  for (const auto& id : ids)
    out += (out.empty() ? "" : sep) + id;
  return out;
}

} // namespace

caf::expected<gate_run> gate_run::start(const gate_request& req) {
  // The worktree's checkout may take long on a big tree; the gate's own timeout bounds it too.
  if (auto err = prepare_gate_worktree(req.root, req.commit, req.timeout))
    return err;
  auto log = core::gate_log(req.root);
  if (req.relay.empty())
    (void) cap_log(log, gate_log_cap);
  uint64_t offset = 0;
  struct stat st;
  if (::lstat(log.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    offset = static_cast<uint64_t>(st.st_size);
  note_in_log(log, "gate: testing " + joined(req.milestones, ", ") + " merged at " +
                     req.commit.substr(0, 12) + " on " + req.base.substr(0, 12) + ": `" +
                     req.command + "`");
  spawn_request sr;
  sr.argv = {"/bin/sh", "-c", req.command};
  sr.cwd = core::gate_worktree_dir(req.root);
  sr.env = req.base_env;
  sr.env.push_back("SF_PROJECT_ROOT=" + req.root);
  sr.env.push_back("SF_GATE_WORKTREE=" + sr.cwd);
  sr.env.push_back("SF_GATE_COMMIT=" + req.commit);
  sr.env.push_back("SF_GATE_BASE=" + req.base);
  sr.env.push_back("SF_GATE_MILESTONES=" + joined(req.milestones, " "));
  sr.log_path = log;
  auto launched = spawn_relayed(std::move(sr), req.relay, gate_log_cap);
  if (!launched)
    return make_error(ec::process_error, "the merge gate `" + req.command +
                                           "` cannot start: " + describe(launched.error()) +
                                           "; check parallel.merge_gate");
  gate_record rec;
  rec.process.pid = launched->worker.pid();
  rec.process.start_time = launched->worker.start_time();
  if (auto id = read_identity(launched->worker.pid()))
    rec.process.boot_id = id->boot_id;
  rec.commit = req.commit;
  rec.milestones = req.milestones;
  // Without the record a crash could leave the command running unseen; it is not started then.
  auto proc = timed_process::adopt(std::move(launched->worker), req.timeout, req.grace);
  proc.end_group_at_exit();
  if (auto err = write_gate_record(req.root, rec))
    return make_error(ec::io_error, "the merge gate was not started: " + describe(err));
  gate_run run{req, std::move(proc), std::move(launched->relay)};
  run.log_offset_ = offset;
  return run;
}

gate_run::gate_run(gate_request req, timed_process proc, std::optional<child_process> relay)
  : req_(std::move(req)), proc_(std::move(proc)), relay_(std::move(relay)),
    started_(std::chrono::steady_clock::now()) {
}

gate_run::gate_run(gate_run&& other) noexcept
  : req_(std::move(other.req_)), proc_(std::move(other.proc_)), relay_(std::move(other.relay_)),
    started_(other.started_), log_offset_(other.log_offset_), ended_(other.ended_) {
  // A moved-from optional still holds a (moved-from) value: empty it, so that the old owner's
  // destructor neither waits for the relay nor removes the record of a command still running.
  other.proc_.reset();
  other.relay_.reset();
}

gate_run::~gate_run() {
  if (!proc_)
    return; // moved from
  proc_.reset(); // kills and reaps a command that still runs
  if (relay_) {
    // The relay ends once the command's group has closed the pipe.
    pollfd pfd{relay_->pidfd(), POLLIN, 0};
    (void) ::poll(&pfd, 1, 2000);
    int status = 0;
    (void) relay_->try_reap(status);
  }
  remove_gate_record(req_.root);
}

std::optional<timed_outcome> gate_run::poll() {
  auto out = proc_->wait_for(std::chrono::milliseconds(0));
  if (out && !ended_) {
    ended_ = true;
    remove_gate_record(req_.root);
    // The relay copies the last output once the command's group has closed the pipe, which is
    // at once: waited for (briefly), so that the log's tail read next holds the end.
    if (relay_) {
      pollfd pfd{relay_->pidfd(), POLLIN, 0};
      (void) ::poll(&pfd, 1, 2000);
      int status = 0;
      if (relay_->try_reap(status))
        relay_.reset();
    }
  }
  return out;
}

void gate_run::stop() {
  proc_->cut_deadline(timed_process::clock::now());
  (void) proc_->wait_for(std::chrono::milliseconds(0));
}

std::chrono::milliseconds gate_run::elapsed() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started_);
}

std::string gate_run::log_tail(std::size_t n) const {
  auto log = core::gate_log(req_.root);
  auto fd = open_regular(log, O_RDONLY);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0 || static_cast<uint64_t>(st.st_size) < log_offset_)
    return tail_lines(log, n); // rotated by the relay meanwhile: its last lines are this run's
  // Only what this run wrote (at most its last 64 KiB), so an older run's lines never show.
  auto size = static_cast<uint64_t>(st.st_size);
  auto from = std::max<uint64_t>(log_offset_, size > (64u << 10) ? size - (64u << 10) : 0);
  std::string text(size - from, '\0');
  auto got = ::pread(fd->get(), text.data(), text.size(), static_cast<off_t>(from));
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    auto end = nl == std::string::npos ? text.size() : nl;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (auto i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

std::string lines_on_one_line(const std::string& text) {
  std::string out, line;
  for (char c : text + "\n") {
    if (c != '\n') {
      line += c;
      continue;
    }
    if (!line.empty())
      out += (out.empty() ? "" : " | ") + line;
    line.clear();
  }
  return out;
}

caf::expected<gate_result> run_gate(const gate_request& req, int stop_fd) {
  auto run = gate_run::start(req);
  if (!run)
    return std::move(run.error());
  bool stopped = false;
  for (;;) {
    if (auto out = run->poll())
      return gate_result{*out, run->log_tail(gate_tail_lines)};
    pollfd fds[2] = {{run->pidfd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int n = stop_fd >= 0 && !stopped ? 2 : 1;
    // Wakes for the exit, the stop, or a signal deadline (polled every 100 ms).
    (void) ::poll(fds, static_cast<nfds_t>(n), 100);
    if (n == 2 && (fds[1].revents & POLLIN) != 0) {
      stopped = true;
      run->stop();
    }
  }
}

} // namespace sf::io
