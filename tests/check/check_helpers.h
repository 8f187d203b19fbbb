#pragma once
// Checking bundles written inline in tests.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "compiler/check/checker.h"

namespace orderflow::testing {

// Checks one in-memory file named `name`.
inline check::CheckOutcome check_text(const std::string& text, const std::string& name = "test.flow") {
  check::CheckOptions options;
  options.overlay[name] = text;
  return check::check_bundle({name}, options);
}

inline std::vector<std::string> codes(const check::CheckOutcome& outcome) {
  std::vector<std::string> out;
  for (const auto& d : outcome.diagnostics.all()) out.push_back(d.code);
  return out;
}

inline std::string rendered(const check::CheckOutcome& outcome) {
  return render_text(outcome.diagnostics, *outcome.sources);
}

// A bundle folder on disk, removed when the test ends.
class TempBundle {
 public:
  TempBundle() {
    dir_ = std::filesystem::temp_directory_path() /
           ("orderflow-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
  }
  ~TempBundle() { std::filesystem::remove_all(dir_); }
  void write(const std::string& relative, const std::string& text) const {
    auto p = dir_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string path() const { return dir_.string(); }
  check::CheckOutcome check() const { return check::check_bundle({path()}); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
};

}  // namespace orderflow::testing
