#pragma once
/// What the benchmarks that run a coordinator share: a project on disk (git repository, plan,
/// preferences), a coordinator in its own sf::runtime, and an event sink that stamps every run
/// event on arrival (steady_clock) for the bench's thread to wait on.

#include "actors/coordinator.hpp"
#include "actors/orchestrator.hpp"
#include "actors/runtime.hpp"
#include "bench/bench_util.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "io/files/gitignore.hpp"
#include "messages/error.hpp"
#include "messages/interfaces.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace sf::bench {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Writes `text` to `path`, making its folders; false on failure.
inline bool write_text(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

/// The path of this program (for the log relay next to it, or to run itself).
inline std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : p.string();
}

// ---------------------------------------------------------------------------------------------
// Event recording

/// A run event and when the sink received it.
struct stamped {
  sf::run_event ev;
  clock_type::time_point at;
};

/// Shared by the sink actor (which appends) and the main thread (which waits).
class recorder {
public:
  /// Appends `ev`, stamped now, and wakes the waiters.
  void push(const sf::run_event& ev) {
    auto now = clock_type::now(); // First thing: the stamp is the receive time.
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back({ev, now});
    cv_.notify_all();
  }

  /// How many events arrived so far.
  std::size_t size() {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_.size();
  }

  /// First event at index >= `from` matching `pred`; advances `from` past it.
  std::optional<stamped> wait(std::size_t& from,
                              const std::function<bool(const sf::run_event&)>& pred,
                              clock_type::duration timeout) {
    auto deadline = clock_type::now() + timeout;
    std::unique_lock<std::mutex> lock{mtx_};
    for (;;) {
      for (; from < events_.size(); ++from)
        if (pred(events_[from].ev))
          return events_[from++];
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && from >= events_.size())
        return std::nullopt;
    }
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<stamped> events_;
};

/// An event sink that hands every event to `rec`.
inline sf::event_sink_actor::behavior_type recording_sink(sf::event_sink_actor::pointer,
                                                          std::shared_ptr<recorder> rec) {
  return {[rec](sf::atom::event, const sf::run_event& ev) { rec->push(ev); }};
}

/// Matches the event of `mid` entering `state`.
inline auto state_of(const std::string& mid, const std::string& state) {
  return [mid, state](const sf::run_event& ev) {
    return ev.milestone == mid && ev.kind == sf::event_kind::state_changed &&
           sf::state_name(ev) == state;
  };
}

/// Matches the run's `finished` event.
inline auto finished_event() {
  return [](const sf::run_event& ev) { return ev.kind == sf::event_kind::finished; };
}

// ---------------------------------------------------------------------------------------------
// Projects on disk

/// A milestone of one slice of `units` units that each run `run`.
struct milestone_def {
  std::string id;
  std::vector<std::string> deps;
  int units = 1;
  std::string run = "true";
};

/// Its MILESTONE.md; unit u declares the file <id>/f<u>.txt.
inline std::string milestone_md(const milestone_def& m) {
  std::ostringstream out;
  out << "---\ntitle: Bench " << m.id << "\nstatus: pending\ndependsOn: [";
  for (std::size_t i = 0; i < m.deps.size(); ++i)
    out << (i ? ", " : "") << m.deps[i];
  out << "]\nslices:\n  - id: S01\n    title: Work\n    units:\n";
  for (int u = 1; u <= m.units; ++u) {
    char id[16];
    std::snprintf(id, sizeof id, "U%04d", u);
    out << "      - id: " << id << "\n        title: Unit " << id << "\n        run: '" << m.run
        << "'\n        files: [" << m.id << "/f" << u << ".txt]\n";
  }
  out << "---\n\nBenchmark milestone.\n";
  return out.str();
}

/// A git repository with main checked out, the plan, preferences and the runtime ignore rules.
/// `files` (path in the repository -> text) are committed with the plan.
inline bool make_project(const std::string& root, const std::vector<milestone_def>& plan,
                         const std::string& parallel_yaml, const char* who = "bench",
                         const std::map<std::string, std::string>& files = {}) {
  if (!sh("git init -q -b main " + quote(root), who))
    return false;
  for (const auto& [path, text] : files)
    if (!write_text(root + "/" + path, text))
      return false;
  for (const auto& m : plan)
    if (!write_text(root + "/.sf/milestones/" + m.id + "/MILESTONE.md", milestone_md(m)))
      return false;
  if (!write_text(root + "/.sf/PREFERENCES.md", "---\nparallel:\n" + parallel_yaml + "---\n"))
    return false;
  if (auto changed = sf::io::ensure_runtime_ignored(root); !changed) {
    std::fprintf(stderr, "%s: %s\n", who, sf::describe(changed.error()).c_str());
    return false;
  }
  return sh("cd " + quote(root) +
                " && git config user.email bench@example.com && git config user.name bench"
                " && git config commit.gpgsign false && git add -A && git commit -q -m plan",
            who);
}

