#include <map>

#include "connectors/connector.h"

namespace orderflow::connectors {

std::unique_ptr<Connector> make_shopify();
std::unique_ptr<Connector> make_woocommerce();
std::unique_ptr<Connector> make_shopee();
std::unique_ptr<Connector> make_amazon();
std::unique_ptr<Connector> make_lazada();
std::unique_ptr<Connector> make_magento();
std::unique_ptr<Connector> make_flipkart();
std::unique_ptr<Connector> make_noon();

namespace {

// Every adapter, once. A new channel adds its line here.
const std::map<std::string, std::unique_ptr<Connector>>& registry() {
  static const auto adapters = [] {
    std::map<std::string, std::unique_ptr<Connector>> m;
    for (auto make : {make_shopify, make_woocommerce, make_shopee, make_amazon, make_lazada, make_magento, make_flipkart,
                      make_noon}) {
      std::unique_ptr<Connector> c = make();
      std::string channel = c->channel();
      m.emplace(channel, std::move(c));
    }
    return m;
  }();
  return adapters;
}

}  // namespace

const Connector* find_connector(const std::string& channel) {
  auto it = registry().find(channel);
  return it == registry().end() ? nullptr : it->second.get();
}

std::vector<std::string> connector_channels() {
  std::vector<std::string> out;
  for (const auto& [channel, c] : registry()) out.push_back(channel);
  return out;
}

}  // namespace orderflow::connectors
