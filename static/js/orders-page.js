// The Orders page: the orders panel over every market.
import { localizeTimes, pageData } from "./format.js";
import { OrdersPanel } from "./orders.js";

const d = pageData();
new OrdersPanel({ root: document.getElementById("orders"), symbol: null, initial: d.user, markets: d.markets }).follow();
localizeTimes();
