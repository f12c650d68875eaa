// LoadConfig: files, conf.d directories, contract files, and the shipped examples.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "config_test_util.h"

namespace backflow {
namespace {

namespace fs = std::filesystem;
using testing::FakeEnv;
using testing::HubSpotYaml;
using testing::Joined;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("backflow-config-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(LoadConfig, ReadsAFile) {
  TempDir dir;
  std::string file = dir.Write("backflow.yaml", HubSpotYaml());
  ConfigErrors errors;
  auto c = LoadConfig(file, FakeEnv(), &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  EXPECT_EQ(c->source_files, std::vector<std::string>{file});
  EXPECT_EQ(c->syncs.count("scores"), 1u);
}

TEST(LoadConfig, ErrorsNameTheFile) {
  TempDir dir;
  std::string file = dir.Write("backflow.yaml", HubSpotYaml("    colour: blue\n"));
  ConfigErrors errors;
  auto c = LoadConfig(file, FakeEnv(), &errors);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, file);
  EXPECT_EQ(errors[0].path, "syncs.scores.colour");
  EXPECT_THAT(c.status().message(), HasSubstr(file));
}

TEST(LoadConfig, SyntaxErrorNamesFileAndLine) {
  TempDir dir;
  std::string file = dir.Write("backflow.yaml", "warehouse:\n  dsn: x\n  bad: [unclosed\n");
  ConfigErrors errors;
  auto c = LoadConfig(file, FakeEnv(), &errors);
  ASSERT_FALSE(c.ok());
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].file, file);
  EXPECT_THAT(errors[0].message, HasSubstr("line "));
  EXPECT_THAT(errors[0].message, HasSubstr("invalid YAML"));
}

TEST(LoadConfig, MissingFile) {
  ConfigErrors errors;
  auto c = LoadConfig("/nonexistent/backflow.yaml", FakeEnv(), &errors);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/backflow.yaml"));
}

TEST(LoadConfig, ConfDirectoryMerges) {
  TempDir dir;
  dir.Write("10-warehouse.yaml", "warehouse:\n  dsn: \"${BACKFLOW_WAREHOUSE_DSN}\"\n");
  dir.Write("20-a.yaml", R"(
destinations:
  a: { type: hubspot, token: t }
syncs:
  sa:
    destination: b
    object: contacts
    model: { table: x.a }
    primary_key: id
    match: { id_property: wid }
    fields: { wid: id }
)");
  dir.Write("30-b.yaml", R"(
warehouse:
  state_schema: other
destinations:
  b: { type: hubspot, token: t }
syncs:
  sb:
    destination: a
    object: contacts
    model: { table: x.b }
    primary_key: id
    match: { id_property: wid }
    fields: { wid: id }
)");
  dir.Write("notes.txt", "not yaml: [");
  ConfigErrors errors;
  auto c = LoadConfig(dir.path(), FakeEnv(), &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  EXPECT_EQ(c->warehouse.state_schema, "other");
  EXPECT_EQ(c->destinations.size(), 2u);
  EXPECT_EQ(c->syncs.size(), 2u);
  // A sync may name a destination from another file, either way round.
  EXPECT_EQ(c->syncs.at("sa").destination, "b");
  ASSERT_EQ(c->source_files.size(), 3u);
  EXPECT_THAT(c->source_files[0], HasSubstr("10-warehouse.yaml"));
  EXPECT_THAT(c->source_files[2], HasSubstr("30-b.yaml"));
}

TEST(LoadConfig, ConfDirectoryDuplicateKeyNamesBothFiles) {
  TempDir dir;
  dir.Write("10-a.yaml", "warehouse: { dsn: x }\ndestinations:\n  h: { type: hubspot, token: t }\n");
  dir.Write("20-b.yaml", "destinations:\n  h: { type: hubspot, token: u }\n");
  ConfigErrors errors;
  auto c = LoadConfig(dir.path(), FakeEnv(), &errors);
  ASSERT_FALSE(c.ok());
  std::string all = Joined(errors);
  EXPECT_THAT(all, HasSubstr("destinations.h: is defined in both"));
  EXPECT_THAT(all, HasSubstr("10-a.yaml"));
  EXPECT_THAT(all, HasSubstr("20-b.yaml"));
}

TEST(LoadConfig, ConfDirectoryDuplicateScalarKey) {
  TempDir dir;
  dir.Write("10-a.yaml", "warehouse: { dsn: x }\n");
  dir.Write("20-b.yaml", "warehouse: { dsn: y }\n");
  ConfigErrors errors;
  ASSERT_FALSE(LoadConfig(dir.path(), FakeEnv(), &errors).ok());
  EXPECT_THAT(Joined(errors), HasSubstr("warehouse.dsn: is defined in both"));
}

TEST(LoadConfig, ErrorsInConfDirectoryNameTheirFile) {
  TempDir dir;
  dir.Write("10-a.yaml", "warehouse: { dsn: x }\n");
  std::string b = dir.Write("20-b.yaml", "destinations:\n  h: { type: hubspot, token: t, x: 1 }\n");
  ConfigErrors errors;
  ASSERT_FALSE(LoadConfig(dir.path(), FakeEnv(), &errors).ok());
  ASSERT_EQ(errors.size(), 1u) << Joined(errors);
  EXPECT_EQ(errors[0].path, "destinations.h.x");
  EXPECT_EQ(errors[0].file, b);
}

TEST(LoadConfig, EmptyDirectoryIsAnError) {
  TempDir dir;
  ConfigErrors errors;
  EXPECT_FALSE(LoadConfig(dir.path(), FakeEnv(), &errors).ok());
  EXPECT_THAT(Joined(errors), HasSubstr("no *.yaml files"));
}

TEST(LoadConfig, ContractFromItsOwnFileRelativeToTheConfig) {
  TempDir dir;
  std::string contract = dir.Write("contracts/scores.yaml", R"(
fields:
  email: { type: email, required: true }
max_invalid: 5%
)");
  std::string file = dir.Write("backflow.yaml", HubSpotYaml("    contract: contracts/scores.yaml\n"));
  ConfigErrors errors;
  auto c = LoadConfig(file, FakeEnv(), &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  const auto& k = c->syncs.at("scores").contract;
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->source_file, contract);
  EXPECT_DOUBLE_EQ(k->max_invalid, 0.05);
  EXPECT_TRUE(k->fields.at("email").required);
  EXPECT_EQ(c->source_files.back(), contract);
}

TEST(LoadConfig, ContractFileErrorsNameTheContractFile) {
  TempDir dir;
  std::string contract = dir.Write("c.yaml", "fields:\n  phone: { type: string }\n");
  std::string file = dir.Write("backflow.yaml", HubSpotYaml("    contract: c.yaml\n"));
  ConfigErrors errors;
  ASSERT_FALSE(LoadConfig(file, FakeEnv(), &errors).ok());
  ASSERT_EQ(errors.size(), 1u) << Joined(errors);
  EXPECT_EQ(errors[0].path, "syncs.scores.contract.fields.phone");
  EXPECT_EQ(errors[0].file, contract);

  std::string missing = dir.Write("m.yaml", HubSpotYaml("    contract: nope.yaml\n"));
  ASSERT_FALSE(LoadConfig(missing, FakeEnv(), &errors).ok());
  EXPECT_THAT(Joined(errors), HasSubstr("syncs.scores.contract: cannot read file"));
}

// The shipped examples load (with a fake environment).
class ExampleConfig : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleConfig, Loads) {
  std::string path = std::string(BACKFLOW_SOURCE_DIR) + "/config/" + GetParam();
  ConfigErrors errors;
  auto c = LoadConfig(path, FakeEnv(), &errors);
  ASSERT_TRUE(c.ok()) << path << "\n" << Joined(errors);
  EXPECT_FALSE(c->syncs.empty());
  for (const auto& [name, sync] : c->syncs)
    EXPECT_EQ(c->destinations.count(sync.destination), 1u) << name;
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleConfig,
                         ::testing::Values("backflow.yaml", "conf.d", "demo.yaml"));

