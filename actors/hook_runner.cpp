#include "actors/hook_runner.hpp"

#include "core/sf_paths.hpp"
#include "io/files/event_log.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "io/os/unique_fd.hpp"
#include "io/os/write_all.hpp"
#include "messages/error.hpp"

#include <caf/actor_cast.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

extern char** environ;

namespace sf {

namespace {

using self_ptr = hook_runner_actor::stateful_pointer<hook_runner_state>;
using clock = io::timed_process::clock;
using std::chrono::milliseconds;
using io::errno_text;
using io::unique_fd;

// hooks.log and its rotated copy stay below this: it is for reading the last failures.
constexpr std::size_t hooks_log_cap = 1 << 20;
// How long one look at the running hook blocks before new events are read.
constexpr milliseconds tick_slice{100};
// Output lines of a failed hook quoted in coordinator.log.
constexpr std::size_t tail_lines_kept = 3;

std::string_view milestone_or_run(const pending_hook& p) {
  return p.ev.milestone.empty() ? std::string_view{"the run"} : std::string_view{p.ev.milestone};
}

milliseconds to_ms(double seconds) {
  return milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::size_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

// The last lines a hook wrote to hooks.log from `from` on, joined with " | ".
std::string output_tail(const std::string& path, std::size_t from) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (!fd)
    return {};
  auto end = file_size(path);
  if (end <= from)
    return {};
  std::size_t start = std::max(from, end > 2048 ? end - 2048 : std::size_t{0});
  std::string text(end - start, '\0');
  auto n = ::pread(fd.get(), text.data(), text.size(), static_cast<off_t>(start));
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  std::size_t cut = text.size(), lines = 0;
  while (cut > 0 && lines < tail_lines_kept)
    if (text[--cut] == '\n')
      ++lines;
  if (lines == tail_lines_kept)
    text.erase(0, cut + 1);
  std::string flat;
  for (char c : text)
    flat += c == '\n' ? std::string(" | ") : std::string(1, c);
  return flat;
}

// The event's line in a memory file: stdin that a hook may read or ignore, and that never
// blocks us however long the line is.
caf::expected<unique_fd> event_input(const std::string& line) {
  unique_fd fd{::memfd_create("sf-hook-event", MFD_CLOEXEC)};
  if (!fd)
    return make_error(ec::io_error, "cannot make the hook's stdin: " + errno_text(errno));
  if (!io::write_all(fd.get(), line.data(), line.size()) || ::lseek(fd.get(), 0, SEEK_SET) != 0)
    return make_error(ec::io_error, "cannot write the hook's stdin: " + errno_text(errno));
  return fd;
}

void schedule_tick(self_ptr self) {
  if (self->state.ticking)
    return;
  self->state.ticking = true;
  self->send(self, atom::hook_tick_v);
}

void report(self_ptr self, const io::timed_outcome& out) {
  auto& st = self->state;
  const auto& p = st.current;
  const auto& cmd = st.cfg.hooks.at(p.which).command;
  if (out.ok()) {
    st.cfg.log->info("hook_runner: hook {} for {} ({}) {}", to_string(p.which),
                     milestone_or_run(p), cmd, out.describe());
    return;
  }
  auto tail = output_tail(hooks_log_path(st.cfg.root), st.output_from);
  st.cfg.log->warn("hook_runner: hook {} for {} ({}) {}; {}; the run goes on",
                   to_string(p.which), milestone_or_run(p), cmd, out.describe(),
                   tail.empty() ? "it printed nothing" : "last output: " + tail);
}

// Starts the oldest waiting hook that can run; those past the drain deadline are dropped.
void start_next(self_ptr self) {
  auto& st = self->state;
  while (!st.running && !st.queue.empty()) {
    auto p = std::move(st.queue.front());
    st.queue.pop_front();
    const auto& hook = st.cfg.hooks.at(p.which);
    auto timeout = to_ms(hook.timeout);
    if (st.drain_until) {
      auto left = std::chrono::duration_cast<milliseconds>(*st.drain_until - clock::now());
      if (left <= milliseconds::zero()) {
        st.cfg.log->warn("hook_runner: the run ended; hook {} for {} not run", to_string(p.which),
                         milestone_or_run(p));
        continue;
      }
      timeout = std::min(timeout, left);
    }
    auto log = hooks_log_path(st.cfg.root);
    (void) io::cap_log(log, hooks_log_cap);
    auto input = event_input(io::format_event_line(p.ev, p.at_ms));
    if (!input) {
      st.cfg.log->warn("hook_runner: hook {} for {} not run: {}", to_string(p.which),
                       milestone_or_run(p), describe(input.error()));
      continue;
    }
    io::spawn_request req;
    req.argv = {"/bin/sh", "-c", hook.command};
    req.cwd = st.cfg.root;
    req.env = hook_environment(st.cfg.base_env, st.cfg.root, p);
    req.log_path = log;
    req.input_fd = input->get();
    st.output_from = file_size(log);
    auto started = io::timed_process::start(req, timeout, st.cfg.grace);
    if (!started) {
      st.cfg.log->warn("hook_runner: hook {} for {} ({}) cannot start: {}; the run goes on",
                       to_string(p.which), milestone_or_run(p), hook.command,
                       describe(started.error()));
      continue;
    }
    st.running.emplace(std::move(*started));
    st.current = std::move(p);
    schedule_tick(self);
  }
}

void finish_if_drained(self_ptr self) {
  auto& st = self->state;
  if (st.drain_until && !st.running && st.queue.empty())
    self->quit();
}

void on_event(self_ptr self, const run_event& ev) {
  auto& st = self->state;
  auto which = st.trigger->fire(ev);
  if (!which || st.cfg.hooks.count(*which) == 0)
    return;
  if (st.queue.size() >= st.cfg.queue_cap) {
    st.cfg.log->warn("hook_runner: {} hooks wait already; hook {} for {} dropped", st.queue.size(),
                     to_string(*which), ev.milestone.empty() ? "the run" : ev.milestone);
    return;
  }
  st.queue.push_back(pending_hook{*which, ev, io::now_ms()});
  start_next(self);
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  st.ticking = false;
  if (st.running) {
    auto out = st.running->wait_for(tick_slice);
    if (!out) {
      schedule_tick(self);
      return;
    }
    report(self, *out);
    st.running.reset();
  }
  start_next(self);
  finish_if_drained(self);
}

// The coordinator is gone: what waits still runs, but the process ends within the longest
// hook timeout (a hook that runs long gets cut there).
void on_coordinator_down(self_ptr self) {
  auto& st = self->state;
  double longest = 0;
  for (const auto& [which, hook] : st.cfg.hooks)
    longest = std::max(longest, hook.timeout);
  st.drain_until = clock::now() + to_ms(longest);
  if (st.running)
    st.running->cut_deadline(*st.drain_until);
  start_next(self);
  finish_if_drained(self);
}

} // namespace

std::string hooks_log_path(const std::string& root) {
  return core::parallel_file(root, "hooks.log");
}

std::vector<std::string> inherited_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    env.emplace_back(*e);
  return env;
}

