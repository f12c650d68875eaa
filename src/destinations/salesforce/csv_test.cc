// CSV (RFC 4180, LF) and the Bulk API 2.0 translator without a server.
#include "destinations/salesforce/csv.h"

#include <gtest/gtest.h>

#include "destinations/salesforce/bulk.h"
#include "destinations/salesforce/test_util.h"

namespace backflow::salesforce {
namespace {

using namespace testing;

TEST(CsvTest, RoundTripsQuotesCommasNewlinesAndUnicode) {
  std::vector<CsvRow> rows = {
      {"ExternalId__c", "Name", "Note"},
      {"u1", "O'Brien, Ann", "said \"hi\""},
      {"u2", "multi\nline", "ünïcødé ✓ 日本"},
      {"u3", "", " padded "},
      {"u4", "crlf\r\ninside", "#N/A"},
  };
  std::string text;
  for (const CsvRow& r : rows) text += CsvLine(r);
  EXPECT_EQ(CsvLine({"a,b", "x"}), "\"a,b\",x\n");
  EXPECT_EQ(CsvLine({"say \"q\""}), "\"say \"\"q\"\"\"\n");
  auto parsed = ParseCsv(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, rows);
}

TEST(CsvTest, ReadsCrlfQuotedHeadersAndTrailingEmptyFields) {
  auto parsed = ParseCsv("\"sf__Id\",\"sf__Created\",b\r\n00Q1,true,\r\n00Q2,false,x");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0], (CsvRow{"sf__Id", "sf__Created", "b"}));
  EXPECT_EQ((*parsed)[1], (CsvRow{"00Q1", "true", ""}));
  EXPECT_EQ((*parsed)[2], (CsvRow{"00Q2", "false", "x"}));
  EXPECT_TRUE(ParseCsv("")->empty());
}

TEST(CsvTest, RefusesMalformedQuoting) {
  EXPECT_FALSE(ParseCsv("a,\"unterminated\n").ok());
  EXPECT_FALSE(ParseCsv("a,b\"c\n").ok());
  EXPECT_FALSE(ParseCsv("\"a\"b,c\n").ok());
}

class BulkTranslatorTest : public ::testing::Test {
 protected:
  BulkTranslatorTest() : settings_(std::make_shared<SalesforceSettings>()), session_(settings_, Clock::Real()) {}
  std::shared_ptr<SalesforceSettings> settings_;
  SessionHolder session_;
};

TEST_F(BulkTranslatorTest, EncodesAKeyColumnAndSplitsBySize) {
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 10);
  batch.records[3].values[0] = Null();
  SalesforceBulk bulk(settings_, &session_, /*max_upload_bytes=*/120);
  std::vector<BulkPart> parts = bulk.EncodeParts(batch);
  ASSERT_GT(parts.size(), 1u);
  size_t total = 0;
  for (const BulkPart& p : parts) {
    EXPECT_LE(p.body.size(), 120u);
    EXPECT_EQ(p.body.rfind("ExternalId__c,Email,Lead_Score__c\n", 0), 0u) << p.body;
    total += p.records.size();
  }
  EXPECT_EQ(total, 10u);
  SalesforceBulk whole(settings_, &session_);
  std::vector<BulkPart> one = whole.EncodeParts(batch);
  ASSERT_EQ(one.size(), 1u);
  auto rows = ParseCsv(one[0].body);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 11u);
  EXPECT_EQ((*rows)[4], (CsvRow{"user_3", "#N/A", "3"}));
}

TEST_F(BulkTranslatorTest, MatchesResultsByExternalIdNotOrder) {
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 4);
  SalesforceBulk bulk(settings_, &session_);
  BulkPart part = bulk.EncodeParts(batch)[0];
  HttpResponse ok = Json(200,
                         "\"sf__Id\",\"sf__Created\",ExternalId__c,Email,Lead_Score__c\n"
                         "00Q3,false,user_2,u2@example.com,2\n"
                         "00Q1,true,user_0,u0@example.com,0\n");
  HttpResponse failed = Json(200,
                             "sf__Id,sf__Error,ExternalId__c,Email,Lead_Score__c\n"
                             ",STRING_TOO_LONG:Email: data value too large: x@y (max length=80):Email --,"
                             "user_3,x@y,3\n");
  auto outcomes = bulk.ParseResults(part, ok, failed);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_EQ((*outcomes)[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ((*outcomes)[0].destination_id, "00Q1");
  EXPECT_TRUE((*outcomes)[0].created);
  EXPECT_EQ((*outcomes)[1].kind, OutcomeKind::kRetryable);
  EXPECT_EQ((*outcomes)[1].category, "BULK_UNPROCESSED");
  EXPECT_EQ((*outcomes)[2].destination_id, "00Q3");
  EXPECT_FALSE((*outcomes)[2].created);
  EXPECT_EQ((*outcomes)[3].kind, OutcomeKind::kPermanent);
  EXPECT_EQ((*outcomes)[3].category, "STRING_TOO_LONG");
  EXPECT_EQ((*outcomes)[3].reason.find("x@y"), std::string::npos) << (*outcomes)[3].reason;
}

TEST_F(BulkTranslatorTest, ParsesJobStatesAndRefusals) {
  SalesforceBulk bulk(settings_, &session_);
  auto job = bulk.ParseJob(Json(200, R"({"id":"750X","state":"InProgress","numberRecordsProcessed":5})"));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->id, "750X");
  EXPECT_EQ(job->state, BulkJobState::kInProgress);
  EXPECT_EQ(job->records_processed, 5);
  EXPECT_FALSE(IsTerminal(job->state));
  EXPECT_EQ(bulk.ParseJob(Json(503, "")).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(bulk.ParseJob(Json(400, R"([{"errorCode":"INVALIDJOB","message":"bad"}])"))
                .status().code(), StatusCode::kFailed);
  EXPECT_TRUE(bulk.NeedsReauthentication(Json(401, "[]")));
  EXPECT_FALSE(bulk.NeedsReauthentication(Json(200, "{}")));
}

}  // namespace
}  // namespace backflow::salesforce
