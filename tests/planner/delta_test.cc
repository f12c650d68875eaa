#include <gtest/gtest.h>

#include "planner/delta_fixture.h"

namespace backflow {
namespace {

TEST_F(DeltaTest, FirstRunEveryRowIsChanged) {
  AddLeads(1, 5);
  auto reader = Open();
  ASSERT_TRUE(reader);
  const DeltaSummary& s = reader->summary();
  EXPECT_EQ(s.rows_read, 5);
  EXPECT_EQ(s.rows_changed, 5);
  EXPECT_EQ(s.rows_unchanged, 0);
  EXPECT_EQ(s.previously_delivered, 0);
  EXPECT_EQ(s.null_keys, 0);
  EXPECT_EQ(s.duplicate_keys, 0);
  EXPECT_FALSE(s.new_cursor.has_value());
  EXPECT_EQ(reader->fields(), (std::vector<std::string>{"Email", "Score__c"}));
  auto records = ReadAll(*reader, 2);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].warehouse_id, "1");
  EXPECT_EQ(records[4].warehouse_id, "5");
  EXPECT_EQ(records[2].values[0].text, "u3@x.io");
  EXPECT_EQ(records[2].values[1].text, "3");
  EXPECT_EQ(records[2].values[1].kind, ValueKind::kInteger);
  EXPECT_EQ(records[2].row_hash.size(), 16u);
  EXPECT_FALSE(records[2].previously_delivered);
  EXPECT_FALSE(records[2].destination_id.has_value());
  EXPECT_TRUE(records[2].previous_values.empty());
  EXPECT_EQ(records[2].changed_fields, reader->fields());
  // The hash is the documented SQL expression.
  EXPECT_EQ(records[2].row_hash,
            db_.Scalar("SELECT lpad(to_hex(hashtextextended('Email,Score__c' || "
                       "row(email, score)::text, 0)), 16, '0') FROM analytics.leads WHERE id = 3"));
}

TEST_F(DeltaTest, AfterConfirmedDeliveryNothingIsChanged) {
  AddLeads(1, 5);
  DeliverAll();
  auto reader = Open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_read, 5);
  EXPECT_EQ(reader->summary().rows_changed, 0);
  EXPECT_EQ(reader->summary().rows_unchanged, 5);
  // Nothing to send: the guards' denominator is not counted.
  EXPECT_EQ(reader->summary().previously_delivered, 0);
  std::vector<Record> out;
  auto more = reader->Next(10, &out);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_TRUE(out.empty());
}

TEST_F(DeltaTest, ChangingKRowsSendsExactlyThoseWithTheirChangedFields) {
  AddLeads(1, 10);
  DeliverAll();
  db_.Exec("UPDATE analytics.leads SET score = 99 WHERE id IN (2, 4, 6)");
  db_.Exec("UPDATE analytics.leads SET email = email WHERE id = 7");  // no real change
  auto reader = Open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_changed, 3);
  EXPECT_EQ(reader->summary().rows_unchanged, 7);
  EXPECT_EQ(reader->summary().rows_changed_delivered, 3);
  EXPECT_EQ(reader->summary().previously_delivered, 10);
  // Counted only as far as the caller needs, given the other counts.
  DeltaOptions bounded;
  bounded.delivered_rows_needed = [](const DeltaSummary& s) { return s.rows_changed + 1; };
  auto stopped = Open(bounded);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->summary().previously_delivered, 4);
  stopped.reset();
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].warehouse_id, "2");
  EXPECT_EQ(records[1].warehouse_id, "4");
  EXPECT_EQ(records[2].warehouse_id, "6");
  EXPECT_TRUE(records[0].previously_delivered);
  ASSERT_TRUE(records[0].destination_id.has_value());
  EXPECT_EQ(*records[0].destination_id, "00Q2");
  EXPECT_EQ(records[0].changed_fields, (std::vector<std::string>{"Score__c"}));
  ASSERT_EQ(records[0].previous_values.size(), 2u);
  EXPECT_EQ(records[0].previous_values[0], "u2@x.io");
  EXPECT_EQ(records[0].previous_values[1], "2");
  EXPECT_EQ(records[0].values[1].text, "99");
}

