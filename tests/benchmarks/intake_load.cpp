// Load on `orderflow serve`: C connections (keep-alive) post N distinct
// signed Shopify orders made from a real payload; prints orders per second
// and the latency of the answers (each given only once durable).
//
// With --rate R the load is offered at R webhooks a second (request i is
// due at i/R seconds), as channels send them, instead of as fast as the
// answers come back; a latency then counts from when its request was due,
// so a server that falls behind shows it.
//
// usage: intake_load --port P --secret S --template shopify-order.json [--orders N] [--connections C] [--rate R]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/intake/intake.h"

namespace {

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one HTTP response; returns its status, or -1.
int read_response(int fd, std::string& pending) {
  for (;;) {
    size_t head = pending.find("\r\n\r\n");
    if (head != std::string::npos) {
      size_t cl = pending.find("Content-Length: ");
      if (cl == std::string::npos) cl = pending.find("content-length: ");
      size_t length = cl == std::string::npos || cl > head ? 0 : std::stoul(pending.substr(cl + 16));
      if (pending.size() >= head + 4 + length) {
        int status = std::atoi(pending.c_str() + 9);
        pending.erase(0, head + 4 + length);
        return status;
      }
    }
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    pending.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, orders = 20000, connections = 32;
  double rate = 0;
  std::string secret, template_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--port") port = std::stoi(v);
    else if (a == "--secret") secret = v;
    else if (a == "--template") template_path = v;
    else if (a == "--orders") orders = std::stoi(v);
    else if (a == "--connections") connections = std::stoi(v);
    else if (a == "--rate") rate = std::stod(v);
  }
  std::ifstream in(template_path);
  nlohmann::json base = nlohmann::json::parse(in);
  nlohmann::json order = base.contains("order") ? base["order"] : base;
  // Every request is ready before the clock starts: bodies, signatures, headers.
  std::vector<std::string> requests;
  uint64_t first_id = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000000ULL;
  for (int i = 0; i < orders; ++i) {
    order["id"] = first_id + static_cast<uint64_t>(i);
    std::string body = order.dump();
    std::string sig = orderflow::connectors::base64(orderflow::connectors::hmac_sha256(secret, body));
    requests.push_back("POST /webhooks/shopify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "X-Shopify-Hmac-Sha256: " + sig + "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n\r\n" + body);
  }
  std::atomic<int> next{0}, ok{0}, failed{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      int fd = connect_to(port);
      std::string pending;
      for (int i; fd >= 0 && (i = next++) < orders;) {
        auto t0 = std::chrono::steady_clock::now();
        if (rate > 0) {
          t0 = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(i / rate));
          std::this_thread::sleep_until(t0);
        }
        const std::string& r = requests[static_cast<size_t>(i)];
        if (send(fd, r.data(), r.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(r.size())) break;
        int status = read_response(fd, pending);
        latencies[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        (status == 200 ? ok : failed)++;
        if (status < 0) break;
      }
      if (fd >= 0) close(fd);
    });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  std::string offered = rate > 0 ? " offered at " + std::to_string(static_cast<int>(rate)) + "/s" : "";
  std::printf("%d orders stored (%d failed) over %d connections%s in %.2f s: %.0f orders/s; latency p50 %.2f ms, p99 %.2f ms\n",
              ok.load(), failed.load(), connections, offered.c_str(), seconds, ok.load() / seconds, pct(0.50), pct(0.99));
  return failed.load() == 0 ? 0 : 1;
}
