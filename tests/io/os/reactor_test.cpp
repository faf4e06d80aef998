#include "io/os/dir_watcher.hpp"
#include "io/os/fd_reactor.hpp"
#include "io/os/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace sf::io;
using sf::test::temp_dir;
using sf::test::write_file;

namespace {

constexpr auto deadline = std::chrono::seconds(5);

/// A counter that tests can wait on with a deadline.
struct waitable_count {
  std::mutex mtx;
  std::condition_variable cv;
  int count = 0;

  void bump() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      ++count;
    }
    cv.notify_all();
  }

  bool wait_for_at_least(int n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, deadline, [&] { return count >= n; });
  }

  int value() {
    std::lock_guard<std::mutex> guard{mtx};
    return count;
  }
};

std::unique_ptr<fd_reactor> make_reactor() {
  auto r = fd_reactor::create();
  REQUIRE(r);
  return std::move(*r);
}

void post(int efd) {
  uint64_t one = 1;
  REQUIRE(::write(efd, &one, sizeof(one)) == sizeof(one));
}

void drain(int efd) {
  uint64_t v;
  [[maybe_unused]] auto n = ::read(efd, &v, sizeof(v));
}

/// Makes sure the reactor thread has gone through `rounds` further epoll_wait rounds.
void flush_rounds(fd_reactor& r, int rounds) {
  unique_fd probe{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  waitable_count seen;
  auto id = r.watch(probe.get(), [&] {
    drain(probe.get());
    seen.bump();
  });
  REQUIRE(id);
  for (int i = 1; i <= rounds; ++i) {
    post(probe.get());
    REQUIRE(seen.wait_for_at_least(i));
  }
  r.unwatch(*id);
}

} // namespace

TEST_CASE("reactor reports a child's exit through its pidfd", "[proc]") {
  temp_dir d;
  auto r = make_reactor();
  auto c = spawn_process({{"sleep", "100"}, d.path(), {"PATH=/usr/bin:/bin"}, d / "log"});
  REQUIRE(c);
  waitable_count fired;
  auto id = r->watch_once(c->pidfd(), [&] { fired.bump(); });
  REQUIRE(id);
  REQUIRE_FALSE(c->signal(SIGKILL));
  REQUIRE(fired.wait_for_at_least(1));
  int status = 0;
  REQUIRE(c->try_reap(status));
  CHECK(describe_exit(status) == "killed by SIGKILL");
  // The pidfd stays readable, but a one-shot watch is called only once.
  flush_rounds(*r, 2);
  CHECK(fired.value() == 1);
}

TEST_CASE("reactor wakes on an eventfd each time it is written", "[proc]") {
  auto r = make_reactor();
  unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  waitable_count fired;
  auto id = r->watch(efd.get(), [&] {
    drain(efd.get());
    fired.bump();
  });
  REQUIRE(id);
  for (int i = 1; i <= 3; ++i) {
    post(efd.get());
    REQUIRE(fired.wait_for_at_least(i));
  }
  CHECK(r->watch(efd.get(), [] {}).engaged() == false); // one watch per fd
  r->unwatch(*id);
  post(efd.get());
  flush_rounds(*r, 2);
  CHECK(fired.value() == 3);
}

TEST_CASE("a callback can unwatch itself", "[proc]") {
  auto r = make_reactor();
  unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::atomic<fd_reactor::watch_id> self{0};
  waitable_count fired;
  std::atomic<bool> on_thread{false};
  // Never drained: level-triggered, so only the unwatch stops further calls.
  // (Catch assertions are not thread-safe: only record here, check on the test thread.)
  auto id = r->watch(efd.get(), [&] {
    on_thread = r->on_reactor_thread();
    r->unwatch(self.load());
    fired.bump();
  });
  REQUIRE(id);
  self = *id;
  post(efd.get());
  REQUIRE(fired.wait_for_at_least(1));
  flush_rounds(*r, 2);
  CHECK(fired.value() == 1);
  CHECK(on_thread.load());
  CHECK_FALSE(r->on_reactor_thread());
}

TEST_CASE("after unwatch returns on another thread the callback never runs", "[proc]") {
  auto r = make_reactor();
  unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  post(efd.get()); // stays readable: the callback fires back to back
  std::atomic<int> violations{0};
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> removed{false};
    waitable_count fired;
    auto id = r->watch(efd.get(), [&] {
      if (removed.load())
        ++violations;
      fired.bump();
    });
    REQUIRE(id);
    REQUIRE(fired.wait_for_at_least(1 + round % 3));
    r->unwatch(*id);
    removed = true;
  }
  flush_rounds(*r, 1);
  CHECK(violations.load() == 0);
}

TEST_CASE("stop is idempotent, concurrent-safe, and refuses new watches", "[proc]") {
  auto r = make_reactor();
  unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  waitable_count fired;
  REQUIRE(r->watch(efd.get(), [&] {
    drain(efd.get());
    fired.bump();
  }));
  std::thread other([&] { r->stop(); });
  r->stop();
  other.join();
  r->stop();
  CHECK_FALSE(r->watch(efd.get(), [] {}));
  post(efd.get());
  r.reset(); // the destructor after stop must not hang or crash
  CHECK(fired.value() == 0);
}

TEST_CASE("stop from inside a callback ends the thread and the destructor joins", "[proc]") {
  auto r = make_reactor();
  unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  waitable_count fired;
  REQUIRE(r->watch(efd.get(), [&] {
    r->stop();
    fired.bump();
  }));
  post(efd.get());
  REQUIRE(fired.wait_for_at_least(1));
  CHECK_FALSE(r->watch(efd.get(), [] {}));
  r.reset();
  CHECK(fired.value() == 1);
}

