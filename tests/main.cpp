#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char* argv[]) {
  // Every coordinator of the suite (in this process or in a CLI it spawns) aborts on a
  // milestone move that core/milestone_state.cpp does not list.
  ::setenv("SF_STRICT_MOVES", "1", 1);
  return Catch::Session().run(argc, argv);
}
