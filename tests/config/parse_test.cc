// ParseConfigText: every key of spec section 2, defaults, and the happy paths.
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "destinations/registry.h"

namespace backflow {
namespace {

using testing::FakeEnv;
using testing::HubSpotYaml;
using testing::Joined;

Config MustParse(const std::string& yaml) {
  ConfigErrors errors;
  auto result = ParseConfigText(yaml, FakeEnv(), &errors);
  EXPECT_TRUE(result.ok()) << result.status().ToString() << "\n" << Joined(errors);
  EXPECT_TRUE(errors.empty()) << Joined(errors);
  return result.ok() ? std::move(result).value() : Config{};
}

TEST(ParseConfig, MinimalConfigGetsDefaults) {
  Config c = MustParse(HubSpotYaml());
  EXPECT_EQ(c.warehouse.dsn.Reveal(), "postgresql://u:hunter2@db/wh");
  EXPECT_EQ(c.warehouse.state_schema, "backflow");
  EXPECT_EQ(c.observability.log_format, "json");
  EXPECT_EQ(c.observability.log_level, "info");
  EXPECT_FALSE(c.observability.http_listen.has_value());

  ASSERT_EQ(c.destinations.count("hubspot"), 1u);
  const DestinationConfig& d = c.destinations.at("hubspot");
  const DestinationType* type = FindDestinationType("hubspot");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(d.name, "hubspot");
  EXPECT_EQ(d.type, "hubspot");
  EXPECT_EQ(d.batch_size, type->MaxBatchRecords());
  EXPECT_EQ(d.rate_limit.requests, type->DefaultRateLimit().requests);
  EXPECT_EQ(d.rate_limit.per, type->DefaultRateLimit().per);
  EXPECT_EQ(d.max_concurrency, type->DefaultMaxConcurrency());
  EXPECT_EQ(d.timeout, Millis(30000));
  EXPECT_EQ(d.retry.max_attempts, 8);
  ASSERT_NE(d.settings, nullptr);

  ASSERT_EQ(c.syncs.count("scores"), 1u);
  const SyncConfig& s = c.syncs.at("scores");
  EXPECT_EQ(s.name, "scores");
  EXPECT_EQ(s.destination, "hubspot");
  EXPECT_EQ(s.object, "contacts");
  EXPECT_EQ(s.model_table, "analytics.contacts");
  EXPECT_FALSE(s.model_sql.has_value());
  EXPECT_EQ(s.primary_key, "user_id");
  EXPECT_EQ(s.id_property, "warehouse_id");
  EXPECT_EQ(s.strategy, ChangeStrategy::kHash);
  EXPECT_EQ(s.lookback, Millis(48LL * 3600 * 1000));
  EXPECT_EQ(s.mode, SyncMode::kUpsert);
  EXPECT_FALSE(s.schedule.every || s.schedule.cron);
  EXPECT_FALSE(s.contract.has_value());
  EXPECT_DOUBLE_EQ(s.max_change_share, 0.5);
  EXPECT_EQ(s.on_delete, OnDelete::kIgnore);
  EXPECT_DOUBLE_EQ(s.max_delete_share, 0.1);
  EXPECT_FALSE(s.sample.has_value());
  EXPECT_FALSE(s.consent_column.has_value());
}

TEST(ParseConfig, FieldsKeepYamlOrder) {
  Config c = MustParse(HubSpotYaml());
  const auto& f = c.syncs.at("scores").fields;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].destination_field, "warehouse_id");
  EXPECT_EQ(f[0].column, "user_id");
  EXPECT_EQ(f[1].destination_field, "email");
  EXPECT_EQ(f[2].destination_field, "lead_score");
  EXPECT_EQ(f[2].column, "score");
}

