#include "runtime/engine/timer_service.h"

#include <chrono>

namespace orderflow::runtime {

TimerService::TimerService(boost::asio::io_context& io, OrderEngine& engine, const Clock& clock,
                           std::function<void(const std::vector<Ack>&)> fired)
    : timer_(io), engine_(engine), clock_(clock), fired_(std::move(fired)) {}

void TimerService::rearm() {
  if (stopped_) return;
  std::optional<int64_t> next = engine_.next_timer();
  timer_.cancel();
  if (!next) return;
  timer_.expires_at(std::chrono::system_clock::time_point(std::chrono::milliseconds(*next)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_expiry();
  });
}

void TimerService::on_expiry() {
  // The clock decides, not the Asio timer: a test's manual clock may lag the system's.
  std::vector<Ack> acks = engine_.fire_due(clock_.now());
  engine_.commit();
  if (!acks.empty() && fired_) fired_(acks);
  rearm();
}

void TimerService::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace orderflow::runtime
