#include "compiler/engine/history.h"

#include <cctype>

namespace orderflow::engine {

const char* history_key_name(HistoryKey kind) {
  switch (kind) {
    case HistoryKey::Phone: return "phone";
    case HistoryKey::Email: return "email";
    case HistoryKey::Address: return "address";
    case HistoryKey::Pincode: return "pincode";
  }
  return "?";
}

std::string normalize_history_key(HistoryKey kind, std::string_view value) {
  std::string out;
  switch (kind) {
    case HistoryKey::Phone:
      for (char c : value)
        if (std::isdigit(static_cast<unsigned char>(c))) out += c;
      // Country code and trunk prefix vary by channel; the subscriber number does not.
      if (out.size() > 10) out.erase(0, out.size() - 10);
      if (out.size() < 6) out.clear();  // "0", "N/A": nothing that identifies anyone
      return out;
    case HistoryKey::Email: {
      size_t begin = value.find_first_not_of(" \t");
      size_t end = value.find_last_not_of(" \t");
      if (begin == std::string_view::npos) return "";
      for (char c : value.substr(begin, end - begin + 1)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out.find('@') == std::string::npos ? "" : out;
    }
    case HistoryKey::Pincode:
      for (char c : value)
        if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return out;
    case HistoryKey::Address: return std::string(value);
  }
  return out;
}

std::string address_history_key(std::string_view line1, std::string_view postal_code) {
  std::string out;
  bool gap = false;
  for (char c : line1) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (gap && !out.empty()) out += ' ';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      gap = false;
    } else {
      gap = true;
    }
  }
  std::string pincode = normalize_history_key(HistoryKey::Pincode, postal_code);
  if (out.empty() || pincode.empty()) return "";
  return out + "|" + pincode;
}

}  // namespace orderflow::engine
