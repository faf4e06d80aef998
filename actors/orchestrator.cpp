#include "actors/orchestrator.hpp"

#include "actors/coordinator.hpp"
#include "config/plan.hpp"
#include "config/prose_milestone.hpp"
#include "core/sf_paths.hpp"
#include "io/os/proc_files.hpp"
#include "messages/error.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

#ifndef SF_LIB_INSTALL_BINDIR
#define SF_LIB_INSTALL_BINDIR ""
#endif

namespace sf {

namespace {

bool is_executable(const std::string& path) {
  std::error_code err;
  return fs::is_regular_file(path, err) && ::access(path.c_str(), X_OK) == 0;
}

std::string self_dir() {
  auto exe = io::self_exe();
  return exe.empty() ? std::string() : fs::path(exe).parent_path().string();
}

// Where our programs are looked for, best first: the hint, the library's install prefix (right
// when it was installed there), the running program's folder, then PATH.
std::vector<std::string> program_dirs(const std::string& bindir_hint) {
  std::vector<std::string> dirs;
  if (!bindir_hint.empty())
    dirs.push_back(bindir_hint);
  // The prefix this library was configured with: right when it was installed there.
  if (std::string lib_dir = SF_LIB_INSTALL_BINDIR; !lib_dir.empty())
    dirs.push_back(lib_dir);
  if (auto own = self_dir(); !own.empty())
    dirs.push_back(own);
  if (const char* path = std::getenv("PATH")) {
    std::string rest = path;
    for (std::size_t start = 0; start <= rest.size();) {
      auto end = rest.find(':', start);
      if (end == std::string::npos)
        end = rest.size();
      if (end > start)
        dirs.push_back(rest.substr(start, end - start));
      start = end + 1;
    }
  }
  return dirs;
}

} // namespace

caf::expected<std::vector<std::string>> default_worker_argv(const std::string& bindir_hint) {
  // Per folder, the worker program of the runtime first, then the CLI's copy of it.
  for (const auto& dir : program_dirs(bindir_hint)) {
    if (auto exe = dir + "/sf-worker"; is_executable(exe))
      return std::vector<std::string>{exe};
    if (auto exe = dir + "/sf-actors"; is_executable(exe))
      return std::vector<std::string>{exe, "worker"};
  }
  return make_error(ec::not_found,
                    "the reference worker (`sf-worker`, or `sf-actors worker`) is not installed "
                    "next to the library nor on PATH; install sf-actors, or set "
                    "orchestrator_options::worker_argv");
}

std::string default_log_relay(const std::string& bindir_hint, const std::string& worker_exe) {
  auto dirs = program_dirs(bindir_hint);
  // Installed together: next to the worker program comes right after the hint.
  if (!worker_exe.empty() && worker_exe.find('/') != std::string::npos)
    dirs.insert(dirs.begin() + (bindir_hint.empty() ? 0 : 1),
                fs::path(worker_exe).parent_path().string());
  for (const auto& dir : dirs)
    if (auto exe = dir + "/sf-log-relay"; is_executable(exe))
      return exe;
  return {};
}

caf::expected<coordinator_actor> spawn_orchestrator(caf::actor_system& sys,
                                                    const orchestrator_options& opts) {
  if (opts.root.empty())
    return make_error(ec::usage, "orchestrator_options::root is empty; set it to the project's "
                                 "folder (the one holding .sf/)");
  if (const char* w = std::getenv("SF_PARALLEL_WORKER"); w != nullptr && *w != '\0')
    return make_error(ec::usage, "refusing to orchestrate from inside a worker "
                                 "(SF_PARALLEL_WORKER is set); nested parallel runs are not "
                                 "allowed");
  std::error_code err;
  auto root = fs::weakly_canonical(fs::absolute(opts.root, err), err).string();
  if (err || !fs::is_directory(root, err))
    return make_error(ec::not_found, "project root " + opts.root +
                                       " is not a folder; pass an existing project root");
  coordinator_config cfg;
  cfg.root = root;
  if (opts.prefs) {
    if (auto bad = validate_preferences(*opts.prefs))
      return bad;
    cfg.prefs = *opts.prefs;
  } else {
    auto prefs = load_preferences(root);
    if (!prefs)
      return prefs.error();
    cfg.prefs = std::move(*prefs);
  }
  if (!cfg.prefs.enabled)
    return make_error(ec::not_enabled, "parallel mode is off for " + root +
                                           ": set `parallel.enabled: true` in " +
                                           core::preferences_file(root));
  if (opts.milestones) {
    if (auto bad = validate_plan(*opts.milestones))
      return bad;
    cfg.milestones = *opts.milestones;
  } else {
    auto p = load_plan(root);
    if (!p)
      return p.error();
    cfg.milestones = std::move(*p);
  }
  add_prose_units(cfg.milestones, cfg.prefs.agents);
  if (opts.worker_argv.empty()) {
    auto argv = default_worker_argv(opts.install_bindir);
    if (!argv)
      return argv.error();
    cfg.worker_argv = std::move(*argv);
  } else {
    cfg.worker_argv = opts.worker_argv;
  }
  cfg.can_confirm = opts.can_confirm;
  cfg.log_level = opts.log_level;
  cfg.log_relay = opts.log_relay.empty()
                    ? default_log_relay(opts.install_bindir, cfg.worker_argv.front())
                    : opts.log_relay;
  return spawn_coordinator(sys, std::move(cfg));
}

namespace {

// The callback travels as a spawn argument, not a capture: CAF 0.17 binds a reference through
// a null pointer when a function actor is spawned without arguments (UBSan reports it).
event_sink_actor::behavior_type callback_sink(event_sink_actor::pointer,
                                              std::function<void(const run_event&)> fn) {
  return {[fn = std::move(fn)](atom::event, const run_event& ev) { fn(ev); }};
}

// Watches the coordinator and calls `fn` with its exit reason once it is gone. Typed as a sink
// (whose events it ignores) because a typed actor needs an interface.
event_sink_actor::behavior_type down_watch(event_sink_actor::pointer self, coordinator_actor who,
                                           std::function<void(const caf::error&)> fn) {
  self->monitor(who);
  self->set_down_handler([self, fn = std::move(fn)](caf::down_msg& dm) {
    fn(dm.reason);
    self->quit();
  });
  return {[](atom::event, const run_event&) {}};
}

} // namespace

event_sink_actor spawn_callback_sink(caf::actor_system& sys,
                                     std::function<void(const run_event&)> fn) {
  return sys.spawn(callback_sink, std::move(fn));
}

orchestrator_runtime::orchestrator_runtime(std::string root, orchestrator_options opts,
                                           runtime_options sys)
  : rt_(sys) {
  opts.root = std::move(root);
  if (opts.prefs)
    stop_wait_ = std::chrono::milliseconds(static_cast<int64_t>(opts.prefs->stop_grace * 1000));
  auto coord = spawn_orchestrator(rt_.system(), opts);
  if (!coord) {
    error_ = coord.error();
    return;
  }
  coordinator_ = *coord;
  // Our own sink comes first, so wait_finished sees the end of a run whoever else listens.
  auto sink = spawn_callback_sink(rt_.system(), [this](const run_event& ev) { on_event(ev); });
  sinks_.push_back(sink);
  caf::anon_send(coordinator_, atom::subscribe_v, sink);
  watch_ = rt_.system().spawn(down_watch, coordinator_,
                              std::function<void(const caf::error&)>{
                                [this](const caf::error& reason) { on_coordinator_down(reason); }});
}

orchestrator_runtime::~orchestrator_runtime() {
  shutdown();
  coordinator_ = coordinator_actor{};
}

void orchestrator_runtime::on_event(const run_event& ev) {
  if (ev.kind != event_kind::finished)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  ++finished_count_;
  cv_.notify_all();
}

void orchestrator_runtime::on_coordinator_down(const caf::error& reason) {
  if (ending_.load())
    return;
  run_event ev;
  ev.kind = event_kind::finished;
  ev.state = core::milestone_state::failed;
  ev.text = "the coordinator ended unexpectedly (" +
            (reason ? describe(reason) : std::string("no reason given")) +
            "); its workers keep running: `sf-actors start` adopts them (then `sf-actors "
            "stop` ends them), and .sf/parallel/coordinator.log tells more";
  std::vector<event_sink_actor> sinks;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sinks = sinks_;
  }
  for (auto& sink : sinks)
    caf::anon_send(sink, atom::event_v, ev);
}

