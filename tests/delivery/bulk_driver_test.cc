// DeliverBulk / ResumeBulkJobs: the bulk job loop through the channel's layers, with a
// fake bulk protocol, a scripted in-process job server and a ManualClock (no sleeping).
//
// Fake protocol (JSON throughout; every data call carries "Authorization: Bearer <t>"):
//   POST http://fake/token -> 200 "t<n>"
//   POST http://fake/jobs -> {"id","state":"Open"}
//   PUT  http://fake/jobs/<id>/batches  body: ids joined by ','   -> 201
//   PATCH http://fake/jobs/<id> {"state":"UploadComplete"|"Aborted"} -> the job
//   GET  http://fake/jobs/<id> -> the job; each poll after the close advances one state
//   GET  http://fake/jobs/<id>/ok | /bad -> [{"id","did"}] | [{"id","error"}], shuffled
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "backflow/bulk.h"
#include "delivery/bulk_journal.h"
#include "delivery/channel.h"
#include "fakes.h"

namespace backflow {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::MakeConfig;
using testing::Respond;

constexpr Millis kPoll{2000};

class FakeBulk final : public BulkProtocol {
 public:
  explicit FakeBulk(const std::string* session) : session_(session) {}
  size_t Threshold() const override { return 10; }
  Millis PollInterval() const override { return kPoll; }
  bool NeedsReauthentication(const HttpResponse& r) const override { return r.status == 401; }
  std::vector<BulkPart> EncodeParts(const RecordBatch& batch) const override {
    std::vector<BulkPart> parts;
    const std::span<const Record> all(batch.records);
    for (size_t first = 0; first < all.size(); first += 100) {
      const size_t n = std::min<size_t>(100, all.size() - first);
      BulkPart p{batch.sync, batch.fields, all.subspan(first, n), ""};
      for (const Record& r : p.records) p.body += (p.body.empty() ? "" : ",") + r.warehouse_id;
      parts.push_back(std::move(p));
    }
    return parts;
  }
  HttpRequest BuildCreateJob(const SyncConfig&) const override {
    return Req("POST", "http://fake/jobs", "{}", false);
  }
  Result<BulkJob> ParseJob(const HttpResponse& r) const override {
    if (r.status >= 500 || r.status == 0) return Status::Unavailable("job request failed");
    if (r.status != 200) return Status::Failed("job request refused");
    json j = json::parse(r.body);
    BulkJob job;
    job.id = j.at("id").get<std::string>();
    static const std::map<std::string, BulkJobState> kStates = {
        {"Open", BulkJobState::kOpen}, {"UploadComplete", BulkJobState::kUploadComplete},
        {"InProgress", BulkJobState::kInProgress}, {"JobComplete", BulkJobState::kJobComplete},
        {"Failed", BulkJobState::kFailed}, {"Aborted", BulkJobState::kAborted}};
    job.state = kStates.at(j.at("state").get<std::string>());
    return job;
  }
  HttpRequest BuildUpload(const BulkJob& job, const BulkPart& part) const override {
    return Req("PUT", "http://fake/jobs/" + job.id + "/batches", part.body);
  }
  Status AcceptUpload(const HttpResponse& r) const override {
    if (r.status == 201) return Status::Ok();
    return r.status >= 500 ? Status::Unavailable("upload failed") : Status::Failed("refused");
  }
  HttpRequest BuildClose(const BulkJob& job) const override {
    return Req("PATCH", "http://fake/jobs/" + job.id, R"({"state":"UploadComplete"})");
  }
  HttpRequest BuildAbort(const BulkJob& job) const override {
    return Req("PATCH", "http://fake/jobs/" + job.id, R"({"state":"Aborted"})");
  }
  HttpRequest BuildPoll(const BulkJob& job) const override {
    return Req("GET", "http://fake/jobs/" + job.id, "");
  }
  HttpRequest BuildResults(const BulkJob& job, BulkResultSet which) const override {
    return Req("GET", "http://fake/jobs/" + job.id +
                          (which == BulkResultSet::kSuccessful ? "/ok" : "/bad"), "");
  }
  Result<std::vector<RecordOutcome>> ParseResults(const BulkPart& part, const HttpResponse& ok,
                                                  const HttpResponse& bad) const override {
    std::map<std::string, RecordOutcome> by_id;
    for (const auto& e : json::parse(ok.body)) {
      RecordOutcome o;
      o.destination_id = e.at("did").get<std::string>();
      by_id[e.at("id").get<std::string>()] = o;
    }
    for (const auto& e : json::parse(bad.body)) {
      RecordOutcome o;
      o.kind = OutcomeKind::kPermanent;
      o.category = e.at("error").get<std::string>();
      by_id[e.at("id").get<std::string>()] = o;
    }
    std::vector<RecordOutcome> out;
    for (const Record& r : part.records) {
      auto it = by_id.find(r.warehouse_id);
      if (it != by_id.end()) {
        out.push_back(it->second);
      } else {
        RecordOutcome o;
        o.kind = OutcomeKind::kRetryable;
        o.category = "BULK_UNPROCESSED";
        out.push_back(o);
      }
    }
    return out;
  }

