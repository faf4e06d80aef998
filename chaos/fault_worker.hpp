#pragma once
/// The chaos harness's fault worker (`sf-actors chaos-worker`): the reference worker run with
/// hooks that make it crash, hang, lie or overspend as its knobs say.

#include "chaos/fault_knobs.hpp"
#include "worker/worker_hooks.hpp"

namespace sf::chaos {

/// The worker hooks of one fault worker process.
class fault_hooks : public worker::worker_hooks {
public:
  explicit fault_hooks(fault_plan plan) : plan_(std::move(plan)) {}

  bool ignores_sigterm() const override;
  void on_locked() override;
  std::chrono::milliseconds heartbeat(std::chrono::milliseconds wanted) const override;
  std::vector<io::worker_status> published(const io::worker_status& own) const override;
  bool obeys_budget() const override;
  void after_unit(const worker::committed_unit& done, io::worker_status& own) override;

private:
  const fault_knobs* knobs() const { return plan_.knobs ? &*plan_.knobs : nullptr; }

  fault_plan plan_;
  int units_ = 0; ///< Units committed in this session.
};

/// Runs the fault worker with the knobs file at `knobs_path`; returns its exit code.
int run_fault_worker(const std::string& knobs_path);

} // namespace sf::chaos
