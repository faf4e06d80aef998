#include "agents/json_stream.hpp"

#include "agents/json_fields.hpp"

namespace sf::agents {

void json_stream::on_line(std::string_view line) {
  nlohmann::json ev = parse_event(line);
  if (ev.is_discarded()) {
    not_an_event(line);
    return;
  }
  ++report_.events;
  on_event(ev);
}

} // namespace sf::agents