 private:
  HttpRequest Req(const char* method, std::string url, std::string body,
                  bool idempotent = true) const {
    HttpRequest r{method, std::move(url), {{"Authorization", "Bearer " + *session_}},
                  std::move(body), idempotent};
    return r;
  }
  const std::string* session_;
};

class BulkDestination final : public Destination {
 public:
  BulkDestination() : bulk_(&session_) {}
  size_t MaxBatchRecords(const SyncConfig&) const override { return 100; }
  std::optional<HttpRequest> BuildAuthRequest() const override {
    return HttpRequest{"POST", "http://fake/token", {}, "secret=hunter2", true};
  }
  Status AcceptAuthResponse(const HttpResponse& r) override {
    if (r.status != 200) return Status::AuthRefused("refused");
    session_ = r.body;  // the tests drive the channel from one thread
    return Status::Ok();
  }
  HttpRequest BuildUpsert(const RecordBatch&) const override { return {}; }
  BatchResult ClassifyUpsert(const RecordBatch&, const HttpResponse&) const override { return {}; }
  RateLimitHints ReadRateLimit(const HttpResponse& r) const override {
    RateLimitHints h;
    if (auto v = r.Header("X-Daily-Used")) h.daily_used = std::stoll(*v);
    if (auto v = r.Header("X-Daily-Limit")) h.daily_limit = std::stoll(*v);
    return h;
  }
  double DailyQuotaShare() const override { return 0.5; }
  const BulkProtocol* bulk() const override { return &bulk_; }

 private:
  std::string session_;
  FakeBulk bulk_;
};

// The job server: state per job, tokens, scripted faults.
struct JobServer {
  struct Job {
    std::string state = "Open";
    std::vector<std::string> ids;
  };
  std::map<std::string, Job> jobs;
  int tokens = 0;
  std::string valid_token;
  std::set<std::string> rejected;    // ids that land in the failed set
  int poll_failures = 0;             // the next polls answer 503
  bool expire_after_upload = false;  // the session expires right after the first upload
  bool abort_on_poll = false;        // somebody aborts the job in the org
  bool refuse_sessions = false;      // every data call answers 401
  std::function<void()> on_poll;     // called at each poll
  long long daily_used = -1;         // >= 0: X-Daily-Used / X-Daily-Limit: 100 headers

  HttpResponse Handle(const HttpRequest& req) {
    if (req.url == "http://fake/token") {
      valid_token = "t" + std::to_string(++tokens);
      return Respond(200, valid_token);
    }
    if (auto auth = FindHeader(req.headers, "Authorization");
        refuse_sessions || !auth || *auth != "Bearer " + valid_token)
      return Respond(401, R"([{"errorCode":"INVALID_SESSION_ID"}])");
    HttpResponse r = Route(req);
    if (daily_used >= 0) {
      r.headers.emplace_back("X-Daily-Used", std::to_string(daily_used));
      r.headers.emplace_back("X-Daily-Limit", "100");
    }
    return r;
  }

