// The Salesforce client against its emulator in an in-process Sandbox: auth flows,
// session expiry, upserts, per-record errors, allOrNone, Bulk API 2.0 and the daily limit.
#include "destinations/salesforce/emulator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "destinations/salesforce/destination.h"
#include "destinations/salesforce/test_util.h"

namespace backflow::salesforce {
namespace {

using nlohmann::json;
using namespace testing;

class SalesforceEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(json::object()); }
  void TearDown() override {
    if (sandbox_) sandbox_->Stop();
  }

  void StartWith(json extra) {
    if (sandbox_) sandbox_->Stop();
    json options = {{"public_key_pem", Keys().public_pem},
                    {"rejected_fields", {{"Lead", {"Bad_Field__c"}}}}};
    options.update(extra);
    sandbox::SandboxOptions so;
    so.clock = &clock_;
    so.threads = 4;
    so.emulator_options = {{"salesforce", options}};
    sandbox_ = std::make_unique<sandbox::Sandbox>(so);
    sandbox_->Add(std::make_unique<SalesforceEmulator>(&clock_));
    auto port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
  }

  static const KeyPair& Keys() {
    static const KeyPair kKeys = GenerateRsaKey();
    return kKeys;
  }

  std::shared_ptr<SalesforceSettings> Settings(
      SalesforceAuthFlow flow = SalesforceAuthFlow::kClientCredentials) {
    auto s = std::make_shared<SalesforceSettings>();
    s->login_url = sandbox_->base_url();
    s->flow = flow;
    s->client_id = "sandbox-client";
    s->client_secret = Secret("sandbox-secret");
    s->refresh_token = Secret("sandbox-refresh");
    s->username = "integration@example.com";
    s->private_key_pem = Secret(Keys().private_pem);
    return s;
  }

  std::unique_ptr<SalesforceDestination> Connected() {
    auto dest = std::make_unique<SalesforceDestination>(Settings(), &clock_);
    Status st = Authenticate(*dest);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return dest;
  }

  static Status Authenticate(Destination& dest) {
    return dest.AcceptAuthResponse(Send(*dest.BuildAuthRequest()));
  }

  static BatchResult Write(const Destination& dest, const RecordBatch& batch) {
    return dest.ClassifyUpsert(batch, Send(dest.BuildUpsert(batch)));
  }

  json Leads() const {
    json all = sandbox_->Find("salesforce")->Records();
    return all.contains("Lead") ? all["Lead"] : json::array();
  }

  ManualClock clock_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
};

TEST_F(SalesforceEmulatorTest, EveryFlowAuthenticatesAndARefusalNamesFlowAndUrl) {
  for (auto flow : {SalesforceAuthFlow::kClientCredentials, SalesforceAuthFlow::kRefreshToken,
                    SalesforceAuthFlow::kJwtBearer}) {
    SalesforceDestination dest(Settings(flow), &clock_);
    Status st = Authenticate(dest);
    EXPECT_TRUE(st.ok()) << SalesforceAuthFlowName(flow) << ": " << st.ToString();
    EXPECT_EQ(dest.CurrentSession().instance_url, sandbox_->base_url());
  }
  auto wrong = Settings();
  wrong->client_secret = Secret("wrong-secret-value");
  SalesforceDestination refused(wrong, &clock_);
  Status st = Authenticate(refused);
  EXPECT_EQ(st.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(st.message(), "Salesforce refused the client_credentials token request at " +
                              sandbox_->base_url() + ": authentication failure");
  EXPECT_EQ(st.message().find("wrong-secret"), std::string::npos);

  auto other_key = Settings(SalesforceAuthFlow::kJwtBearer);
  other_key->private_key_pem = Secret(GenerateRsaKey().private_pem);
  SalesforceDestination forged(other_key, &clock_);
  EXPECT_EQ(Authenticate(forged).code(), StatusCode::kAuthRefused);
  auto stranger = Settings(SalesforceAuthFlow::kJwtBearer);
  stranger->username = "someone@else.com";
  SalesforceDestination unknown_user(stranger, &clock_);
  EXPECT_EQ(Authenticate(unknown_user).code(), StatusCode::kAuthRefused);
}

TEST_F(SalesforceEmulatorTest, ExpiredSessionsAskForReauthentication) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 2);
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kSuccessful);

  ASSERT_EQ(Send({"POST", sandbox_->base_url() + "/_admin/salesforce/expire_tokens", {}, ""}).status,
            200);
  BatchResult expired = Write(*dest, batch);
  EXPECT_EQ(expired.verdict, Verdict::kReauthenticate);
  ASSERT_TRUE(Authenticate(*dest).ok());
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kSuccessful);

  clock_.Advance(std::chrono::seconds(7201));  // token_ttl_seconds
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kReauthenticate);
}