TEST_F(DeltaTest, FullResendsEveryRow) {
  AddLeads(1, 4);
  DeliverAll();
  DeltaOptions full;
  full.full = true;
  auto reader = Open(full);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_changed, 4);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(records[0].previously_delivered);
  EXPECT_TRUE(records[0].changed_fields.empty());  // same values as delivered
}

TEST_F(DeltaTest, NullAndEmptyStringHashDifferently) {
  db_.Exec("INSERT INTO analytics.leads (id, email, score) VALUES (1, '', 1), (2, NULL, 1)");
  auto reader = Open();
  ASSERT_TRUE(reader);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NE(records[0].row_hash, records[1].row_hash);
  EXPECT_EQ(records[0].values[0].kind, ValueKind::kString);
  EXPECT_TRUE(records[1].values[0].is_null());
  Deliver(records, *reader);
  reader.reset();
  db_.Exec("UPDATE analytics.leads SET email = NULL WHERE id = 1");
  auto again = Open();
  ASSERT_TRUE(again);
  auto changed = ReadAll(*again);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].warehouse_id, "1");
  EXPECT_EQ(changed[0].changed_fields, (std::vector<std::string>{"Email"}));
}

TEST_F(DeltaTest, NullAndDuplicateKeysAreCountedAndNeverStreamed) {
  AddLeads(1, 5);
  db_.Exec("INSERT INTO analytics.leads (id, email) VALUES (NULL, 'a'), (NULL, 'b'),"
           " (3, 'dup'), (3, 'dup2'), (4, 'dup')");
  auto reader = Open();
  ASSERT_TRUE(reader);
  const DeltaSummary& s = reader->summary();
  EXPECT_EQ(s.rows_read, 10);
  EXPECT_EQ(s.null_keys, 2);
  EXPECT_EQ(s.duplicate_keys, 2);  // 3 and 4
  EXPECT_EQ(s.rows_bad_key, 2 + 3 + 2);
  EXPECT_EQ(s.rows_changed, 3);    // 1, 2, 5
  EXPECT_EQ(s.rows_read, s.rows_changed + s.rows_unchanged + s.rows_held + s.rows_no_consent +
                             s.rows_out_of_sample + s.rows_bad_key);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 3u);
  for (const Record& r : records) {
    EXPECT_NE(r.warehouse_id, "3");
    EXPECT_NE(r.warehouse_id, "4");
    EXPECT_FALSE(r.warehouse_id.empty());
  }
}

TEST_F(DeltaTest, ConsentColumnExcludesRowsThatAreNotTrue) {
  AddLeads(1, 6);
  db_.Exec("UPDATE analytics.leads SET consent = false WHERE id IN (1, 2)");
  db_.Exec("UPDATE analytics.leads SET consent = NULL WHERE id = 3");
  sync_.consent_column = "consent";
  auto reader = Open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_no_consent, 3);
  EXPECT_EQ(reader->summary().rows_changed, 3);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].warehouse_id, "4");
}

TEST_F(DeltaTest, BrokenModelIsInvalidArgument) {
  sync_.model_table.reset();
  sync_.model_sql = "SELECT id, email, score FROM analytics.nope";
  auto conn = PgConnection::Open(Secret(db_.dsn()));
  ASSERT_TRUE(conn.ok());
  auto reader = DeltaReader::Open(std::move(conn).value(), sync_, "sfdc", "backflow", {});
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument) << reader.status().ToString();
}

TEST_F(DeltaTest, ModelSqlWorksAndTempTablesGoWithTheReader) {
  AddLeads(1, 3);
  sync_.model_table.reset();
  sync_.model_sql = "SELECT id, lower(email) AS email, score FROM analytics.leads WHERE id > 1";
  auto conn = PgConnection::Open(Secret(db_.dsn()));
  ASSERT_TRUE(conn.ok());
  PgConnection* raw = conn->get();
  auto reader = DeltaReader::Open(std::move(conn).value(), sync_, "sfdc", "backflow", {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->summary().rows_changed, 2);
  EXPECT_TRUE(raw->is_open());
  // A second reader on a fresh connection sees the same delta (nothing was committed).
  auto second = Open();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->summary().rows_changed, 2);
}