TEST(ParseConfig, EveryKeySet) {
  std::string yaml = R"(
warehouse:
  dsn: "host=db dbname=wh"
  state_schema: bf_state
observability:
  log_format: text
  log_level: debug
  http_listen: 0.0.0.0:9464
destinations:
  hs:
    type: hubspot
    base_url: http://127.0.0.1:8080
    token: "${HUBSPOT_TOKEN}"
    rate_limit: { requests: 50, per: 10s, burst: 5 }
    max_concurrency: 2
    batch_size: 40
    timeout: 5s
    retry: { max_attempts: 3, initial_backoff: 500ms, max_backoff: 1m }
syncs:
  health:
    moment: "Churn alerts"
    destination: hs
    object: contacts
    model:
      sql: "SELECT user_id, email FROM analytics.health"
    primary_key: user_id
    match: { id_property: warehouse_id }
    fields:
      warehouse_id: user_id
      email: email
    change_detection: { strategy: updated_at, column: updated_at, lookback: 7d }
    mode: update
    schedule: { cron: "*/15 * * * *" }
    contract:
      fields:
        email: { type: email, required: true, pii: true, max_length: 200, pattern: "^.+@.+$" }
        warehouse_id: { type: enum, values: [a, b] }
      max_invalid: 0.5%
      checks:
        - name: no_nulls
          sql: "SELECT 1 WHERE false"
      dbt_run_results: /srv/dbt/run_results.json
      dbt_model: health
    max_change_share: 20%
    on_delete: delete
    max_delete_share: 1%
    sample: 1%
    consent_column: marketing_consent
)";
  Config c = MustParse(yaml);
  EXPECT_EQ(c.warehouse.dsn.Reveal(), "host=db dbname=wh");
  EXPECT_EQ(c.warehouse.state_schema, "bf_state");
  EXPECT_EQ(c.observability.log_format, "text");
  EXPECT_EQ(c.observability.log_level, "debug");
  EXPECT_EQ(c.observability.http_listen, "0.0.0.0:9464");

  const DestinationConfig& d = c.destinations.at("hs");
  EXPECT_EQ(d.rate_limit.requests, 50);
  EXPECT_EQ(d.rate_limit.per, Millis(10000));
  EXPECT_EQ(d.rate_limit.burst, 5);
  EXPECT_EQ(d.max_concurrency, 2);
  EXPECT_EQ(d.batch_size, 40u);
  EXPECT_EQ(d.timeout, Millis(5000));
  EXPECT_EQ(d.retry.max_attempts, 3);
  EXPECT_EQ(d.retry.initial_backoff, Millis(500));
  EXPECT_EQ(d.retry.max_backoff, Millis(60000));

  const SyncConfig& s = c.syncs.at("health");
  EXPECT_EQ(s.moment, "Churn alerts");
  EXPECT_EQ(s.model_sql, "SELECT user_id, email FROM analytics.health");
  EXPECT_FALSE(s.model_table.has_value());
  EXPECT_EQ(s.strategy, ChangeStrategy::kUpdatedAt);
  EXPECT_EQ(s.updated_at_column, "updated_at");
  EXPECT_EQ(s.lookback, Millis(7LL * 86400 * 1000));
  EXPECT_EQ(s.mode, SyncMode::kUpdate);
  EXPECT_EQ(s.schedule.cron, "*/15 * * * *");
  EXPECT_FALSE(s.schedule.every.has_value());
  EXPECT_DOUBLE_EQ(s.max_change_share, 0.2);
  EXPECT_EQ(s.on_delete, OnDelete::kDelete);
  EXPECT_DOUBLE_EQ(s.max_delete_share, 0.01);
  ASSERT_TRUE(s.sample.has_value());
  EXPECT_DOUBLE_EQ(*s.sample, 0.01);
  EXPECT_EQ(s.consent_column, "marketing_consent");

  ASSERT_TRUE(s.contract.has_value());
  const ContractConfig& k = *s.contract;
  EXPECT_DOUBLE_EQ(k.max_invalid, 0.005);
  ASSERT_EQ(k.fields.count("email"), 1u);
  const FieldRule& email = k.fields.at("email");
  EXPECT_EQ(email.type, FieldType::kEmail);
  EXPECT_TRUE(email.required);
  EXPECT_TRUE(email.pii);
  EXPECT_EQ(email.max_length, 200u);
  EXPECT_EQ(email.pattern, "^.+@.+$");
  const FieldRule& wid = k.fields.at("warehouse_id");
  EXPECT_EQ(wid.type, FieldType::kEnum);
  EXPECT_EQ(wid.values, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(wid.required);
  ASSERT_EQ(k.checks.size(), 1u);
  EXPECT_EQ(k.checks[0].name, "no_nulls");
  EXPECT_EQ(k.checks[0].sql, "SELECT 1 WHERE false");
  EXPECT_EQ(k.dbt_run_results, "/srv/dbt/run_results.json");
  EXPECT_EQ(k.dbt_model, "health");
  EXPECT_TRUE(k.source_file.empty());
}

TEST(ParseConfig, ContractMinMax) {
  Config c = MustParse(HubSpotYaml(R"(    contract:
      fields:
        lead_score: { type: integer, min: 0, max: 100, required: true }
)"));
  const FieldRule& r = c.syncs.at("scores").contract->fields.at("lead_score");
  EXPECT_EQ(r.type, FieldType::kInteger);
  EXPECT_EQ(r.min, 0.0);
  EXPECT_EQ(r.max, 100.0);
  EXPECT_TRUE(r.required);
  EXPECT_DOUBLE_EQ(c.syncs.at("scores").contract->max_invalid, 0.0);
}

TEST(ParseConfig, EverySchedule) {
  Config c = MustParse(HubSpotYaml("    schedule: { every: 15m }\n"));
  EXPECT_EQ(c.syncs.at("scores").schedule.every, Millis(15 * 60 * 1000));
}

TEST(ParseConfig, BatchSizeIsClampedToTheApiMaximum) {
  const DestinationType* type = FindDestinationType("hubspot");
  ASSERT_NE(type, nullptr);
  Config c = MustParse(HubSpotYaml("", "    batch_size: 100000\n"));
  EXPECT_EQ(c.destinations.at("hubspot").batch_size, type->MaxBatchRecords());
  Config small = MustParse(HubSpotYaml("", "    batch_size: 7\n"));
  EXPECT_EQ(small.destinations.at("hubspot").batch_size, 7u);
}

TEST(ParseConfig, EnvExpandsInsideStrings) {
  auto env = FakeEnv({{"DB_HOST", "warehouse.internal"}, {"HUBSPOT_TOKEN", "t"}});
  std::string yaml = HubSpotYaml();
  yaml.replace(yaml.find("${BACKFLOW_WAREHOUSE_DSN}"), 25, "host=${DB_HOST} dbname=wh");
  ConfigErrors errors;
  auto c = ParseConfigText(yaml, env, &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  EXPECT_EQ(c->warehouse.dsn.Reveal(), "host=warehouse.internal dbname=wh");
}

TEST(ParseConfig, NoDestinationsOrSyncsIsFine) {
  Config c = MustParse("warehouse: { dsn: \"host=db\" }\n");
  EXPECT_TRUE(c.destinations.empty());
  EXPECT_TRUE(c.syncs.empty());
}

TEST(ParseConfig, NullErrorsPointerStillReturnsTheFirstError) {
  auto r = ParseConfigText("warehouse: {}\n", FakeEnv(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("warehouse.dsn"), std::string::npos);
}

}  // namespace
}  // namespace backflow
