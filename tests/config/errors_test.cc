// ParseConfigText: every kind of mistake is reported with its YAML path, all at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace backflow {
namespace {

using testing::ErrorsOf;
using testing::FakeEnv;
using testing::HubSpotYaml;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ConfigErrors, UnknownKeysAtEveryDepth) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml() + "surprise: 1\n"), HasSubstr("surprise: unknown key"));
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x, colour: blue }\n"),
              HasSubstr("warehouse.colour: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    colour: blue\n")),
              HasSubstr("destinations.hubspot.colour: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    retry: { max_attempts: 2, jitter: full }\n")),
              HasSubstr("destinations.hubspot.retry.jitter: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    colour: blue\n")),
              HasSubstr("syncs.scores.colour: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    change_detection: { strategy: hash, colour: x }\n")),
              HasSubstr("syncs.scores.change_detection.colour: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      fields:
        email: { type: email, colour: red }
)")),
              HasSubstr("syncs.scores.contract.fields.email.colour: unknown key"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      checks:
        - { name: a, sql: "SELECT 1", colour: red }
)")),
              HasSubstr("syncs.scores.contract.checks[0].colour: unknown key"));
}

TEST(ConfigErrors, AllErrorsAreReportedTogether) {
  std::string all = ErrorsOf(HubSpotYaml("    colour: blue\n    mode: sideways\n",
                                         "    timeout: soon\n"));
  EXPECT_THAT(all, HasSubstr("syncs.scores.colour: unknown key"));
  EXPECT_THAT(all, HasSubstr("syncs.scores.mode: must be one of upsert | update"));
  EXPECT_THAT(all, HasSubstr("destinations.hubspot.timeout: expected a duration"));
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    max_concurrency: lots\n")),
              HasSubstr("destinations.hubspot.max_concurrency: expected a whole number"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    max_concurrency: 0\n")),
              HasSubstr("destinations.hubspot.max_concurrency: must be between 1"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    rate_limit: 100\n")),
              HasSubstr("destinations.hubspot.rate_limit: expected a mapping"));
  std::string list_fields = HubSpotYaml();
  list_fields = list_fields.substr(0, list_fields.find("    fields:")) + "    fields: [a, b]\n";
  EXPECT_THAT(ErrorsOf(list_fields), HasSubstr("syncs.scores.fields: expected a mapping"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      fields:
        email: { required: maybe }
)")),
              HasSubstr("syncs.scores.contract.fields.email.required: expected true or false"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    contract: [1, 2]\n")),
              HasSubstr("syncs.scores.contract: expected a mapping or the path"));
  EXPECT_THAT(ErrorsOf("warehouse: [1]\n"), HasSubstr("warehouse: expected a mapping"));
}

TEST(ConfigErrors, BadDurationsAndPercents) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    schedule: { every: 15 minutes }\n")),
              HasSubstr("syncs.scores.schedule.every: expected a duration"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    change_detection: { lookback: 2w }\n")),
              HasSubstr("syncs.scores.change_detection.lookback: expected a duration"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    max_change_share: 50\n")),
              HasSubstr("syncs.scores.max_change_share: expected a percentage"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    sample: 150%\n")),
              HasSubstr("syncs.scores.sample: expected a percentage"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    sample: 0%\n")),
              HasSubstr("syncs.scores.sample: must be more than 0%"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    rate_limit: { requests: 5, per: 0s }\n")),
              HasSubstr("destinations.hubspot.rate_limit.per: must be longer"));
}

TEST(ConfigErrors, UnsetVariableIsNamed) {
  std::string all = ErrorsOf(HubSpotYaml(), FakeEnv({{"BACKFLOW_WAREHOUSE_DSN", "host=db"}}));
  EXPECT_THAT(all, HasSubstr("destinations.hubspot.token: environment variable HUBSPOT_TOKEN is "
                             "not set"));
}

TEST(ConfigErrors, SecretsNeverAppearInErrors) {
  // A warehouse dsn that is wrong in shape, next to other errors: the values of the
  // secrets (dsn, token) must not be printed.
  std::string all = ErrorsOf(HubSpotYaml("    colour: blue\n", "    token: [x]\n"));
  EXPECT_THAT(all, Not(HasSubstr("hunter2")));
  EXPECT_THAT(all, Not(HasSubstr("pat-secret-token")));
  std::string dsn = ErrorsOf("warehouse: { dsn: [\"postgresql://u:hunter2@db\"] }\n");
  EXPECT_THAT(dsn, HasSubstr("warehouse.dsn"));
  EXPECT_THAT(dsn, Not(HasSubstr("hunter2")));
}

TEST(ConfigErrors, MissingRequiredKeys) {
  EXPECT_THAT(ErrorsOf("observability: { log_format: json }\n"),
              HasSubstr("warehouse: is required"));
  EXPECT_THAT(ErrorsOf("warehouse: { state_schema: x }\n"), HasSubstr("warehouse.dsn: is required"));
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x }\ndestinations: { h: { token: t } }\n"),
              HasSubstr("destinations.h.type: is required"));
  std::string sync = ErrorsOf(R"(
warehouse: { dsn: x }
destinations: { h: { type: hubspot, token: t } }
syncs:
  s:
    moment: nothing else
)");
  for (const char* key : {"destination", "object", "model", "primary_key", "fields"})
    EXPECT_THAT(sync, HasSubstr(std::string("syncs.s.") + key + ": is required")) << key;
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    change_detection: { strategy: updated_at }\n")),
              HasSubstr("syncs.scores.change_detection.column: is required"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    schedule: {}\n")),
              HasSubstr("syncs.scores.schedule: set one of every and cron"));
}

TEST(ConfigErrors, EmptyFieldsMapping) {
  std::string yaml = HubSpotYaml();
  size_t at = yaml.find("    fields:");
  yaml = yaml.substr(0, at) + "    fields: {}\n";
  EXPECT_THAT(ErrorsOf(yaml), HasSubstr("syncs.scores.fields: must map at least one field"));
}

TEST(ConfigErrors, KeysDefinedTwiceInOneFile) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml() + "      email: other_email\n"),
              HasSubstr("syncs.scores.fields.email: is mapped twice"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml() + "  scores:\n    destination: hubspot\n"),
              HasSubstr("syncs.scores: is defined twice"));
}