TEST_F(SalesforceEmulatorTest, UpsertIsIdempotentByExternalId) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 3);
  BatchResult first = Write(*dest, batch);
  ASSERT_EQ(first.verdict, Verdict::kSuccessful) << first.reason;
  ASSERT_EQ(first.records.size(), 3u);
  for (const RecordOutcome& o : first.records) {
    EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
    EXPECT_TRUE(o.created);
    EXPECT_EQ(o.destination_id.size(), 18u);
    EXPECT_EQ(o.destination_id.rfind("00Q", 0), 0u);
  }
  batch.records[1].values[1] = Int("99");
  BatchResult second = Write(*dest, batch);
  ASSERT_EQ(second.verdict, Verdict::kSuccessful);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(second.records[i].created);
    EXPECT_EQ(second.records[i].destination_id, first.records[i].destination_id);
  }
  json leads = Leads();
  ASSERT_EQ(leads.size(), 3u);
  bool found = false;
  for (const json& l : leads)
    if (l["ExternalId__c"] == "user_1") found = l["Lead_Score__c"] == 99;
  EXPECT_TRUE(found) << leads.dump();
}

TEST_F(SalesforceEmulatorTest, PerRecordErrorsLeaveTheOthersApplied) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 3);
  batch.records[1].values[0] = Str(std::string(256, 'x') + "@example.com");
  BatchResult r = Write(*dest, batch);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[1].category, "STRING_TOO_LONG");
  EXPECT_EQ(r.records[1].reason.find("xxxx"), std::string::npos);
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(Leads().size(), 2u);

  RecordBatch bad;
  bad.sync = &sync;
  bad.fields = {"Bad_Field__c"};
  bad.records.push_back(MakeRecord("user_7", {Str("v")}));
  BatchResult rejected = Write(*dest, bad);
  ASSERT_EQ(rejected.verdict, Verdict::kSuccessful);
  EXPECT_EQ(rejected.records[0].category, "INVALID_FIELD");
  EXPECT_NE(rejected.records[0].reason.find("Bad_Field__c"), std::string::npos);
}

TEST_F(SalesforceEmulatorTest, AllOrNoneRollsBackEverything) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 3);
  batch.records[2].values[0] = Str(std::string(300, 'y'));
  HttpRequest req = dest->BuildUpsert(batch);
  json body = json::parse(req.body);
  body["allOrNone"] = true;
  req.body = body.dump();
  BatchResult r = dest->ClassifyUpsert(batch, Send(req));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].category, "ALL_OR_NONE_OPERATION_ROLLED_BACK");
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kRetryable);
  EXPECT_EQ(r.records[2].category, "STRING_TOO_LONG");
  EXPECT_TRUE(Leads().empty());
}

TEST_F(SalesforceEmulatorTest, MalformedRequestsAreRefusedWhole) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch big = testing::Leads(&sync, 201);
  BatchResult too_many = Write(*dest, big);
  EXPECT_EQ(too_many.verdict, Verdict::kSplit);
  EXPECT_EQ(too_many.category, "EXCEEDED_ID_LIMIT");

  RecordBatch batch = testing::Leads(&sync, 1);
  HttpRequest req = dest->BuildUpsert(batch);
  json body = json::parse(req.body);
  body["records"][0]["Id"] = "00Q000000000000AAA";
  req.body = body.dump();
  EXPECT_EQ(dest->ClassifyUpsert(batch, Send(req)).verdict, Verdict::kSplit);
  body["records"][0].erase("Id");
  body["records"][0]["attributes"]["type"] = "Contact";
  req.body = body.dump();
  EXPECT_EQ(dest->ClassifyUpsert(batch, Send(req)).verdict, Verdict::kSplit);
  body["records"][0].erase("attributes");
  req.body = body.dump();
  EXPECT_EQ(dest->ClassifyUpsert(batch, Send(req)).verdict, Verdict::kSplit);
  EXPECT_TRUE(Leads().empty());
}

