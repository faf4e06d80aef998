#pragma once
/// The common part of the JSON-lines parsers (Claude, Codex): one event per line.

#include "agents/agent_stream.hpp"

#include <nlohmann/json.hpp>

namespace sf::agents {

/// Parses each line as a JSON object and hands it to `on_event`; other lines go to
/// `not_an_event` and are not counted in `events`.
class json_stream : public agent_stream {
protected:
  /// One event (a JSON object) of the agent's output.
  virtual void on_event(const nlohmann::json& ev) = 0;

private:
  void on_line(std::string_view line) final;
};

} // namespace sf::agents