TEST(ExampleFiles, DemoIsTheDemoSync) {
  ConfigErrors errors;
  auto c = LoadConfig(std::string(BACKFLOW_SOURCE_DIR) + "/config/demo.yaml", FakeEnv(), &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  const SyncConfig& s = c->syncs.at("contact_scores");
  EXPECT_EQ(s.destination, "hubspot");
  EXPECT_EQ(s.object, "contacts");
  EXPECT_EQ(s.model_table, "demo.contacts");
  EXPECT_EQ(s.id_property, "warehouse_id");
  ASSERT_EQ(s.fields.size(), 5u);
  EXPECT_EQ(s.fields[0].destination_field, "warehouse_id");
  EXPECT_EQ(s.fields[0].column, "user_id");
  EXPECT_EQ(s.fields[2].destination_field, "lifecyclestage");
  EXPECT_EQ(c->destinations.at("hubspot").type, "hubspot");
}

TEST(ExampleFiles, FullExampleCoversTheFeatures) {
  ConfigErrors errors;
  auto c = LoadConfig(std::string(BACKFLOW_SOURCE_DIR) + "/config/backflow.yaml", FakeEnv(),
                      &errors);
  ASSERT_TRUE(c.ok()) << Joined(errors);
  EXPECT_EQ(c->destinations.size(), 3u);
  const auto& lead = c->syncs.at("lead_scores");
  ASSERT_TRUE(lead.contract.has_value());
  EXPECT_THAT(lead.contract->source_file, HasSubstr("contracts/lead_scores.yaml"));
  const auto& health = c->syncs.at("contact_health");
  EXPECT_EQ(health.strategy, ChangeStrategy::kUpdatedAt);
  EXPECT_EQ(health.mode, SyncMode::kUpdate);
  ASSERT_TRUE(health.contract.has_value());
  EXPECT_EQ(health.contract->checks.size(), 1u);
  EXPECT_TRUE(health.consent_column.has_value());
  const auto& ltv = c->syncs.at("ltv_segments");
  EXPECT_EQ(ltv.on_delete, OnDelete::kDelete);
  EXPECT_TRUE(ltv.sample.has_value());
  EXPECT_TRUE(ltv.schedule.cron.has_value());
}

}  // namespace
}  // namespace backflow

namespace backflow {
namespace {

TEST(DefaultConfigPath, IsOneOfTheTwoDocumentedPlaces) {
  std::string p = DefaultConfigPath();
  EXPECT_TRUE(p == "./backflow.yaml" || p == "/etc/backflow/backflow.yaml") << p;
}

}  // namespace
}  // namespace backflow
