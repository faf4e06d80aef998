// embed_example <project-root>: runs every eligible milestone of a project inside this
// program's own actor system and prints the run's events as they arrive.
#include "actors/orchestrator.hpp"
#include "messages/error.hpp"
#include "messages/register.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>

namespace {

// Our own typed actor: it implements sf::event_sink_actor, prints every event, and fulfils
// `done` when the run reports that it has finished.
sf::event_sink_actor::behavior_type printer(sf::event_sink_actor::pointer,
                                            std::shared_ptr<std::promise<std::string>> done) {
  return {
    [done](sf::atom::event, const sf::run_event& ev) {
      std::cout << "[" << sf::to_string(ev.kind) << "] "
                << (ev.milestone.empty() ? "" : ev.milestone + " ")
                << (sf::state_name(ev).empty() ? "" : std::string(sf::state_name(ev)) + " ");
      if (ev.total_units > 0)
        std::cout << ev.completed_units << "/" << ev.total_units << " ";
      std::cout << ev.text << std::endl;
      if (ev.kind == sf::event_kind::finished)
        done->set_value(ev.text);
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embed_example <project-root>\n";
    return 2;
  }
  caf::actor_system_config cfg;
  sf::add_message_types(cfg); // Our config, their types.
  caf::actor_system sys{cfg};

  sf::orchestrator_options opts;
  opts.root = argv[1];
  auto coord = sf::spawn_orchestrator(sys, opts);
  if (!coord) {
    std::cerr << "embed_example: " << sf::describe(coord.error()) << '\n';
    return 1;
  }
  auto done = std::make_shared<std::promise<std::string>>();
  auto finished = done->get_future();
  auto sink = sys.spawn(printer, done);
  caf::anon_send(*coord, sf::atom::subscribe_v, sink);

  int code = 0;
  caf::scoped_actor self{sys};
  self->request(*coord, std::chrono::seconds(30), sf::atom::start_v, std::vector<std::string>{})
    .receive(
      [&](const sf::command_reply& reply) {
        code = reply.exit_code;
        for (const auto& line : reply.lines)
          std::cout << "start: " << line << '\n';
      },
      [&](const caf::error& err) {
        std::cerr << "embed_example: start failed: " << sf::describe(err) << '\n';
        code = 1;
      });
  if (code == 0) {
    if (finished.wait_for(std::chrono::minutes(5)) != std::future_status::ready) {
      std::cerr << "embed_example: the run did not finish within 5 minutes\n";
      code = 1;
    } else {
      std::cout << "done: " << finished.get() << std::endl;
    }
  }
  self->request(*coord, std::chrono::seconds(30), sf::atom::status_v)
    .receive(
      [&](const sf::run_status& st) {
        for (const auto& w : st.workers)
          std::cout << "status: " << w.milestone << " " << sf::to_string(w.state) << " " << w.completed_units
                    << "/" << w.total_units << '\n';
      },
      [&](const caf::error& err) {
        std::cerr << "embed_example: status failed: " << sf::describe(err) << '\n';
      });
  caf::anon_send_exit(*coord, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return code;
}