  HttpResponse Route(const HttpRequest& req) {
    const std::string path = req.url.substr(std::string("http://fake").size());
    if (req.method == "POST" && path == "/jobs") {
      std::string id = "J" + std::to_string(jobs.size() + 1);
      jobs[id];
      return JobJson(id);
    }
    const std::string rest = path.substr(std::string("/jobs/").size());
    const std::string id = rest.substr(0, rest.find('/'));
    const std::string sub = rest.size() > id.size() ? rest.substr(id.size()) : "";
    if (!jobs.count(id)) return Respond(404, "[]");
    Job& job = jobs[id];
    if (req.method == "PUT") {
      for (size_t b = 0, e; b <= req.body.size(); b = e + 1) {
        e = req.body.find(',', b);
        if (e == std::string::npos) e = req.body.size();
        job.ids.push_back(req.body.substr(b, e - b));
      }
      if (expire_after_upload) {
        expire_after_upload = false;
        valid_token.clear();
      }
      return Respond(201);
    }
    if (req.method == "PATCH") {
      job.state = json::parse(req.body).at("state").get<std::string>();
      return JobJson(id);
    }
    if (sub.empty()) {  // poll
      if (on_poll) on_poll();
      if (poll_failures > 0) {
        --poll_failures;
        return Respond(503);
      }
      if (abort_on_poll) job.state = "Aborted";
      else if (job.state == "UploadComplete") job.state = "InProgress";
      else if (job.state == "InProgress") job.state = "JobComplete";
      return JobJson(id);
    }
    json out = json::array();
    std::vector<std::string> ids = job.ids;
    std::reverse(ids.begin(), ids.end());  // results come in no particular order
    std::rotate(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 3), ids.end());
    for (const auto& w : ids) {
      const bool bad = rejected.count(w) > 0;
      if (sub == "/ok" && !bad) out.push_back({{"id", w}, {"did", "SF" + w}});
      if (sub == "/bad" && bad) out.push_back({{"id", w}, {"error", "INVALID_FIELD"}});
    }
    return Respond(200, out.dump());
  }

  HttpResponse JobJson(const std::string& id) {
    return Respond(200, json{{"id", id}, {"state", jobs[id].state}}.dump());
  }
};

class MemoryJournal final : public BulkJobJournal {
 public:
  Status Save(const BulkJobEntry& e) override {
    entries[e.job_id] = e;
    finished.erase(e.job_id);
    return Status::Ok();
  }
  Status Finish(const std::string& id, BulkJobState) override {
    finished.insert(id);
    return Status::Ok();
  }
  Result<std::vector<BulkJobEntry>> ListUnfinished(const std::string& sync,
                                                   const std::string& dest) override {
    std::vector<BulkJobEntry> out;
    for (const auto& [id, e] : entries)
      if (!finished.count(id) && e.sync_name == sync && e.destination == dest) out.push_back(e);
    return out;
  }
  std::map<std::string, BulkJobEntry> entries;
  std::set<std::string> finished;
};

struct Rig {
  Rig()
      : config(MakeConfig(1000, Millis(1000))),
        random(Random::Seeded(5)),
        transport(&clock, [this](const HttpRequest& r) { return server.Handle(r); }),
        channel(std::make_unique<DestinationChannel>(config, &destination, &transport, &clock,
                                                     random.get(), Telemetry::Null())) {
    sync.name = "leads";
    sync.destination = "fake";
    sync.object = "Lead";
    channel->SetBulkJournal(&journal);
  }
  RecordBatch Batch(int n) {
    RecordBatch b;
    b.sync = &sync;
    b.fields = {"Email", "Score"};
    for (int i = 0; i < n; ++i) {
      Record r;
      r.warehouse_id = "w" + std::to_string(i);
      r.row_hash = "h" + std::to_string(i);
      r.values = {{ValueKind::kString, "u" + std::to_string(i) + "@example.com"},
                  {ValueKind::kInteger, std::to_string(i)}};
      b.records.push_back(r);
    }
    return b;
  }
  size_t Sent(const std::string& method, const std::string& suffix = "") {
    size_t n = 0;
    for (const auto& s : transport.sent())
      n += s.request.method == method && s.request.url.size() >= suffix.size() &&
           s.request.url.compare(s.request.url.size() - suffix.size(), suffix.size(), suffix) == 0;
    return n;
  }

  ManualClock clock;
  DestinationConfig config;
  std::unique_ptr<Random> random;
  JobServer server;
  BulkDestination destination;
  FakeTransport transport;
  MemoryJournal journal;
  SyncConfig sync;
  std::unique_ptr<DestinationChannel> channel;
};

int CountKind(const std::vector<RecordOutcome>& outcomes, OutcomeKind kind) {
  return static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                        [&](const RecordOutcome& o) { return o.kind == kind; }));
}

