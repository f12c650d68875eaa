// A HubSpot emulator inside a real in-process Sandbox, on an ephemeral port, with a
// ManualClock, and an httplib client pointed at it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "destinations/hubspot/emulator.h"
#include "sandbox/sandbox.h"

namespace backflow::hubspot::testing {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(nlohmann::json::object()); }
  void TearDown() override {
    client_.reset();
    if (sandbox_) sandbox_->Stop();
  }

  void StartWith(const nlohmann::json& hubspot_options) {
    client_.reset();
    if (sandbox_) sandbox_->Stop();
    sandbox::SandboxOptions options;
    options.clock = &clock_;
    options.threads = 4;
    options.seed = 7;
    options.emulator_options = {{"hubspot", hubspot_options}};
    sandbox_ = std::make_unique<sandbox::Sandbox>(options);
    sandbox_->Add(std::make_unique<HubSpotEmulator>(&clock_));
    auto port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(5, 0);
  }

  static nlohmann::json Input(const std::string& id, nlohmann::json properties,
                              const std::string& id_property = "warehouse_id") {
    return {{"id", id}, {"idProperty", id_property}, {"properties", std::move(properties)}};
  }

  httplib::Result Post(const std::string& path, const nlohmann::json& body,
                       const std::string& token = HubSpotEmulator::kDefaultToken) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }
  // A vector, not a json: a braced json of one element would be that element, not a list.
  httplib::Result Upsert(const std::vector<nlohmann::json>& inputs,
                         const std::string& token = HubSpotEmulator::kDefaultToken) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& i : inputs) list.push_back(i);
    return Post("/crm/v3/objects/contacts/batch/upsert", {{"inputs", list}}, token);
  }
  nlohmann::json Contacts() const {
    nlohmann::json all = sandbox_->Find("hubspot")->Records();
    return all.contains("contacts") ? all["contacts"] : nlohmann::json::array();
  }

  ManualClock clock_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace backflow::hubspot::testing
