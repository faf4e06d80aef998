#include "actors/runtime.hpp"

#include "messages/register.hpp"


namespace sf {

runtime::runtime(runtime_options opts) {
  add_message_types(cfg_);
  cfg_.set("scheduler.max-threads", opts.threads);
  // Work sharing parks idle threads on a condition variable; work stealing would wake them
  // every few milliseconds to look for work, and an idle coordinator should cost nothing.
  cfg_.set("scheduler.policy", caf::atom("sharing"));
  system_ = std::make_unique<caf::actor_system>(cfg_);
}

runtime::~runtime() {
  system_->await_all_actors_done();
}

} // namespace sf