TEST(ConfigErrors, UnknownDestinationType) {
  std::string all = ErrorsOf(HubSpotYaml("", R"(  zd:
    type: zendesk
    token: x
)"));
  EXPECT_THAT(all, HasSubstr("destinations.zd.type: unknown destination type 'zendesk'"));
  EXPECT_THAT(all, HasSubstr("hubspot"));  // lists the known types
}

TEST(ConfigErrors, SyncNamingAnUnknownDestination) {
  std::string yaml = HubSpotYaml();
  yaml.replace(yaml.find("destination: hubspot"), 20, "destination: hubspoot");
  EXPECT_THAT(ErrorsOf(yaml), HasSubstr("syncs.scores.destination: names no destination"));
}

TEST(ConfigErrors, SyncOfABrokenDestinationGetsNoSecondError) {
  std::string yaml = HubSpotYaml();
  yaml.replace(yaml.find("type: hubspot"), 13, "type: zendesk");
  std::string all = ErrorsOf(yaml);
  EXPECT_THAT(all, HasSubstr("unknown destination type"));
  EXPECT_THAT(all, Not(HasSubstr("names no destination")));
}

TEST(ConfigErrors, ModelNeedsExactlyOneOfSqlAndTable) {
  std::string yaml = HubSpotYaml();
  yaml.replace(yaml.find("model: { table: analytics.contacts }"), 36,
               "model: { table: analytics.contacts, sql: \"SELECT 1\" }");
  EXPECT_THAT(ErrorsOf(yaml), HasSubstr("syncs.scores.model: set exactly one of sql and table"));
  std::string neither = HubSpotYaml();
  neither.replace(neither.find("model: { table: analytics.contacts }"), 36, "model: {}");
  EXPECT_THAT(ErrorsOf(neither), HasSubstr("syncs.scores.model: set exactly one of sql and table"));
}

TEST(ConfigErrors, ContractOnAnUnmappedField) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      fields:
        phone: { type: string }
)")),
              HasSubstr("syncs.scores.contract.fields.phone: is not a mapped field"));
}

TEST(ConfigErrors, ContractRules) {
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      fields:
        email: { pattern: "([a-z" }
)")),
              HasSubstr("syncs.scores.contract.fields.email.pattern: is not a valid regular"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      fields:
        email: { type: text }
)")),
              HasSubstr("syncs.scores.contract.fields.email.type: must be one of string"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      dbt_model: scores
)")),
              HasSubstr("syncs.scores.contract: set both dbt_run_results and dbt_model"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml(R"(    contract:
      checks:
        - { name: a }
)")),
              HasSubstr("syncs.scores.contract.checks[0].sql: is required"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    contract: { max_invalid: lots }\n")),
              HasSubstr("syncs.scores.contract.max_invalid: expected a percentage"));
}

TEST(ConfigErrors, BadEnumsAndShapes) {
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x, state_schema: \"bf; DROP\" }\n"),
              HasSubstr("warehouse.state_schema: must be a plain identifier"));
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x }\nobservability: { log_format: xml }\n"),
              HasSubstr("observability.log_format: must be one of json | text"));
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x }\nobservability: { log_level: loud }\n"),
              HasSubstr("observability.log_level: must be one of"));
  EXPECT_THAT(ErrorsOf("warehouse: { dsn: x }\nobservability: { http_listen: \"9464\" }\n"),
              HasSubstr("observability.http_listen: expected host:port"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    on_delete: archive\n")),
              HasSubstr("syncs.scores.on_delete: must be one of ignore | delete"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    change_detection: { strategy: magic }\n")),
              HasSubstr("syncs.scores.change_detection.strategy: must be one of hash"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    schedule: { cron: \"*/15 * * *\" }\n")),
              HasSubstr("syncs.scores.schedule.cron: expected five fields"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("    schedule: { cron: \"0 * * * *\", every: 1h }\n")),
              HasSubstr("syncs.scores.schedule: set exactly one of every and cron"));
  EXPECT_THAT(ErrorsOf(HubSpotYaml("", "    retry: { initial_backoff: 1h, max_backoff: 1m }\n")),
              HasSubstr("destinations.hubspot.retry: initial_backoff must not be longer"));
}

TEST(ConfigErrors, DestinationTypeValidatesTheSync) {
  // HubSpot needs match.id_property; the error carries the sync's path.
  std::string yaml = HubSpotYaml();
  yaml.replace(yaml.find("    match: { id_property: warehouse_id }\n"), 41, "");
  EXPECT_THAT(ErrorsOf(yaml), HasSubstr("syncs.scores.match.id_property"));
}

TEST(ConfigErrors, YamlSyntaxErrorNamesTheLine) {
  EXPECT_THAT(ErrorsOf("warehouse:\n  dsn: x\n  bad: [unclosed\n"), HasSubstr("line "));
}

}  // namespace
}  // namespace backflow
