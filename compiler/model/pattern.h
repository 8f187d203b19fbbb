#pragma once
// A regular expression of `matches`, compiled once when the bundle is
// checked. RE2 (Debian's libre2): matching takes time linear in the text
// whatever the pattern, so a pattern an analyst writes cannot stall the
// engine on a hostile address line the way a backtracking engine can.
#include <memory>
#include <string>
#include <string_view>

namespace orderflow::model {

class Pattern {
 public:
  // The pattern, or why it is not one (RE2's message), in `error`.
  static Pattern compile(std::string_view source, std::string& error);

  Pattern() = default;
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  // Whether the pattern matches anywhere in the text (anchor with ^ and $).
  bool search(std::string_view text) const;
  const std::string& source() const { return source_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  std::string source_;
};

}  // namespace orderflow::model
