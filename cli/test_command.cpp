// orderflow test BUNDLE_DIR [--engine interp|jit]
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/support.h"
#include "runtime/testing/policy_tests.h"
#include "runtime/testing/stories.h"

namespace orderflow::cli {

void add_test_command(CLI::App& app, Command& run) {
  struct Options {
    std::string bundle;
    std::string engine = "interp";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("test", "Run the policy tests written beside the policies");
  cmd->add_option("bundle", o->bundle, "The policy bundle's folder")->required();
  cmd->add_option("--engine", o->engine, "interp or jit")->check(CLI::IsMember({"interp", "jit"}));
  cmd->callback([o, &run] {
    run = [o] {
      auto bundle = load_bundle(o->bundle);
      if (!bundle) return 1;
      auto engine = make_engine(bundle, o->engine);
      runtime::EngineChoice choice;
      choice.kind = o->engine;
      runtime::StoryRunner stories(o->bundle, choice);
      auto results = runtime::run_policy_tests(*engine, &stories);
      size_t passed = 0, failed = 0;
      for (const auto& r : results) {
        if (r.passed) {
          ++passed;
          std::cout << "PASS  " << r.name << "\n";
          continue;
        }
        ++failed;
        std::cout << fmt::format("FAIL  {} ({}:{})\n", r.name, bundle->sources->file(r.range.file).path(),
                                 r.range.begin.line);
        for (const auto& f : r.failures) std::cout << "      " << f << "\n";
      }
      std::cout << fmt::format("{} passed, {} failed\n", passed, failed);
      return failed ? 1 : 0;
    };
  });
}

}  // namespace orderflow::cli
