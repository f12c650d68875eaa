#include "backflow/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace backflow {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonText, EscapesEveryAsciiCharacterAsJsonDumpDoes) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_EQ(Quoted(s), nlohmann::json(s).dump()) << "character " << c;
  }
}

TEST(JsonText, KeepsUtf8AndRunsAndParsesBack) {
  const std::string s = "Zoë \"quoted\" \\ path\nline\ttab\x01 end — ok";
  EXPECT_EQ(Quoted(s), nlohmann::json(s).dump());
  EXPECT_EQ(nlohmann::json::parse(Quoted(s)).get<std::string>(), s);
  EXPECT_EQ(Quoted(""), "\"\"");
  std::string out = "x";
  AppendJsonString(&out, "y");
  EXPECT_EQ(out, "x\"y\"");  // appends
}

}  // namespace
}  // namespace backflow
