import { catalogue, type Order } from './store.js';

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const money = (cents: number): string => `$${(cents / 100).toFixed(2)}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · payment-api</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  label { display: block; margin: 0.75rem 0; }
  select, input, button { font: inherit; padding: 0.3rem 0.5rem; }
  button { background: #1d5fd6; color: #fff; border: 0; border-radius: 4px; padding: 0.5rem 1.5rem; cursor: pointer; }
  .ok { color: #17703a; } .failed { color: #b3261e; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** The form the verifier's browser check fills in; ids are stable on purpose. */
export function checkoutPage(): string {
  const options = Object.entries(catalogue)
    .map(([item, cents]) => `<option value="${item}">${item} (${money(cents)})</option>`)
    .join('');
  return page(
    'Checkout',
    `<h1>Checkout</h1>
<form id="checkout" method="post" action="/checkout">
  <label>Item <select id="item" name="item">${options}</select></label>
  <label>Quantity <input id="quantity" name="quantity" type="number" min="1" max="99" value="1" required></label>
  <button id="pay" type="submit">Pay</button>
</form>`,
  );
}

export function confirmedPage(order: Order): string {
  return page(
    'Payment confirmed',
    `<h1 id="result" class="ok">Payment confirmed</h1>
<p>Order ${order.id}: ${order.quantity} × ${escape(order.item)}, ${money(order.amountCents)} (payment #${order.payments}).</p>
<p><a href="/checkout">Pay again</a></p>`,
  );
}

export function failedPage(reason: string): string {
  return page(
    'Payment failed',
    `<h1 id="result" class="failed">Payment failed</h1>
<p id="reason">${escape(reason)}</p>
<p><a href="/checkout">Try again</a></p>`,
  );
}
