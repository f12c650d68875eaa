#include "destinations/braze/emulator.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "destinations/braze/braze.h"

namespace backflow::braze {
namespace {

using nlohmann::json;

constexpr const char* kKey = BrazeEmulator::kDefaultApiKey;

class BrazeEmulatorTest : public ::testing::Test {
 protected:
  void Start(json options = json::object()) {
    sandbox::SandboxOptions o;
    o.clock = &clock_;
    o.emulator_options = {{"braze", options}};
    sandbox_ = std::make_unique<sandbox::Sandbox>(o);
    sandbox_->Add(std::make_unique<BrazeEmulator>(&clock_));
    Result<int> port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }

  httplib::Result Post(const std::string& path, const json& body, const std::string& key = kKey) {
    httplib::Headers h = {{"Authorization", "Bearer " + key}};
    return client_->Post(path.c_str(), h, body.dump(), "application/json");
  }

  json Users() { return sandbox_->Find("braze")->Records(); }

  static json Attributes(size_t n, size_t first = 0) {
    json a = json::array();
    for (size_t i = first; i < first + n; ++i)
      a.push_back({{"external_id", "u" + std::to_string(i)}, {"n", i}});
    return a;
  }

  ManualClock clock_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<httplib::Client> client_;
};

// A run opens its senders' connections all at once. A listen backlog smaller than that
// (cpp-httplib's default is 5) makes the kernel drop SYNs, which the client resends only
// after a second: a stall of one second at the start of every run.
TEST_F(BrazeEmulatorTest, AcceptsThirtyTwoNewConnectionsAtOnceWithoutAResentSyn) {
  Start();
  const int port = sandbox_->port();
  constexpr int kClients = 32;
  std::vector<int> fds(kClients, -1);
  std::vector<double> seconds(kClients, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fds[i] = socket(AF_INET, SOCK_STREAM, 0);
      const auto start = std::chrono::steady_clock::now();
      if (connect(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        seconds[i] = -1;
      } else {
        const auto took = std::chrono::steady_clock::now() - start;
        seconds[i] = std::chrono::duration<double>(took).count();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int fd : fds) close(fd);
  for (int i = 0; i < kClients; ++i) {
    EXPECT_GE(seconds[i], 0) << "connection " << i << " refused";
    // A dropped SYN is resent after the kernel's initial retransmission timeout, 1 s.
    EXPECT_LT(seconds[i], 0.9) << "connection " << i;
  }
}

TEST_F(BrazeEmulatorTest, RefusesAWrongKeyWithoutEchoingIt) {
  Start({{"api_key", "real-key"}});
  auto res = Post("/users/track", {{"attributes", Attributes(1)}}, "wrong-key");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body.find("wrong-key"), std::string::npos);
  EXPECT_TRUE(res->has_header("X-RateLimit-Limit"));
  EXPECT_TRUE(Users().empty());
  res = Post("/users/track", {{"attributes", Attributes(1)}}, "real-key");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
}

TEST_F(BrazeEmulatorTest, StoresTypedAttributesAndNullUnsets) {
  Start();
  auto res = Post("/users/track", {{"attributes",
                                    {{{"external_id", "u1"},
                                      {"ltv", 12.5},
                                      {"vip", true},
                                      {"segment", "high"},
                                      {"prefs", {{"lang", "en"}}}}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(json::parse(res->body),
            json::parse(R"({"message":"success","attributes_processed":1})"));
  EXPECT_EQ(Users()["u1"],
            json::parse(R"({"ltv":12.5,"vip":true,"segment":"high","prefs":{"lang":"en"}})"));

  res = Post("/users/track", {{"attributes", {{{"external_id", "u1"}, {"segment", nullptr}}}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(Users()["u1"], json::parse(R"({"ltv":12.5,"vip":true,"prefs":{"lang":"en"}})"));
}

TEST_F(BrazeEmulatorTest, SeventyFiveObjectsInTotal) {
  Start();
  auto res = Post("/users/track", {{"attributes", Attributes(75)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(Users().size(), 75u);

  json events = json::array({{{"external_id", "u0"}, {"name", "e"}}});
  res = Post("/users/track", {{"attributes", Attributes(75, 100)}, {"events", events}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["message"], "Max Input Length Exceeded");
  EXPECT_EQ(Users().size(), 75u) << "a refused request applies nothing";
}

TEST_F(BrazeEmulatorTest, LegacyLimitsCountPerArray) {
  Start({{"legacy_limits", true}});
  json events = json::array();
  for (int i = 0; i < 75; ++i) events.push_back({{"external_id", "u0"}, {"name", "e"}});
  auto res = Post("/users/track", {{"attributes", Attributes(75)}, {"events", events}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  res = Post("/users/track", {{"attributes", Attributes(76)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(BrazeEmulatorTest, PerObjectErrorsNameTheirIndexAndSkipOnlyThatObject) {
  Start();
  json attributes = {
      {{"external_id", "ok0"}, {"a", 1}},
      {{"a", 1}},                                             // no identifier
      {{"external_id", "x"}, {"braze_id", "y"}},              // two identifiers
      {{"external_id", "bad3"}, {"a", "__reject__"}},         // rejected value
      {{"external_id", "bad4"}, {"invalid_name", 1}},         // rejected name
      {{"external_id", "bad5"}, {"first_name", {{"x", 1}}}},  // object for a standard attribute
      {{"external_id", "ok6"}, {"email", "a@b.c"}},           // email is an attribute here
      {{"email", "solo@b.c"}, {"a", 2}},                      // email identifies
  };
  auto res = Post("/users/track", {{"attributes", attributes}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201);
  json body = json::parse(res->body);
  EXPECT_EQ(body["message"], "success");
  EXPECT_EQ(body["attributes_processed"], 3);
  std::vector<int> indexes;
  for (const json& e : body["errors"]) {
    EXPECT_EQ(e["input_array"], "attributes");
    EXPECT_TRUE(e["type"].is_string());
    indexes.push_back(e["index"].get<int>());
  }
  EXPECT_EQ(indexes, (std::vector<int>{1, 2, 3, 4, 5}));
  json users = Users();
  EXPECT_TRUE(users.contains("ok0"));
  EXPECT_EQ(users["ok6"]["email"], "a@b.c");
  EXPECT_TRUE(users.contains("email:solo@b.c"));
  for (const char* gone : {"x", "bad3", "bad4", "bad5"}) EXPECT_FALSE(users.contains(gone)) << gone;
}

TEST_F(BrazeEmulatorTest, UpdateExistingOnlyCreatesNothing) {
  Start();
  ASSERT_EQ(Post("/users/track", {{"attributes", Attributes(1)}})->status, 201);
  json attributes = {{{"external_id", "u0"}, {"n", 5}, {"_update_existing_only", true}},
                     {{"external_id", "new"}, {"n", 6}, {"_update_existing_only", true}}};
  auto res = Post("/users/track", {{"attributes", attributes}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201);
  json body = json::parse(res->body);
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["index"], 1);
  EXPECT_EQ(Users()["u0"]["n"], 5);
  EXPECT_FALSE(Users().contains("new"));
  EXPECT_FALSE(Users()["u0"].contains("_update_existing_only"));
}

TEST_F(BrazeEmulatorTest, DeletesAtMostFiftyIds) {
  Start();
  ASSERT_EQ(Post("/users/track", {{"attributes", Attributes(3)}})->status, 201);
  auto res = Post("/users/delete", {{"external_ids", {"u0", "u1", "never"}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(json::parse(res->body)["deleted"], 2);
  EXPECT_EQ(Users().size(), 1u);

  json ids = json::array();
  for (int i = 0; i < 51; ++i) ids.push_back("u" + std::to_string(i));
  res = Post("/users/delete", {{"external_ids", ids}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(Users().size(), 1u);
}

TEST_F(BrazeEmulatorTest, RateLimitHeadersAndRollingWindow429) {
  Start({{"rate_limit", {{"requests", 2}, {"per_ms", 3000}}}});
  const long long now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  auto res = Post("/users/track", {{"attributes", Attributes(1)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("X-RateLimit-Limit"), "2");
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "1");
  const long long reset = std::stoll(res->get_header_value("X-RateLimit-Reset"));
  EXPECT_GE(reset, now_s + 3);
  EXPECT_LE(reset, now_s + 4);
  ASSERT_EQ(Post("/users/track", {{"attributes", Attributes(1)}})->status, 201);

  res = Post("/users/track", {{"attributes", Attributes(1, 50)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_FALSE(res->has_header("Retry-After"));
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "0");
  EXPECT_TRUE(res->has_header("X-RateLimit-Reset"));
  EXPECT_FALSE(Users().contains("u50"));

  clock_.Advance(std::chrono::milliseconds(3001));
  res = Post("/users/track", {{"attributes", Attributes(1, 50)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_TRUE(Users().contains("u50"));
}

// Unconfigured, the emulator refuses what Braze refuses: the 3,001st /users/track request
// inside 3 s. "rate_limit": null only counts (for the headers).
TEST_F(BrazeEmulatorTest, EnforcesBrazesRealLimitUnlessTurnedOff) {
  Start();
  const json one = {{"attributes", Attributes(1)}};
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(Post("/users/track", one)->status, 201) << i;
  auto res = Post("/users/track", one);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("X-RateLimit-Limit"), "3000");
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "0");
  clock_.Advance(std::chrono::milliseconds(3001));
  EXPECT_EQ(Post("/users/track", one)->status, 201);

  sandbox_.reset();
  Start({{"rate_limit", nullptr}});
  for (int i = 0; i < 3001; ++i) ASSERT_EQ(Post("/users/track", one)->status, 201) << i;
  res = Post("/users/track", one);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "0");
}

TEST_F(BrazeEmulatorTest, HiddenRateLimitAnswersBrazeShaped429) {
  Start();
  sandbox::FaultSpec faults;
  faults.hidden_rate_limit = std::make_pair(0LL, std::chrono::milliseconds(1000));
  sandbox_->SetFaults("braze", faults);
  auto res = Post("/users/track", {{"attributes", Attributes(1)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_FALSE(res->has_header("Retry-After"));
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "0");
  EXPECT_TRUE(Users().empty());
}

// The client against the emulator: what one builds, the other accepts, and the answer
// classifies back onto the right records.
TEST_F(BrazeEmulatorTest, ClientRoundTrip) {
  Start();
  BrazeSettings settings;
  settings.base_url = sandbox_->base_url();
  settings.api_key = Secret(kKey);
  auto dest = NewBrazeDestination(settings);
  SyncConfig sync;
  sync.object = "users";
  sync.mode = SyncMode::kUpdate;
  ASSERT_EQ(Post("/users/track", {{"attributes", Attributes(1)}})->status, 201);  // u0 exists

  RecordBatch batch;
  batch.sync = &sync;
  batch.fields = {"n", "tier"};
  for (const char* id : {"u0", "nobody", "u0"}) {
    Record r;
    r.warehouse_id = id;
    r.values = {FieldValue{ValueKind::kInteger, "7"}, FieldValue{ValueKind::kString, "gold"}};
    batch.records.push_back(r);
  }
  batch.records[2].values[1].text = "__reject__";
  HttpRequest req = dest->BuildUpsert(batch);
  auto res = client_->Post(req.url.substr(settings.base_url.size()).c_str(),
                           httplib::Headers(req.headers.begin(), req.headers.end()), req.body,
                           "application/json");
  ASSERT_TRUE(res);
  HttpResponse answer;
  answer.status = res->status;
  answer.body = res->body;
  for (const auto& [k, v] : res->headers) answer.headers.emplace_back(k, v);

  BatchResult r = dest->ClassifyUpsert(batch, answer);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful) << r.reason;
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "u0");
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kSkipped);
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(Users()["u0"]["tier"], "gold");
  EXPECT_FALSE(Users().contains("nobody"));
  RateLimitHints hints = dest->ReadRateLimit(answer);
  EXPECT_EQ(hints.limit, 3000);
  EXPECT_TRUE(hints.reset_at.has_value());
}

}  // namespace
}  // namespace backflow::braze
