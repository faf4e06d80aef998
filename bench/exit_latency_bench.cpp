// Time from kill(SIGKILL) of a child to the reactor callback on its pidfd.
// Usage: exit_latency_bench [--trials N] [--quick]
// Prints one "name value unit" line per statistic.

#include "io/os/fd_reactor.hpp"
#include "io/os/process.hpp"
#include "messages/error.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

int usage(const char* self) {
  std::fprintf(stderr, "usage: %s [--trials N] [--quick]\n", self);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  int trials = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      trials = 20;
    } else if (std::strcmp(argv[i], "--trials") == 0 && i + 1 < argc) {
      trials = std::atoi(argv[++i]);
      if (trials <= 0)
        return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }
  auto reactor = sf::io::fd_reactor::create();
  if (!reactor) {
    std::fprintf(stderr, "%s\n", sf::describe(reactor.error()).c_str());
    return 1;
  }
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(trials));
  for (int t = 0; t < trials; ++t) {
    auto child = sf::io::spawn_process({{"sleep", "100"}, "/", {"PATH=/usr/bin:/bin"}, ""});
    if (!child) {
      std::fprintf(stderr, "%s\n", sf::describe(child.error()).c_str());
      return 1;
    }
    std::mutex mtx;
    std::condition_variable cv;
    bool fired = false;
    clock_type::time_point seen;
    auto id = (*reactor)->watch_once(child->pidfd(), [&] {
      auto now = clock_type::now();
      std::lock_guard<std::mutex> guard{mtx};
      seen = now;
      fired = true;
      cv.notify_one();
    });
    if (!id) {
      std::fprintf(stderr, "%s\n", sf::describe(id.error()).c_str());
      return 1;
    }
    auto start = clock_type::now();
    if (auto err = child->signal(SIGKILL)) {
      std::fprintf(stderr, "%s\n", sf::describe(err).c_str());
      return 1;
    }
    std::unique_lock<std::mutex> lock{mtx};
    if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return fired; })) {
      std::fprintf(stderr, "child exit not reported within 5 s\n");
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(seen - start).count());
    lock.unlock();
    int status = 0;
    child->try_reap(status);
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    auto idx = static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(idx, ms.size() - 1)];
  };
  std::printf("exit_latency_trials %d count\n", trials);
  std::printf("exit_latency_min %.3f ms\n", ms.front());
  std::printf("exit_latency_median %.3f ms\n", at(0.5));
  std::printf("exit_latency_p99 %.3f ms\n", at(0.99));
  return 0;
}
