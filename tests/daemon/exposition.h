// Reads Prometheus text exposition (format 0.0.4) as a scraper would: every line must be a
// HELP, a TYPE or a sample of a family whose TYPE came first (the same grammar as
// tests/observability/metrics_test.cc); a bad line is a test failure.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace backflow::daemon_test {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

inline std::vector<Sample> ParseExposition(const std::string& text) {
  static const std::regex kHelp(R"re(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)re");
  static const std::regex kType(
      R"re(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)re");
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)re");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, kHelp)) << line;
    } else if (line.rfind("# TYPE", 0) == 0) {
      if (!std::regex_match(line, m, kType)) {
        ADD_FAILURE() << "bad TYPE line: " << line;
        continue;
      }
      EXPECT_EQ(types.count(m[1]), 0u) << "TYPE twice: " << line;
      types[m[1]] = m[2];
    } else {
      if (!std::regex_match(line, m, kSample)) {
        ADD_FAILURE() << "not a sample line: " << line;
        continue;
      }
      Sample s;
      s.name = m[1];
      const std::string value = m[7];
      s.value = value == "+Inf" ? 1.0 / 0.0 : value == "-Inf" ? -1.0 / 0.0 : std::stod(value);
      const std::string labels = m[2];
      for (auto it = std::sregex_iterator(labels.begin(), labels.end(), kLabel);
           it != std::sregex_iterator(); ++it)
        s.labels[(*it)[1]] = (*it)[2];
      std::string family = s.name;
      for (const std::string suffix : {"_bucket", "_sum", "_count"})
        if (!types.count(family) && family.size() > suffix.size() &&
            family.compare(family.size() - suffix.size(), suffix.size(), suffix) == 0)
          family = family.substr(0, family.size() - suffix.size());
      EXPECT_TRUE(types.count(family)) << "sample before its TYPE: " << line;
      samples.push_back(std::move(s));
    }
  }
  EXPECT_FALSE(text.empty());
  if (!text.empty()) {
    EXPECT_EQ(text.back(), '\n');
  }
  return samples;
}

// The sum of the samples named `name` whose labels include every pair of `match`.
inline double SumSamples(const std::vector<Sample>& samples, const std::string& name,
                         const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all) sum += s.value;
  }
  return sum;
}

}  // namespace backflow::daemon_test
