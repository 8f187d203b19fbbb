// The sockets of `orderflow serve`, on Boost.Beast: one asynchronous
// session per connection, with a read deadline, header and body limits and
// a cap on connections, so that a slow or greedy client stalls nobody else.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <iostream>
#include <thread>

#include "connectors/intake/intake.h"

namespace orderflow::intake {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Intake& intake) : stream_(std::move(socket)), intake_(intake) {
    ++intake_.open_connections;
    // Beast reads as much as the buffer has room for, and at least 512
    // bytes: an empty buffer read a 7.6 KiB webhook in 11 recvmsg calls.
    // Room for a typical webhook reads it in one.
    buffer_.reserve(kReadRoom);
  }
  ~Session() { --intake_.open_connections; }

  void start() { read(); }

  void refuse_busy() {
    auto self = shared_from_this();
    auto res = std::make_shared<http::response<http::string_body>>(http::status::service_unavailable, 11);
    res->set(http::field::content_type, "application/json");
    res->set(http::field::connection, "close");
    res->body() = R"({"error":"too many connections; try again"})";
    res->prepare_payload();
    http::async_write(stream_, *res, [self, res](beast::error_code, size_t) { self->close(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(intake_.config().body_limit);
    parser_->header_limit(static_cast<uint32_t>(intake_.config().header_limit));
    stream_.expires_after(intake_.config().read_timeout);
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, *parser_, [self](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted)
      return close();
    HttpRequest request;
    if (ec == http::error::body_limit) {
      request.body_too_large = true;
    } else if (ec) {
      // A request that is not HTTP, or headers too large: say so and hang up.
      return reply({400, R"({"error":"malformed HTTP request: )" + ec.message() + "\"}", "application/json"}, false);
    }
    auto& req = parser_->get();
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(req.body());  // the parser is made anew for the next request
    keep_alive_ = req.keep_alive() && !request.body_too_large;
    auto self = shared_from_this();
    stream_.expires_never();  // the answer may wait for the group commit
    intake_.handle(std::move(request), [self](HttpResponse r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->reply(std::move(r), self->keep_alive_); });
    });
  }

  void reply(HttpResponse r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "orderflow");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    auto self = shared_from_this();
    stream_.expires_after(intake_.config().read_timeout);
    http::async_write(stream_, *res, [self, res, keep_alive](beast::error_code ec, size_t) {
      if (ec || !keep_alive) return self->close();
      self->read();
    });
  }

  // Says we are done, then reads and drops whatever the client still
  // sends (the rest of a body that was too large), so that it gets to read
  // our answer instead of blocking on a full socket.
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    drain();
  }
  void drain() {
    stream_.expires_after(intake_.config().read_timeout);
    auto self = shared_from_this();
    stream_.async_read_some(net::buffer(sink_), [self](beast::error_code ec, size_t) {
      if (!ec) self->drain();
    });
  }
  static constexpr size_t kReadRoom = 16384;
  std::array<char, 16384> sink_;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Intake& intake_;
  bool keep_alive_ = false;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, tcp::endpoint endpoint, Intake& intake)
      : io_(io), acceptor_(net::make_strand(io)), intake_(intake) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    auto self = shared_from_this();
    acceptor_.async_accept(net::make_strand(io_), [self](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // the acceptor closed
      auto session = std::make_shared<Session>(std::move(socket), self->intake_);
      if (static_cast<size_t>(self->intake_.open_connections.load()) > self->intake_.config().max_connections)
        session->refuse_busy();
      else
        session->start();
      self->accept();
    });
  }
  void close() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  net::io_context& io_;
  tcp::acceptor acceptor_;
  Intake& intake_;
};

}  // namespace

int serve_http(Intake& intake, const std::string& address, unsigned short port,
               std::function<void(unsigned short)> listening) {
  net::io_context io;
  auto listener = std::make_shared<Listener>(io, tcp::endpoint(net::ip::make_address(address), port), intake);
  listener->accept();
  // Timers fire on the engine thread, which knows when the next is due.
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    listener->close();
    io.stop();
  });
  intake.start();
  if (listening) listening(listener->port());
  // Each connection is a strand, so a session's handlers never overlap.
  std::vector<std::thread> more;
  for (int i = 1; i < intake.config().io_threads; ++i)
    more.emplace_back([&] {
      pthread_setname_np(pthread_self(), "of-http");
      io.run();
    });
  io.run();
  for (std::thread& t : more) t.join();
  intake.stop();
  return 0;
}

}  // namespace orderflow::intake
