// Any agent command: its output is shown as it is and `SF_COST <usd>` lines are its cost, as
// for shell units (agents/cost_scanner.hpp).
#include "agents/adapter_streams.hpp"
#include "agents/cost_scanner.hpp"

#include "config/cost.hpp"

namespace sf::agents {

namespace {

class generic_stream final : public agent_stream {
protected:
  void on_line(std::string_view line) override {
    ++report_.events;
    if (auto usd = parse_cost_line(line)) {
      report_.usage.usd = add_costs_capped(report_.usage.usd.value_or(0), *usd);
    } else {
      set_activity(line);
    }
    plain_line(line);
  }
};

} // namespace

std::unique_ptr<agent_stream> make_generic_stream() {
  return std::make_unique<generic_stream>();
}

} // namespace sf::agents
