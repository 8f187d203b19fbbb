#include "compiler/model/pattern.h"

#include <re2/re2.h>

namespace orderflow::model {

struct Pattern::Compiled {
  explicit Compiled(std::string_view source, const RE2::Options& options) : re(re2::StringPiece(source.data(), source.size()), options) {}
  RE2 re;
};

Pattern Pattern::compile(std::string_view source, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingUTF8);
  Pattern p;
  p.source_ = std::string(source);
  p.compiled_ = std::make_unique<Compiled>(source, options);
  if (!p.compiled_->re.ok()) error = p.compiled_->re.error();
  return p;
}

Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

bool Pattern::search(std::string_view text) const {
  return compiled_ && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), compiled_->re);
}

}  // namespace orderflow::model
