#pragma once
/// eventually: polls a condition that no event announces (a process's /proc entries while it
/// execs), with a deadline.

#include <poll.h>

#include <chrono>
#include <functional>

namespace sf::test {

/// Re-checks `pred` every 2 ms until it holds (true) or `timeout` passes (false).
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    ::poll(nullptr, 0, 2);
  }
  return true;
}

} // namespace sf::test
