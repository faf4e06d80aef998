#include "chaos/fault_worker.hpp"

#include "messages/error.hpp"
#include "worker/reference_worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <thread>

namespace sf::chaos {

bool fault_hooks::ignores_sigterm() const {
  const auto* k = knobs();
  return k != nullptr && k->ignore_sigterm;
}

void fault_hooks::on_locked() {
  if (const auto* k = knobs(); k != nullptr && k->leave_child)
    leave_child_behind();
}

std::chrono::milliseconds fault_hooks::heartbeat(std::chrono::milliseconds wanted) const {
  const auto* k = knobs();
  if (k == nullptr || k->heartbeat_scale <= 0)
    return wanted;
  return std::chrono::milliseconds(
      std::max<long long>(1, std::llround(wanted.count() * k->heartbeat_scale)));
}

std::vector<io::worker_status> fault_hooks::published(const io::worker_status& own) const {
  std::vector<io::worker_status> out{own};
  const auto* k = knobs();
  if (k == nullptr)
    return out;
  if (k->forge_pid != 0)
    out.front().pid = k->forge_pid;
  if (!k->forge_milestone.empty()) {
    out.push_back(out.front());
    out.back().milestone_id = k->forge_milestone;
  }
  return out;
}

bool fault_hooks::obeys_budget() const {
  const auto* k = knobs();
  return k == nullptr || !k->overspend;
}

void fault_hooks::after_unit(const worker::committed_unit& done, io::worker_status& own) {
  journal_unit(plan_, done.milestone, done.unit, done.commit);
  ++units_;
  const auto* k = knobs();
  if (k == nullptr)
    return;
  if (units_ == 1 && !k->bad_status.empty()) {
    write_bad_status(done.root, done.milestone, k->bad_status);
    // A lying cost is a whole, valid-looking report: it stands for a heartbeat interval like
    // any other, so the coordinator sees it rather than the next unit's status over it.
    if (k->bad_status == "huge-cost")
      std::this_thread::sleep_for(done.heartbeat);
  }
  if (units_ == 1 && k->cost_drop > 0)
    own.cost = std::max(0.0, own.cost - k->cost_drop);
  if (units_ == k->crash_after)
    ::raise(SIGKILL);
  if (units_ == k->hang_after)
    ::raise(SIGSTOP);
  if (units_ == k->silent_after) {
    // Alive but mute: SIGTERM stays blocked and unread, so only SIGKILL ends it.
    for (;;)
      ::pause();
  }
}

int run_fault_worker(const std::string& knobs_path) {
  auto opts = worker::options_from_env();
  if (!opts) {
    std::cerr << "sf-actors chaos-worker: " << describe(opts.error()) << '\n';
    return static_cast<int>(worker::worker_exit_usage);
  }
  auto plan = load_fault_plan(knobs_path, opts->milestone);
  if (!plan) {
    std::cerr << "sf-actors chaos-worker: " << describe(plan.error()) << '\n';
    return static_cast<int>(worker::worker_exit_usage);
  }
  fault_hooks hooks{std::move(*plan)};
  opts->hooks = &hooks;
  return worker::run_reference_worker(*opts);
}

} // namespace sf::chaos