// The changed rows are found again by their keys when few, by classifying every row
// again otherwise: the same records either way.
TEST_F(DeltaTest, FillingByKeysOrByClassifyingGivesTheSameRecords) {
  AddLeads(1, 40);
  DeliverAll();
  db_.Exec("UPDATE analytics.leads SET score = score + 1 WHERE id % 3 = 0");
  AddLeads(41, 45);
  DeltaOptions by_keys, by_classifying;
  by_classifying.fill_by_keys_max = 0;
  auto a = Open(by_keys);
  ASSERT_TRUE(a);
  const std::vector<Record> keyed = ReadAll(*a);
  a.reset();
  auto b = Open(by_classifying);
  ASSERT_TRUE(b);
  const std::vector<Record> classified = ReadAll(*b);
  ASSERT_EQ(keyed.size(), 18u);  // 13 changed, 5 new
  ASSERT_EQ(classified.size(), keyed.size());
  for (size_t i = 0; i < keyed.size(); ++i) {
    EXPECT_EQ(keyed[i].warehouse_id, classified[i].warehouse_id);
    EXPECT_EQ(keyed[i].row_hash, classified[i].row_hash);
    EXPECT_EQ(keyed[i].destination_id, classified[i].destination_id);
    EXPECT_EQ(keyed[i].previously_delivered, classified[i].previously_delivered);
    EXPECT_EQ(keyed[i].changed_fields, classified[i].changed_fields);
    EXPECT_EQ(keyed[i].previous_values, classified[i].previous_values);
    ASSERT_EQ(keyed[i].values.size(), classified[i].values.size());
    for (size_t j = 0; j < keyed[i].values.size(); ++j)
      EXPECT_EQ(keyed[i].values[j].text, classified[i].values[j].text);
  }
}

// The next page is read while the caller works on this one: pages of any size, the
// deleted rows read in between and a rewind all see every changed row once, in order.
TEST_F(DeltaTest, PagesReadAheadAreHandedOutWholeAcrossSizesDeletesAndRewinds) {
  AddLeads(1, 60);
  DeliverAll();
  db_.Exec("UPDATE analytics.leads SET score = score + 1 WHERE id % 2 = 0");
  db_.Exec("DELETE FROM analytics.leads WHERE id IN (7, 9)");
  DeltaOptions o;
  o.with_deletes = true;
  o.fill_by_keys_max = 0;  // the cursor reads the classification itself
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  ASSERT_EQ(reader->summary().rows_changed, 30);
  std::vector<std::string> ids;
  std::vector<Record> page;
  ASSERT_TRUE(*reader->Next(4, &page));  // a FETCH of the next 4 starts
  std::vector<std::pair<std::string, std::string>> deleted;
  while (*reader->NextDeleted(1, &deleted)) {
  }
  EXPECT_EQ(deleted.size(), 2u);
  for (size_t max : {2, 9, 1, 30}) {
    auto more = reader->Next(max, &page);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
  }
  while (*reader->Next(3, &page)) {
  }
  for (const Record& r : page) ids.push_back(r.warehouse_id);
  ASSERT_EQ(ids.size(), 30u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], std::to_string(2 * (i + 1)));
  // Rewound half-way (a FETCH ahead in flight), the delta starts over.
  page.clear();
  ASSERT_TRUE(reader->Rewind().ok());
  ASSERT_TRUE(*reader->Next(5, &page));
  ASSERT_TRUE(reader->Rewind().ok());
  page.clear();
  const std::vector<Record> again = ReadAll(*reader, 7);
  ASSERT_EQ(again.size(), 30u);
  EXPECT_EQ(again.front().warehouse_id, "2");
  EXPECT_EQ(again.back().warehouse_id, "60");
}