TEST_F(SalesforceEmulatorTest, UpdateModeAddressesRecordsById) {
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 2);
  BatchResult created = Write(*dest, batch);
  ASSERT_EQ(created.verdict, Verdict::kSuccessful);

  SyncConfig update = LeadSync(SyncMode::kUpdate);
  RecordBatch changes = testing::Leads(&update, 2);
  changes.records[0].destination_id = created.records[0].destination_id;
  changes.records[0].values[1] = Int("55");
  changes.records[1].destination_id = "00QNOTTHERE0000AAA";
  BatchResult r = Write(*dest, changes);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, created.records[0].destination_id);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(Leads().size(), 2u);
}

TEST_F(SalesforceEmulatorTest, BulkJobLifecycleEndToEnd) {
  auto dest = Connected();
  ASSERT_NE(dest->bulk(), nullptr);
  EXPECT_EQ(dest->bulk()->Threshold(), 10000u);
  auto settings = Settings();
  SessionHolder session(settings, &clock_);
  ASSERT_TRUE(session.Accept(Send(session.BuildRequest())).ok());
  SalesforceBulk bulk(settings, &session, /*max_upload_bytes=*/600);

  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 40);
  batch.records[7].values[0] = Str(std::string(260, 'z'));
  batch.records[8].values[0] = Str("O'Brien, \"Ann\"\nsecond line ✓");
  std::vector<BulkPart> parts = bulk.EncodeParts(batch);
  ASSERT_GT(parts.size(), 1u);

  std::vector<RecordOutcome> all;
  for (const BulkPart& part : parts) {
    Result<BulkJob> job = bulk.ParseJob(Send(bulk.BuildCreateJob(sync)));
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->state, BulkJobState::kOpen);
    ASSERT_TRUE(bulk.AcceptUpload(Send(bulk.BuildUpload(*job, part))).ok());
    job = bulk.ParseJob(Send(bulk.BuildClose(*job)));
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->state, BulkJobState::kUploadComplete);
    std::vector<BulkJobState> seen;
    while (job.ok() && !IsTerminal(job->state)) {
      clock_.SleepFor(bulk.PollInterval());
      job = bulk.ParseJob(Send(bulk.BuildPoll(*job)));
      ASSERT_TRUE(job.ok());
      seen.push_back(job->state);
    }
    EXPECT_EQ(seen, (std::vector<BulkJobState>{BulkJobState::kInProgress,
                                               BulkJobState::kJobComplete}));
    auto outcomes = bulk.ParseResults(part, Send(bulk.BuildResults(*job, BulkResultSet::kSuccessful)),
                                      Send(bulk.BuildResults(*job, BulkResultSet::kFailed)));
    ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
    ASSERT_EQ(outcomes->size(), part.records.size());
    all.insert(all.end(), outcomes->begin(), outcomes->end());
  }
  ASSERT_EQ(all.size(), 40u);
  for (size_t i = 0; i < all.size(); ++i) {
    if (i == 7) {
      EXPECT_EQ(all[i].kind, OutcomeKind::kPermanent);
      EXPECT_EQ(all[i].category, "STRING_TOO_LONG");
    } else {
      EXPECT_EQ(all[i].kind, OutcomeKind::kDelivered) << i << " " << all[i].reason;
      EXPECT_TRUE(all[i].created);
      EXPECT_EQ(all[i].destination_id.rfind("00Q", 0), 0u);
    }
  }
  json leads = Leads();
  EXPECT_EQ(leads.size(), 39u);
  bool quoted = false;
  for (const json& l : leads)
    if (l["ExternalId__c"] == "user_8") quoted = l["Email"] == "O'Brien, \"Ann\"\nsecond line ✓";
  EXPECT_TRUE(quoted);

  // The same rows through the REST API find the bulk-created records.
  RecordBatch again = testing::Leads(&sync, 2);
  BatchResult r = Write(*dest, again);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_FALSE(r.records[0].created);
  EXPECT_EQ(r.records[0].destination_id, all[0].destination_id);
}

