#pragma once
// Fires the engine's durable timers on time with a Boost.Asio timer: one
// wait for the earliest due timer, never a poll over orders.
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>

#include <functional>
#include <vector>

#include "runtime/engine/order_engine.h"

namespace orderflow::runtime {

class TimerService {
 public:
  // `fired` gets what each firing did, after it is committed.
  TimerService(boost::asio::io_context& io, OrderEngine& engine, const Clock& clock,
               std::function<void(const std::vector<Ack>&)> fired);
  // Call after anything that may have set an earlier timer.
  void rearm();
  void stop();

 private:
  void on_expiry();

  boost::asio::system_timer timer_;
  OrderEngine& engine_;
  const Clock& clock_;
  std::function<void(const std::vector<Ack>&)> fired_;
  bool stopped_ = false;
};

}  // namespace orderflow::runtime
