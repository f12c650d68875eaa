// The dashboard (GET /) of a running daemon, in a real headless Chromium: the page renders
// and shows a seeded run's facts — the sync's moment, the delivered count as a person reads
// it ("1,000") and why a record failed. The screenshot is kept as a test artifact:
// ${CMAKE_BINARY_DIR}/test-artifacts/dashboard.png.
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/daemon_fixture.h"

namespace backflow::daemon_test {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kMoment = "Give sales the warehouse lead score on every contact";

class DashboardInBrowser : public DaemonTest {
 protected:
  // Runs headless Chromium on the dashboard with `mode` (--dump-dom or --screenshot=...);
  // its standard output (the DOM for --dump-dom). Fails the test when it does not finish.
  std::string Chromium(const std::string& mode, const std::string& name) {
    const std::string profile = MakeTempDir("bf-chromium-");  // new and empty every time
    EXPECT_FALSE(profile.empty());
    Finished f = RunToEnd({kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-quic", "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync",
                           "--user-data-dir=" + profile, "--window-size=1280,2000", mode,
                           "http://127.0.0.1:" + std::to_string(http_port_) + "/"},
                          dir_, name, seconds(90));
    std::filesystem::remove_all(profile);
    EXPECT_EQ(f.exit_code, 0) << Tail(ReadFile(dir_ + "/" + name + ".log"));
    return f.out;
  }
};

TEST_F(DashboardInBrowser, ShowsTheSeededRunAndSavesAScreenshot) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << "Chromium is missing: run scripts/install-deps.sh (Debian package chromium)";
  backflow::testing::TestDatabase db;
  SeedContacts(db.dsn(), 1001, {500});  // 1,000 delivered, one refused by HubSpot
  WriteConfig(db.dsn(), ContactSync("contact_scores", kMoment, "contacts", "{ every: 1h }"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "contact_scores", 1)) << DaemonLog();
  ASSERT_EQ(db.Count("SELECT rows_succeeded FROM backflow.sync_runs"), 1000);
  const std::string reason =
      db.Scalar("SELECT key FROM backflow.sync_runs, jsonb_each(error_summary) LIMIT 1");
  ASSERT_FALSE(reason.empty()) << "the rejected row left no failure reason in sync_runs";

  const std::string dom = Chromium("--dump-dom", "chromium-dom");
  EXPECT_NE(dom.find("</html>"), std::string::npos) << Tail(dom);
  EXPECT_NE(dom.find(kMoment), std::string::npos) << Tail(dom);
  EXPECT_NE(dom.find("1,000"), std::string::npos) << Tail(dom);
  // Text nodes come back with only & < > escaped; attribute-safe escaping would turn
  // the reason's quotes into &quot;.
  auto on_page = [&dom](std::string text) {
    if (dom.find(text) != std::string::npos) return true;
    ReplaceAll(&text, "\"", "&quot;");
    return dom.find(text) != std::string::npos;
  };
  EXPECT_TRUE(on_page(reason)) << "failure reason '" << reason << "' not on the page\n"
                               << Tail(dom);
  // ... in HubSpot's words too, with the record it happened to.
  const std::string words = db.Scalar("SELECT last_error FROM backflow.retry_queue");
  EXPECT_TRUE(on_page(words)) << "'" << words << "' not on the page\n" << Tail(dom);
  EXPECT_NE(dom.find("user_500"), std::string::npos) << Tail(dom);
  EXPECT_EQ(dom.find("sandbox-hubspot-token"), std::string::npos);
  EXPECT_EQ(dom.find("u500@example.com"), std::string::npos) << "PII on the dashboard";

  const std::string artifacts = BACKFLOW_BINARY_DIR "/test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::string png = artifacts + "/dashboard.png";
  std::filesystem::remove(png);
  Chromium("--screenshot=" + png, "chromium-screenshot");
  const std::string image = ReadFile(png);
  ASSERT_GT(image.size(), 10000u) << "no real screenshot at " << png;
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::cerr << "dashboard screenshot: " << png << " (" << image.size() << " bytes)\n";

  ASSERT_NO_FATAL_FAILURE(StopDaemon());
}

}  // namespace
}  // namespace backflow::daemon_test