TEST(BulkDriverTest, DrivesEveryPartThroughTheWholeLifecycle) {
  Rig rig;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(250));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.outcomes.size(), 250u);
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kDelivered), 250);
  for (int i : {0, 99, 100, 249})
    EXPECT_EQ(r.outcomes[i].destination_id, "SFw" + std::to_string(i));
  // Three jobs (parts of 100): create, upload, close, two polls, two result sets each.
  EXPECT_EQ(rig.server.jobs.size(), 3u);
  EXPECT_EQ(rig.Sent("POST", "/jobs"), 3u);
  EXPECT_EQ(rig.Sent("PUT"), 3u);
  EXPECT_EQ(rig.Sent("PATCH"), 3u);
  EXPECT_EQ(rig.Sent("GET", "/ok") + rig.Sent("GET", "/bad"), 6u);
  EXPECT_EQ(r.api_requests, 3 * 7);
  EXPECT_EQ(rig.server.tokens, 1);  // authenticated once, before the first request
  EXPECT_EQ(rig.transport.sent().front().request.url, "http://fake/token");
  // Polls waited on the injected clock: at least one interval before each poll.
  EXPECT_GE(rig.clock.slept(), 6 * kPoll);
  // Each job was journalled once its upload completed, and finished after its results.
  EXPECT_EQ(rig.journal.entries.size(), 3u);
  EXPECT_EQ(rig.journal.finished.size(), 3u);
  EXPECT_EQ(rig.journal.entries["J2"].records.size(), 100u);
  EXPECT_EQ(rig.journal.entries["J2"].records[0].warehouse_id, "w100");
  EXPECT_EQ(rig.journal.entries["J2"].records[0].row_hash, "h100");
}

TEST(BulkDriverTest, APollAnswering5xxIsRetriedWithBackoff) {
  Rig rig;
  rig.server.poll_failures = 2;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(20));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kDelivered), 20);
  EXPECT_EQ(rig.Sent("GET", "/J1"), 4u);  // two 503s, then InProgress, JobComplete
  EXPECT_EQ(r.api_requests, 7 + 2);
}

TEST(BulkDriverTest, PollsThatNeverRecoverLeaveTheRowsPendingAndTheJobResumable) {
  Rig rig;
  rig.server.poll_failures = 100;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(5));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kRetryable), 5);
  EXPECT_EQ(r.outcomes[0].category, "NOT_SENT");
  EXPECT_EQ(rig.Sent("GET", "/J1"), static_cast<size_t>(rig.config.retry.max_attempts));
  EXPECT_EQ(rig.journal.finished.size(), 0u);
}

TEST(BulkDriverTest, AnExpiredSessionMidJobReauthenticatesOnceAndRepeatsTheStep) {
  Rig rig;
  rig.server.expire_after_upload = true;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(30));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kDelivered), 30);
  EXPECT_EQ(rig.server.tokens, 2);
  EXPECT_EQ(rig.Sent("PATCH"), 2u);  // the close, refused with 401, then repeated
  EXPECT_EQ(rig.Sent("PUT"), 1u);    // the upload is not repeated
  EXPECT_EQ(rig.server.jobs["J1"].ids.size(), 30u);
}

TEST(BulkDriverTest, ASessionRefusedAgainAfterReauthenticatingStopsTheDelivery) {
  Rig rig;
  rig.server.refuse_sessions = true;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(3));
  EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(rig.server.tokens, 2);
  EXPECT_EQ(rig.Sent("POST", "/jobs"), 2u);
  EXPECT_EQ(r.outcomes[2].category, "NOT_SENT");
}

TEST(BulkDriverTest, FailedResultsArePermanentAndMatchedByKeyNotOrder) {
  Rig rig;
  rig.server.rejected = {"w3", "w17", "w41"};
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(50));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kPermanent), 3);
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kDelivered), 47);
  for (int i : {3, 17, 41}) {
    EXPECT_EQ(r.outcomes[i].kind, OutcomeKind::kPermanent) << i;
    EXPECT_EQ(r.outcomes[i].category, "INVALID_FIELD");
  }
  for (int i : {0, 4, 16, 18, 49}) EXPECT_EQ(r.outcomes[i].destination_id, "SFw" + std::to_string(i));
}

