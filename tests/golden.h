#pragma once
// Golden files: expected output kept beside the test input. A run with
// ORDERFLOW_UPDATE_GOLDEN=1 rewrites them; review shows the difference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace orderflow::testing {

inline bool updating_golden() {
  const char* v = std::getenv("ORDERFLOW_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

inline void expect_golden(const std::filesystem::path& expected_file, const std::string& actual) {
  if (updating_golden()) {
    std::ofstream(expected_file) << actual;
    return;
  }
  std::ifstream in(expected_file);
  ASSERT_TRUE(in) << expected_file << " is missing; run with ORDERFLOW_UPDATE_GOLDEN=1 to create it";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << "golden file " << expected_file
                              << " differs; if the change is right, run with ORDERFLOW_UPDATE_GOLDEN=1";
}

}  // namespace orderflow::testing