template <class Reply, class... Ts>
caf::expected<Reply> orchestrator_runtime::ask(std::chrono::milliseconds timeout, Ts&&... xs) {
  if (error_)
    return error_;
  if (shut_down_)
    return make_error(ec::unavailable, "the orchestrator was shut down; create a new one");
  caf::expected<Reply> out{Reply{}};
  caf::scoped_actor scoped{rt_.system()};
  scoped->request(coordinator_, timeout, std::forward<Ts>(xs)...)
    .receive([&](Reply& r) { out = std::move(r); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

caf::expected<command_reply> orchestrator_runtime::start(const std::vector<std::string>& ids,
                                                         std::chrono::milliseconds timeout) {
  {
    // A `finished` that arrives from here on belongs to this run (or a later one).
    std::lock_guard<std::mutex> guard{mtx_};
    finished_target_ = finished_count_ + 1;
  }
  return ask<command_reply>(timeout, atom::start_v, ids);
}

caf::expected<command_reply> orchestrator_runtime::stop(const std::string& mid,
                                                        std::chrono::milliseconds timeout) {
  return ask<command_reply>(timeout, atom::stop_v, mid);
}

caf::expected<command_reply> orchestrator_runtime::pause(const std::string& mid,
                                                         std::chrono::milliseconds timeout) {
  return ask<command_reply>(timeout, atom::pause_v, mid);
}

caf::expected<command_reply> orchestrator_runtime::resume(const std::string& mid,
                                                          std::chrono::milliseconds timeout) {
  return ask<command_reply>(timeout, atom::resume_v, mid);
}

caf::expected<merge_report> orchestrator_runtime::merge(const std::string& mid, bool dry_run,
                                                        std::chrono::milliseconds timeout) {
  return ask<merge_report>(timeout, atom::merge_v, mid, dry_run);
}

void orchestrator_runtime::decline(const std::string& mid) {
  if (!error_)
    caf::anon_send(coordinator_, atom::decline_v, mid);
}

caf::expected<run_status> orchestrator_runtime::status(std::chrono::milliseconds timeout) {
  return ask<run_status>(timeout, atom::status_v);
}

caf::error orchestrator_runtime::subscribe(std::function<void(const run_event&)> fn) {
  if (error_)
    return error_;
  if (shut_down_)
    return make_error(ec::unavailable, "the orchestrator was shut down; create a new one");
  auto sink = spawn_callback_sink(rt_.system(), std::move(fn));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sinks_.push_back(sink);
  }
  caf::anon_send(coordinator_, atom::subscribe_v, sink);
  return caf::none;
}

bool orchestrator_runtime::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [this] { return finished_count_ >= finished_target_; });
}

void orchestrator_runtime::shutdown() {
  if (shut_down_)
    return;
  if (!error_) {
    // Workers get their stop signal and grace period before the actors go away.
    auto st = status(std::chrono::seconds(5));
    if (st && st->active) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        finished_target_ = finished_count_ + 1;
      }
      caf::anon_send(coordinator_, atom::shutdown_v);
      wait_finished(stop_wait_ + std::chrono::seconds(5));
    }
    ending_ = true;
    caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown);
  }
  if (watch_)
    caf::anon_send_exit(watch_, caf::exit_reason::user_shutdown);
  std::vector<event_sink_actor> sinks;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sinks.swap(sinks_);
  }
  for (auto& sink : sinks)
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  shut_down_ = true;
}

} // namespace sf
