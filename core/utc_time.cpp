#include "core/utc_time.hpp"

#include <cstdio>
#include <ctime>

namespace sf::core {

namespace {

std::tm utc_of(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return tm;
}

} // namespace

std::string utc_text(int64_t ms) {
  auto tm = utc_of(ms);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string utc_stamp(int64_t ms) {
  auto tm = utc_of(ms);
  char day[32];
  std::strftime(day, sizeof day, "%Y%m%dT%H%M%S", &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s.%03dZ", day, static_cast<int>(ms % 1000));
  return buf;
}

} // namespace sf::core