TEST_CASE("dir_watcher reports only the final name of an atomic rename", "[proc]") {
  temp_dir d;
  auto w = dir_watcher::create(d.path());
  REQUIRE(w);
  write_file(d / "M001.status.json.tmp.ab12", "{}");
  REQUIRE(::rename((d / "M001.status.json.tmp.ab12").c_str(), (d / "M001.status.json").c_str()) ==
          0);
  auto events = w->read_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == dir_event::changed);
  CHECK(events[0].name == "M001.status.json");
  CHECK(w->read_events().empty());

  REQUIRE(::unlink((d / "M001.status.json").c_str()) == 0);
  events = w->read_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == dir_event::removed);
  CHECK(events[0].name == "M001.status.json");

  write_file(d / "plain.txt", "x"); // a writer that does not rename
  events = w->read_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == dir_event::changed);
  CHECK(events[0].name == "plain.txt");
}

TEST_CASE("dir_watcher drives the reactor and reports the folder going away", "[proc]") {
  temp_dir d;
  auto sub = d / "watched";
  std::filesystem::create_directories(sub);
  auto w = dir_watcher::create(sub);
  REQUIRE(w);
  auto r = make_reactor();
  std::mutex mtx;
  std::vector<dir_event> got;
  waitable_count batches;
  waitable_count gone;
  auto id = r->watch(w->fd(), [&] {
    auto events = w->read_events();
    bool dir_gone = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& e : events) {
        dir_gone = dir_gone || e.kind == dir_event::watched_dir_gone;
        got.push_back(e);
      }
    }
    batches.bump();
    if (dir_gone)
      gone.bump();
  });
  REQUIRE(id);
  write_file(sub + "/a.json", "1");
  REQUIRE(batches.wait_for_at_least(1));
  std::filesystem::remove(sub + "/a.json");
  std::filesystem::remove(sub);
  CHECK(gone.wait_for_at_least(1));
  auto has = [&](dir_event::kind_t k) {
    std::lock_guard<std::mutex> guard{mtx};
    return std::any_of(got.begin(), got.end(), [&](const dir_event& e) { return e.kind == k; });
  };
  r->unwatch(*id);
  CHECK(has(dir_event::changed));
  CHECK(has(dir_event::removed));
  CHECK(has(dir_event::watched_dir_gone));
  CHECK_FALSE(dir_watcher::create(d / "missing"));
}

TEST_CASE("dir_watcher turns a queue overflow into one overflow event", "[proc]") {
  int limit = 0;
  {
    std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
    in >> limit;
  }
  if (limit <= 0 || limit > 16384) {
    WARN("max_queued_events is " << limit << "; overflow not exercised (too slow)");
    return;
  }
  temp_dir d;
  auto w = dir_watcher::create(d.path());
  REQUIRE(w);
  // Each rename queues two events (moved away, moved in); 8k renames are cheap.
  write_file(d / "a", "x");
  w->read_events();
  std::string names[2] = {d / "a", d / "b"};
  int failures = 0;
  for (int i = 0; i < limit / 2 + 16; ++i)
    failures += ::rename(names[i % 2].c_str(), names[(i + 1) % 2].c_str()) != 0;
  REQUIRE(failures == 0);
  auto events = w->read_events();
  auto overflows = std::count_if(events.begin(), events.end(),
                                 [](const dir_event& e) { return e.kind == dir_event::overflow; });
  CHECK(overflows == 1);
  CHECK(events.back().kind == dir_event::overflow);
  CHECK(w->read_events().empty());
}

TEST_CASE("a manual reactor calls back only inside poll, on the polling thread", "[reactor]") {
  auto made = sf::io::fd_reactor::create_manual();
  REQUIRE(made);
  auto& reactor = **made;
  sf::io::unique_fd ev{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  REQUIRE(ev);
  int calls = 0;
  std::thread::id caller;
  auto id = reactor.watch(ev.get(), [&] {
    uint64_t n;
    REQUIRE(::read(ev.get(), &n, sizeof n) == static_cast<ssize_t>(sizeof n));
    ++calls;
    caller = std::this_thread::get_id();
  });
  REQUIRE(id);
  CHECK(reactor.poll(std::chrono::milliseconds(0)) == 0);
  uint64_t one = 1;
  REQUIRE(::write(ev.get(), &one, sizeof one) == static_cast<ssize_t>(sizeof one));
  // Ready, but nothing runs until the owner polls.
  pollfd pfd{ev.get(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 0) == 1);
  CHECK(calls == 0);
  CHECK(reactor.poll(std::chrono::milliseconds(1000)) == 1);
  CHECK(calls == 1);
  CHECK(caller == std::this_thread::get_id());
  CHECK(reactor.on_reactor_thread());
  // A one-shot watch removed from its own callback: unwatch must not wait for itself.
  sf::io::unique_fd ev2{::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK)};
  REQUIRE(ev2);
  sf::io::fd_reactor::watch_id self_id = 0;
  auto second = reactor.watch(ev2.get(), [&] { reactor.unwatch(self_id); });
  REQUIRE(second);
  self_id = *second;
  CHECK(reactor.poll(std::chrono::milliseconds(1000)) == 1);
  CHECK(reactor.poll(std::chrono::milliseconds(0)) == 0);
  reactor.unwatch(*id);
  reactor.stop();
  CHECK(reactor.poll(std::chrono::milliseconds(0)) == 0);
}
