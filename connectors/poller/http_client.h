#pragma once
// A small blocking HTTP(S) client for the pollers: one request, one answer,
// with a deadline. Beast stays in http_client.cpp.
#include <chrono>
#include <map>
#include <string>

namespace orderflow::poller {

struct HttpCall {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query or https://...
  std::map<std::string, std::string> headers;
  std::string body;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Throws std::runtime_error when the channel cannot be reached or the
// answer is not HTTP; a 4xx or 5xx is an answer.
HttpAnswer http_call(const HttpCall& call, std::chrono::seconds timeout = std::chrono::seconds(30));


}  // namespace orderflow::poller