TEST(BulkDriverTest, CancelWhilePollingLeavesEveryRowNotSentAndTheJobUnfinished) {
  Rig rig;
  rig.server.on_poll = [&] { rig.channel->Cancel(); };
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(120));
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  ASSERT_EQ(r.outcomes.size(), 120u);
  for (const auto& o : r.outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kRetryable);
    EXPECT_EQ(o.category, "NOT_SENT");
  }
  EXPECT_EQ(rig.Sent("GET", "/J1"), 1u);
  EXPECT_EQ(rig.Sent("POST", "/jobs"), 1u);  // the second part never started
  EXPECT_EQ(rig.Sent("PATCH"), 1u);          // closed, not aborted: it can be resumed
  EXPECT_EQ(rig.journal.entries.size(), 1u);
  EXPECT_EQ(rig.journal.finished.size(), 0u);
}

TEST(BulkDriverTest, ARestartedChannelResumesTheUnfinishedJobWithoutUploadingAgain) {
  Rig rig;
  rig.server.on_poll = [&] { rig.channel->Cancel(); };
  (void)rig.channel->DeliverBulk(rig.Batch(40));
  rig.server.on_poll = nullptr;
  rig.server.rejected = {"w7"};
  // The daemon restarts: a new channel (new session) over the same journal and org.
  rig.channel = std::make_unique<DestinationChannel>(rig.config, &rig.destination, &rig.transport,
                                                     &rig.clock, rig.random.get(),
                                                     Telemetry::Null());
  rig.channel->SetBulkJournal(&rig.journal);
  const size_t uploads = rig.Sent("PUT");
  auto resumed = rig.channel->ResumeBulkJobs(rig.sync);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(resumed->size(), 1u);
  const ResumedBulkJob& job = (*resumed)[0];
  EXPECT_EQ(job.job_id, "J1");
  ASSERT_TRUE(job.result.status.ok()) << job.result.status.ToString();
  ASSERT_EQ(job.batch.records.size(), 40u);
  EXPECT_EQ(job.batch.sync, &rig.sync);
  EXPECT_EQ(job.batch.records[5].row_hash, "h5");
  EXPECT_EQ(CountKind(job.result.outcomes, OutcomeKind::kDelivered), 39);
  EXPECT_EQ(job.result.outcomes[7].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(job.result.outcomes[8].destination_id, "SFw8");
  EXPECT_EQ(rig.Sent("PUT"), uploads);
  EXPECT_EQ(rig.Sent("POST", "/jobs"), 1u);
  EXPECT_EQ(rig.journal.finished.count("J1"), 1u);
  // Nothing is left to resume.
  auto again = rig.channel->ResumeBulkJobs(rig.sync);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(BulkDriverTest, AJobAbortedInTheOrgLeavesItsRowsPending) {
  Rig rig;
  rig.server.abort_on_poll = true;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(10));
  EXPECT_EQ(r.status.code(), StatusCode::kFailed);
  EXPECT_EQ(CountKind(r.outcomes, OutcomeKind::kRetryable), 10);
  EXPECT_EQ(r.outcomes[0].category, "NOT_SENT");
  EXPECT_EQ(rig.Sent("GET", "/ok"), 0u);
  EXPECT_EQ(rig.journal.finished.count("J1"), 1u);  // nothing more to come from it
}

TEST(BulkDriverTest, ABudgetPastItsSharePausesAndLeavesTheRowsPending) {
  Rig rig;
  rig.server.daily_used = 60;  // of 100, share 0.5
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(150));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(rig.channel->paused());
  EXPECT_EQ(rig.Sent("POST", "/jobs"), 1u);  // the create's answer said stop
  EXPECT_EQ(rig.Sent("PUT"), 0u);
  for (const auto& o : r.outcomes) EXPECT_EQ(o.category, "PAUSED");
}

TEST(BulkDriverTest, PiiValuesNeverReachTheJournal) {
  Rig rig;
  ContractConfig contract;
  contract.fields["Email"].pii = true;
  rig.sync.contract = contract;
  DeliveryResult r = rig.channel->DeliverBulk(rig.Batch(3));
  ASSERT_TRUE(r.status.ok());
  const BulkJobEntry& e = rig.journal.entries.at("J1");
  ASSERT_EQ(e.records.size(), 3u);
  EXPECT_TRUE(e.records[1].values[0].is_null());
  EXPECT_EQ(e.records[1].values[1].text, "1");
  EXPECT_EQ(e.fields, (std::vector<std::string>{"Email", "Score"}));
}

}  // namespace
}  // namespace backflow
