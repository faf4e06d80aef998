#include "messages/register.hpp"

#include "messages/error.hpp"
#include "messages/interfaces.hpp"

namespace sf {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<worker_progress>("sf::worker_progress");
  cfg.add_message_type<worker_exit>("sf::worker_exit");
  cfg.add_message_type<worker_snapshot>("sf::worker_snapshot");
  cfg.add_message_type<run_status>("sf::run_status");
  cfg.add_message_type<budget_update>("sf::budget_update");
  cfg.add_message_type<core::token_counts>("sf::core::token_counts");
  cfg.add_message_type<milestone_reply>("sf::milestone_reply");
  cfg.add_message_type<command_reply>("sf::command_reply");
  cfg.add_message_type<run_event>("sf::run_event");
  cfg.add_message_type<branch_report>("sf::branch_report");
  cfg.add_message_type<branch_changes>("sf::branch_changes");
  cfg.add_message_type<merge_item>("sf::merge_item");
  cfg.add_message_type<worker_identity>("sf::worker_identity");
  cfg.add_message_type<merge_outcome>("sf::merge_outcome");
  cfg.add_message_type<merge_report>("sf::merge_report");
  cfg.add_message_type<event_sink_actor>("sf::event_sink_actor");
  cfg.add_message_type<worker_supervisor_actor>("sf::worker_supervisor_actor");
  cfg.add_error_category(caf::atom("sf"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string text = std::string("sf::") + to_string(static_cast<ec>(code));
                           if (ctx.match_elements<std::string>())
                             text += ": " + ctx.get_as<std::string>(0);
                           return text;
                         });
}

} // namespace sf