// The state's key columns compare bytewise; a model key with a collation of its own
// (here POSIX, a different one) is compared with them all the same.
TEST_F(DeltaTest, AKeyWithItsOwnCollationIsComparedWithTheState) {
  db_.Exec("CREATE TABLE analytics.codes (code text COLLATE \"POSIX\" PRIMARY KEY, email text,"
           " score int); INSERT INTO analytics.codes VALUES ('b', 'b@x.io', 1), ('a', 'a@x.io', 2)");
  sync_.model_table = "analytics.codes";
  sync_.primary_key = "code";
  DeltaOptions with_deletes;
  with_deletes.with_deletes = true;
  DeliverAll();
  db_.Exec("UPDATE analytics.codes SET score = 3 WHERE code = 'a'; "
           "DELETE FROM analytics.codes WHERE code = 'b'");
  auto reader = Open(with_deletes);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_changed, 1);
  EXPECT_EQ(reader->summary().rows_deleted, 1);
  const std::vector<Record> records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].warehouse_id, "a");
  EXPECT_TRUE(records[0].previously_delivered);
  EXPECT_EQ(db_.Scalar("SELECT collation_name FROM information_schema.columns WHERE "
                       "table_schema = 'backflow' AND table_name = 'row_state' AND "
                       "column_name = 'warehouse_id'"),
            "C");
}

// State written by earlier versions holds md5 hashes (32 hex digits). They still mark
// their rows unchanged (and a queued row held) until a sync rewrites them in the current
// form; a row that changed since is sent as ever.
TEST_F(DeltaTest, EarlierVersionsMd5HashesStillMatchUntilRewritten) {
  AddLeads(1, 4);
  DeliverAll();
  const std::string md5 = "md5('Email,Score__c' || row(l.email, l.score)::text)";
  db_.Exec("UPDATE backflow.row_state rs SET row_hash = " + md5 +
           " FROM analytics.leads l WHERE rs.warehouse_id = l.id::text");
  // Row 3's failed version waits for its retry, queued with an md5 hash too.
  db_.Exec("UPDATE analytics.leads SET score = 77 WHERE id IN (3, 4)");
  db_.Exec("INSERT INTO backflow.retry_queue (sync_name, warehouse_id, destination, row_hash,"
           " next_attempt_at) SELECT 'lead_scores', '3', 'sfdc', " + md5 +
           ", '2999-01-01+00' FROM analytics.leads l WHERE l.id = 3");
  {
    auto reader = Open();
    ASSERT_TRUE(reader);
    const DeltaSummary& s = reader->summary();
    EXPECT_EQ(s.rows_changed, 1);
    EXPECT_EQ(s.rows_held, 1);
    EXPECT_EQ(s.rows_unchanged, 2);
    EXPECT_EQ(s.rows_legacy_hash, 2);
    const std::vector<Record> records = ReadAll(*reader);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].warehouse_id, "4");
    EXPECT_EQ(records[0].row_hash.size(), 16u);
  }
  auto conn = PgConnection::Open(Secret(db_.dsn()));
  ASSERT_TRUE(conn.ok());
  auto rewritten = RewriteLegacyHashes(**conn, sync_, "sfdc", "backflow");
  ASSERT_TRUE(rewritten.ok()) << rewritten.status().ToString();
  EXPECT_EQ(*rewritten, 2);  // rows 1 and 2; 3 and 4 changed and keep theirs until sent
  EXPECT_EQ(db_.Scalar("SELECT string_agg(warehouse_id || ':' || length(row_hash), ',' "
                       "ORDER BY warehouse_id) FROM backflow.row_state"),
            "1:16,2:16,3:32,4:32");
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->summary().rows_unchanged, 2);
  EXPECT_EQ(again->summary().rows_legacy_hash, 0);
  EXPECT_EQ(again->summary().rows_held, 1);
  EXPECT_EQ(again->summary().rows_changed, 1);
}

}  // namespace
}  // namespace backflow