// ---------------------------------------------------------------------------------------------
// One coordinator in its own runtime

/// One coordinator, its runtime and its recording sink.
class session {
public:
  /// `who` prefixes every error this session prints.
  explicit session(const char* who = "bench") : who_(who) {}

  /// Spawns the coordinator of `root` and subscribes the sink; `worker_argv` empty = the
  /// preferences' worker_command.
  bool open(const std::string& root, sf::preferences prefs, std::vector<std::string> worker_argv) {
    auto p = sf::load_plan(root);
    if (!p) {
      std::fprintf(stderr, "%s: %s\n", who_, sf::describe(p.error()).c_str());
      return false;
    }
    rt_ = std::make_unique<sf::runtime>();
    sf::coordinator_config cfg;
    cfg.root = root;
    cfg.prefs = std::move(prefs);
    cfg.milestones = std::move(*p);
    // Worker output through the log relay, as `sf-actors start` runs it.
    cfg.log_relay = sf::default_log_relay({}, worker_argv.empty() ? self_exe() : worker_argv[0]);
    cfg.worker_argv = std::move(worker_argv);
    auto coord = sf::spawn_coordinator(rt_->system(), std::move(cfg));
    if (!coord) {
      std::fprintf(stderr, "%s: %s\n", who_, sf::describe(coord.error()).c_str());
      rt_.reset();
      return false;
    }
    coord_ = *coord;
    sink_ = rt_->system().spawn(recording_sink, rec);
    caf::anon_send(coord_, sf::atom::subscribe_v, sink_);
    return true;
  }

  /// Stops every worker, waits for the run to finish, ends the actors and the runtime.
  void close() {
    if (!rt_)
      return;
    stop_all(30s);
    caf::anon_send_exit(coord_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink_, caf::exit_reason::user_shutdown);
    rt_.reset();
  }

  ~session() { close(); }

  /// Sends `start` for `ids` (all eligible when empty); false when the coordinator refused.
  bool start(const std::vector<std::string>& ids) {
    sf::command_reply reply;
    reply.exit_code = -1;
    caf::scoped_actor self{rt_->system()};
    self->request(coord_, 30s, sf::atom::start_v, ids)
        .receive([&](const sf::command_reply& r) { reply = r; },
                 [&](const caf::error& err) {
                   reply.lines.push_back("no answer: " + caf::to_string(err));
                 });
    if (reply.exit_code != 0)
      for (const auto& line : reply.lines)
        std::fprintf(stderr, "%s: start: %s\n", who_, line.c_str());
    return reply.exit_code == 0;
  }

  /// Asks the coordinator to stop every worker (no wait).
  bool request_stop() {
    bool any = false;
    caf::scoped_actor self{rt_->system()};
    self->request(coord_, 30s, sf::atom::stop_v, std::string{})
        .receive(
            [&](const sf::command_reply& r) {
              any = !(r.lines.size() == 1 && r.lines[0] == "no worker is running");
            },
            [&](const caf::error& err) {
              std::fprintf(stderr, "%s: stop: %s\n", who_, caf::to_string(err).c_str());
            });
    return any;
  }

  /// Stops every worker and waits for the `finished` event.
  bool stop_all(clock_type::duration timeout) {
    auto from = rec->size();
    if (!request_stop())
      return true;
    return rec->wait(from, finished_event(), timeout).has_value();
  }

  /// Starts `ids` and waits until each reported `running`; false on refusal or timeout.
  bool start_and_wait_running(const std::vector<std::string>& ids, clock_type::duration timeout) {
    auto from = rec->size();
    if (!start(ids))
      return false;
    for (const auto& id : ids) {
      auto idx = from;
      if (!rec->wait(idx, state_of(id, "running"), timeout)) {
        std::fprintf(stderr, "%s: %s did not report running in time\n", who_, id.c_str());
        return false;
      }
    }
    return true;
  }

  /// Asks the coordinator to merge `mid` (every completed milestone when empty), as
  /// `sf-actors merge` does through the control server; the report, or nothing on no answer.
  std::optional<sf::merge_report> merge(const std::string& mid) {
    std::optional<sf::merge_report> out;
    caf::scoped_actor self{rt_->system()};
    self->request(coord_, 60s, sf::atom::merge_v, mid, false)
        .receive([&](const sf::merge_report& r) { out = r; },
                 [&](const caf::error& err) {
                   std::fprintf(stderr, "%s: merge: %s\n", who_, caf::to_string(err).c_str());
                 });
    return out;
  }

  std::shared_ptr<recorder> rec = std::make_shared<recorder>();

private:
  const char* who_;
  std::unique_ptr<sf::runtime> rt_;
  sf::coordinator_actor coord_;
  sf::event_sink_actor sink_;
};

} // namespace sf::bench