TEST_F(SalesforceEmulatorTest, BulkRefusesABadJobAndAFailedHeader) {
  auto settings = Settings();
  SessionHolder session(settings, &clock_);
  ASSERT_TRUE(session.Accept(Send(session.BuildRequest())).ok());
  SalesforceBulk bulk(settings, &session);
  SyncConfig sync = LeadSync();
  sync.external_id_field = "";
  EXPECT_EQ(bulk.ParseJob(Send(bulk.BuildCreateJob(sync))).status().code(), StatusCode::kFailed);

  sync = LeadSync();
  RecordBatch bad;
  bad.sync = &sync;
  bad.fields = {"Bad_Field__c"};
  bad.records.push_back(MakeRecord("user_1", {Str("v")}));
  BulkPart part = bulk.EncodeParts(bad)[0];
  Result<BulkJob> job = bulk.ParseJob(Send(bulk.BuildCreateJob(sync)));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(bulk.AcceptUpload(Send(bulk.BuildUpload(*job, part))).ok());
  job = bulk.ParseJob(Send(bulk.BuildClose(*job)));
  for (int i = 0; i < 5 && job.ok() && !IsTerminal(job->state); ++i)
    job = bulk.ParseJob(Send(bulk.BuildPoll(*job)));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, BulkJobState::kFailed);
  EXPECT_NE(job->error_message.find("Bad_Field__c"), std::string::npos);
  auto outcomes = bulk.ParseResults(part, Send(bulk.BuildResults(*job, BulkResultSet::kSuccessful)),
                                    Send(bulk.BuildResults(*job, BulkResultSet::kFailed)));
  ASSERT_TRUE(outcomes.ok());
  EXPECT_EQ((*outcomes)[0].category, "BULK_UNPROCESSED");
}

TEST_F(SalesforceEmulatorTest, DailyLimitHeaderAndPause) {
  StartWith({{"daily_limit", 3}});
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 1);
  for (long long i = 1; i <= 3; ++i) {
    HttpResponse res = Send(dest->BuildUpsert(batch));
    EXPECT_EQ(res.Header("Sforce-Limit-Info").value_or(""),
              "api-usage=" + std::to_string(i) + "/3");
    RateLimitHints hints = dest->ReadRateLimit(res);
    EXPECT_EQ(hints.daily_used, i);
    EXPECT_EQ(hints.daily_limit, 3);
    EXPECT_EQ(dest->ClassifyUpsert(batch, res).verdict, Verdict::kSuccessful);
  }
  HttpResponse over = Send(dest->BuildUpsert(batch));
  EXPECT_EQ(over.status, 403);
  EXPECT_EQ(dest->ClassifyUpsert(batch, over).verdict, Verdict::kPause);
  EXPECT_EQ(dest->ReadRateLimit(over).daily_used, 4);
  EXPECT_DOUBLE_EQ(dest->DailyQuotaShare(), 0.5);

  ASSERT_EQ(Send({"POST", sandbox_->base_url() + "/_admin/salesforce/api_usage",
                  {{"Content-Type", "application/json"}}, R"({"used":0})"}).status, 200);
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kSuccessful);
}

TEST_F(SalesforceEmulatorTest, HiddenRateLimitAnswers503) {
  sandbox::FaultSpec faults;
  faults.hidden_rate_limit = std::make_pair(1LL, sandbox::Millis(1000));
  sandbox_->SetFaults("salesforce", faults);
  auto dest = Connected();
  SyncConfig sync = LeadSync();
  RecordBatch batch = testing::Leads(&sync, 1);
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kSuccessful);
  BatchResult limited = Write(*dest, batch);
  EXPECT_EQ(limited.verdict, Verdict::kRetry);
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(Write(*dest, batch).verdict, Verdict::kSuccessful);
}

}  // namespace
}  // namespace backflow::salesforce