std::vector<std::string> hook_environment(const std::vector<std::string>& base,
                                          const std::string& root, const pending_hook& p) {
  std::vector<std::string> env;
  for (const auto& kv : base)
    if (kv.rfind("SF_EVENT", 0) != 0 && kv.rfind("SF_MILESTONE=", 0) != 0 &&
        kv.rfind("SF_COMPLETED_UNITS=", 0) != 0 && kv.rfind("SF_TOTAL_UNITS=", 0) != 0 &&
        kv.rfind("SF_PROJECT_ROOT=", 0) != 0)
      env.push_back(kv);
  env.push_back(std::string("SF_EVENT=") + to_string(p.which));
  env.push_back("SF_EVENT_KIND=" + std::string(to_string(p.ev.kind)));
  env.push_back("SF_MILESTONE=" + p.ev.milestone);
  env.push_back("SF_EVENT_TEXT=" + p.ev.text);
  env.push_back("SF_EVENT_STATE=" + std::string(state_name(p.ev)));
  env.push_back(fmt::format("SF_EVENT_COST={:g}", p.ev.cost));
  env.push_back("SF_COMPLETED_UNITS=" + std::to_string(p.ev.completed_units));
  env.push_back("SF_TOTAL_UNITS=" + std::to_string(p.ev.total_units));
  env.push_back("SF_PROJECT_ROOT=" + root);
  return env;
}

hook_runner_actor::behavior_type
hook_runner(hook_runner_actor::stateful_pointer<hook_runner_state> self, hook_runner_config cfg) {
  auto& st = self->state;
  st.trigger.emplace(cfg.budget_ceiling);
  st.cfg = std::move(cfg);
  self->monitor(st.cfg.coordinator);
  st.cfg.coordinator = nullptr; // The monitor is enough; a handle would keep it in memory.
  self->set_down_handler([self](caf::down_msg&) { on_coordinator_down(self); });
  return {
    [self](atom::event, const run_event& ev) { on_event(self, ev); },
    [self](atom::hook_tick) { on_tick(self); },
  };
}

} // namespace sf
