// deploy/backflow.service passes `systemd-analyze verify` and carries the settings the
// deployment relies on (tests/observability/verify_unit.sh does both).
#include <gtest/gtest.h>

#include <cstdlib>

#include "daemon/process.h"

namespace backflow::daemon_test {
namespace {

TEST(SystemdUnit, VerifyPasses) {
  const std::string dir = MakeTempDir("bf-unit-");
  ASSERT_FALSE(dir.empty());
  const std::string out = dir + "/verify.out";
  const std::string cmd = std::string("sh " BACKFLOW_SOURCE_DIR "/tests/observability/verify_unit.sh ")
                          + BACKFLOW_SOURCE_DIR "/deploy/backflow.service >'" + out + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string text = ReadFile(out);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("deploy/backflow.service: OK"), std::string::npos) << text;
  std::remove(out.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace backflow::daemon_test
