#include "agents/agent_stream.hpp"

#include "agents/adapter_streams.hpp"
#include "agents/readable_text.hpp"

namespace sf::agents {

void agent_stream::feed(std::string_view chunk) {
  lines_.feed(chunk, [this](std::string_view line) { on_line(line); });
  report_.skipped_lines = lines_.skipped();
}

void agent_stream::finish() {
  lines_.finish([this](std::string_view line) { on_line(line); });
  report_.skipped_lines = lines_.skipped();
}

void agent_stream::say(std::string_view prefix, std::string_view text) {
  if (!sink_)
    return;
  for (const auto& line : transcript_lines(prefix, text))
    sink_(line);
}

void agent_stream::set_activity(std::string_view text) {
  auto line = one_line(text);
  if (line.empty())
    return;
  report_.activity = std::move(line);
  report_.retrying = false;
}

void agent_stream::plain_line(std::string_view line) {
  auto text = one_line(line, max_transcript_line_bytes);
  if (text.empty())
    return;
  report_.last_plain_line = text;
  if (sink_)
    sink_(text);
}

void agent_stream::not_an_event(std::string_view line) {
  auto start = line.find_first_not_of(" \t");
  // The transcript never shows raw JSON.
  if (start != std::string_view::npos && line[start] == '{')
    return;
  plain_line(line);
}

std::unique_ptr<agent_stream> make_agent_stream(agent_adapter adapter) {
  switch (adapter) {
  case agent_adapter::claude:
    return make_claude_stream();
  case agent_adapter::codex:
    return make_codex_stream();
  case agent_adapter::aider:
    return make_aider_stream();
  case agent_adapter::generic:
    break;
  }
  return make_generic_stream();
}

} // namespace sf::agents
