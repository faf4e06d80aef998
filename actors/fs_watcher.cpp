#include "actors/fs_watcher.hpp"

#include "io/fd_reactor.hpp"
#include "io/parallel_dir.hpp"
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

// Drains the inotify queue on the reactor thread, so level-triggered readiness cannot flood
// the actor with messages while it is busy; the actor gets the names in one message.
template <class Handle, class Atom, class... Extra>
caf::expected<uint64_t> forward_events(io::fd_reactor& reactor, std::shared_ptr<io::dir_watcher> w,
                        Handle handle, Atom atom_value) {
  return reactor.watch(w->fd(), [w, handle, atom_value] {
    std::vector<std::string> names;
    bool overflow = false;
    for (auto& ev : w->read_events()) {
      if (ev.kind == io::dir_event::overflow)
        overflow = true;
      else
        names.push_back(std::move(ev.name));
    }
    if (names.empty() && !overflow)
      return;
    if constexpr (std::is_same_v<Atom, atom::file>)
      caf::anon_send(handle, atom_value, std::move(names), overflow);
    else
      caf::anon_send(handle, atom_value, std::move(names));
  });
}

} // namespace

fs_watcher_actor::behavior_type fs_watcher(fs_watcher_actor::stateful_pointer<fs_watcher_state> self,
                                           std::string root,
                                           std::shared_ptr<io::fd_reactor> reactor,
                                           std::shared_ptr<spdlog::logger> log,
                                           coordinator_actor coordinator) {
  auto& st = self->state;
  st.root = std::move(root);
  st.reactor = std::move(reactor);
  st.log = std::move(log);
  st.coordinator = std::move(coordinator);
  auto handle = caf::actor_cast<fs_watcher_actor>(self);
  auto par = io::dir_watcher::create(st.root + "/.sf/parallel");
  auto ctl = io::dir_watcher::create(st.root + "/.sf/parallel/control");
  caf::expected<uint64_t> par_id = caf::error{};
  caf::expected<uint64_t> ctl_id = caf::error{};
  if (par && ctl) {
    st.parallel_dir = std::make_shared<io::dir_watcher>(std::move(*par));
    st.control_dir = std::make_shared<io::dir_watcher>(std::move(*ctl));
    par_id = forward_events(*st.reactor, st.parallel_dir, handle, atom::file_v);
    ctl_id = forward_events(*st.reactor, st.control_dir, handle, atom::control_v);
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
      [](atom::file, const std::vector<std::string>&, bool) {},
      [](atom::control, const std::vector<std::string>&) {},
    };
  }
  return {
    [self](atom::watch, const std::string& mid, const worker_supervisor_actor& sup) {
      self->state.routes[mid] = sup;
    },
    [self](atom::unwatch, const std::string& mid) { self->state.routes.erase(mid); },
    [self](atom::file, const std::vector<std::string>& names, bool overflow) {
      auto& st = self->state;
      if (overflow) {
        // Events were lost: every supervisor re-reads its file.
        st.log->warn("fs_watcher: inotify queue overflowed; rescanning");
        for (auto& [mid, sup] : st.routes)
          self->send(sup, atom::file_v);
      }
      for (const auto& name : names) {
        auto parsed = io::parse_parallel_name(name);
        if (!parsed || parsed->kind != io::parallel_file_kind::status)
          continue;
        if (auto it = st.routes.find(parsed->mid); it != st.routes.end())
          self->send(it->second, atom::file_v);
      }
    },
    [self](atom::control, const std::vector<std::string>& names) {
      self->send(self->state.coordinator, atom::control_v, names);
    },
  };
}

} // namespace sf
