#include "agents/stream_test_util.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace sf::test {

parsed_stream::parsed_stream(agent_adapter adapter) : stream(agents::make_agent_stream(adapter)) {
  stream->on_transcript([this](const std::string& line) { transcript.push_back(line); });
}

const agents::stream_report& parsed_stream::read(const std::string& text, bool end) {
  stream->feed(text);
  if (end)
    stream->finish();
  return stream->report();
}

bool parsed_stream::said(const std::string& line) const {
  return std::find(transcript.begin(), transcript.end(), line) != transcript.end();
}

bool parsed_stream::said_start(const std::string& prefix) const {
  return std::any_of(transcript.begin(), transcript.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

agents::stream_report read_whole(agent_adapter adapter, const std::string& text) {
  auto s = agents::make_agent_stream(adapter);
  s->feed(text);
  s->finish();
  return s->report();
}

bool same_report(const agents::stream_report& a, const agents::stream_report& b) {
  return a.session_id == b.session_id && a.model == b.model && a.activity == b.activity &&
         a.retrying == b.retrying && a.usage == b.usage && a.finished == b.finished &&
         a.is_error == b.is_error && a.outcome == b.outcome && a.result == b.result &&
         a.error == b.error && a.permission_denials == b.permission_denials &&
         a.last_plain_line == b.last_plain_line && a.events == b.events &&
         a.skipped_lines == b.skipped_lines;
}

void check_same(const agents::stream_report& a, const agents::stream_report& b) {
  CHECK(a.session_id == b.session_id);
  CHECK(a.model == b.model);
  CHECK(a.activity == b.activity);
  CHECK(a.retrying == b.retrying);
  CHECK(a.usage == b.usage);
  CHECK(a.finished == b.finished);
  CHECK(a.is_error == b.is_error);
  CHECK(a.outcome == b.outcome);
  CHECK(a.result == b.result);
  CHECK(a.error == b.error);
  CHECK(a.permission_denials == b.permission_denials);
  CHECK(a.last_plain_line == b.last_plain_line);
  CHECK(a.events == b.events);
  CHECK(a.skipped_lines == b.skipped_lines);
}

void check_every_split(agent_adapter adapter, const std::string& text) {
  auto whole = read_whole(adapter, text);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    auto s = agents::make_agent_stream(adapter);
    s->feed(text.substr(0, i));
    s->feed(text.substr(i));
    s->finish();
    INFO("split at byte " << i);
    REQUIRE(same_report(s->report(), whole));
  }
  auto bytewise = agents::make_agent_stream(adapter);
  for (char c : text)
    bytewise->feed(std::string(1, c));
  bytewise->finish();
  check_same(bytewise->report(), whole);
}

std::string with_crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += '\r';
    out += c;
  }
  return out;
}

} // namespace sf::test
