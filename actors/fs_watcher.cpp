#include "actors/fs_watcher.hpp"

#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/fd_reactor.hpp"
#include "messages/error.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

namespace sf {

fs_watcher_state::~fs_watcher_state() {
  if (reactor) {
    if (parallel_id != 0)
      reactor->unwatch(parallel_id);
    if (control_id != 0)
      reactor->unwatch(control_id);
  }
}

namespace {

// Supervisors of the status files among `names`; every supervisor after an overflow.
std::vector<worker_supervisor_actor> targets(watch_routes& routes,
                                             const std::vector<std::string>& names,
                                             bool overflow) {
  std::vector<worker_supervisor_actor> out;
  std::lock_guard<std::mutex> guard{routes.mtx};
  if (overflow) {
    for (auto& [mid, sup] : routes.to)
      out.push_back(sup);
    return out;
  }
  for (const auto& name : names) {
    auto parsed = io::parse_parallel_name(name);
    if (!parsed || parsed->kind != io::parallel_file_kind::status)
      continue;
    if (auto it = routes.to.find(parsed->mid); it != routes.to.end())
      out.push_back(it->second);
  }
  return out;
}

// Drains the inotify queue on the reactor thread, so level-triggered readiness cannot flood
// an actor with messages while it is busy. Status changes go straight to their supervisor:
// a hop through this actor would wait for a scheduler thread, which the coordinator and
// the sinks may be holding.
caf::expected<uint64_t> forward_status(io::fd_reactor& reactor,
                                       std::shared_ptr<io::dir_watcher> w,
                                       std::shared_ptr<watch_routes> routes,
                                       std::shared_ptr<spdlog::logger> log) {
  return reactor.watch(w->fd(), [w, routes, log] {
    std::vector<std::string> names;
    bool overflow = false;
    for (auto& ev : w->read_events()) {
      if (ev.kind == io::dir_event::overflow)
        overflow = true;
      else
        names.push_back(std::move(ev.name));
    }
    if (overflow) // Events were lost: every supervisor re-reads its file.
      log->warn("fs_watcher: inotify queue overflowed; rescanning");
    for (auto& sup : targets(*routes, names, overflow))
      caf::anon_send(sup, atom::file_v);
  });
}

// Control requests are rare and go to the control server through this actor.
caf::expected<uint64_t> forward_control(io::fd_reactor& reactor,
                                        std::shared_ptr<io::dir_watcher> w,
                                        fs_watcher_actor handle) {
  return reactor.watch(w->fd(), [w, handle] {
    std::vector<std::string> names;
    for (auto& ev : w->read_events())
      if (ev.kind != io::dir_event::overflow)
        names.push_back(std::move(ev.name));
    // After an overflow the server would not know which requests to read; the CLI
    // times out and says so, which is rarer than an inotify overflow on this folder.
    if (!names.empty())
      caf::anon_send(handle, atom::control_v, std::move(names));
  });
}

} // namespace

fs_watcher_actor::behavior_type fs_watcher(fs_watcher_actor::stateful_pointer<fs_watcher_state> self,
                                           std::string root,
                                           std::shared_ptr<io::fd_reactor> reactor,
                                           std::shared_ptr<spdlog::logger> log,
                                           control_server_actor control,
                                           std::shared_ptr<watch_routes> routes) {
  auto& st = self->state;
  st.root = std::move(root);
  st.reactor = std::move(reactor);
  st.log = std::move(log);
  st.control = std::move(control);
  if (routes) // Shared with the supervisors, which enter themselves before their first read.
    st.routes = std::move(routes);
  auto handle = caf::actor_cast<fs_watcher_actor>(self);
  auto par = io::dir_watcher::create(core::parallel_dir(st.root));
  auto ctl = io::dir_watcher::create(core::control_dir(st.root));
  caf::expected<uint64_t> par_id = caf::error{};
  caf::expected<uint64_t> ctl_id = caf::error{};
  if (par && ctl) {
    st.parallel_dir = std::make_shared<io::dir_watcher>(std::move(*par));
    st.control_dir = std::make_shared<io::dir_watcher>(std::move(*ctl));
    par_id = forward_status(*st.reactor, st.parallel_dir, st.routes, st.log);
    ctl_id = forward_control(*st.reactor, st.control_dir, handle);
    if (par_id)
      st.parallel_id = *par_id;
    if (ctl_id)
      st.control_id = *ctl_id;
  }
  if (!par || !ctl || !par_id || !ctl_id) {
    auto err = !par ? par.error() : !ctl ? ctl.error() : !par_id ? par_id.error() : ctl_id.error();
    st.log->error("fs_watcher: {}", describe(err));
    self->quit(err);
    return {
      [](atom::watch, const std::string&, const worker_supervisor_actor&) {},
      [](atom::unwatch, const std::string&) {},
      [](atom::changed, const std::vector<std::string>&, bool) {},
      [](atom::control, const std::vector<std::string>&) {},
    };
  }
  return {
    [self](atom::watch, const std::string& mid, const worker_supervisor_actor& sup) {
      std::lock_guard<std::mutex> guard{self->state.routes->mtx};
      self->state.routes->to[mid] = sup;
    },
    [self](atom::unwatch, const std::string& mid) {
      // Only the sender's own entry: a newer supervisor of the milestone may have replaced it.
      std::lock_guard<std::mutex> guard{self->state.routes->mtx};
      auto& to = self->state.routes->to;
      if (auto it = to.find(mid); it != to.end() &&
                                  caf::actor_cast<caf::strong_actor_ptr>(it->second) ==
                                    self->current_sender())
        to.erase(it);
    },
    // The reactor routes status changes itself; this entry stays for hosts and tests that
    // hand the watcher file names.
    [self](atom::changed, const std::vector<std::string>& names, bool overflow) {
      for (auto& sup : targets(*self->state.routes, names, overflow))
        self->send(sup, atom::file_v);
    },
    [self](atom::control, const std::vector<std::string>& names) {
      self->send(self->state.control, atom::control_v, names);
    },
  };
}

} // namespace sf
