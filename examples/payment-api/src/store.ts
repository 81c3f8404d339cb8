/**
 * The orders store: PostgreSQL through a bounded `pg` pool, or PGlite embedded in the process.
 *
 * Order 1 is the hot row: every checkout updates it (think of a shared stock counter), so a
 * transaction that holds its lock stalls every checkout — the demo's `pg-lock` fault. /health
 * takes the same row lock (and rolls back), so it fails exactly when checkouts would.
 */
export const HOT_ORDER_ID = 1;

/** Prices in cents; the checkout form offers these. */
export const catalogue = { coffee: 350, tea: 300, croissant: 275, cake: 450 } as const;
export type Item = keyof typeof catalogue;

export interface Order {
  id: number;
  item: string;
  quantity: number;
  amountCents: number;
  status: string;
  payments: number;
}

export interface PoolStats {
  max: number;
  total: number;
  idle: number;
  waiting: number;
}

export interface OrdersStore {
  readonly kind: 'postgres' | 'pglite';
  /** Takes and releases the hot order's row lock (rolled back): what a checkout needs, without paying. */
  probe(): Promise<void>;
  /** Pays for `quantity` × `item` on the hot order. */
  checkout(item: Item, quantity: number): Promise<Order>;
  pool(): PoolStats;
  close(): Promise<void>;
}

/** Why the database could not serve a request; /health and the checkout page report it. */
export type StoreFailure = 'lock-timeout' | 'pool-exhausted' | 'statement-timeout' | 'unavailable' | 'missing-order';

export class StoreError extends Error {
  constructor(
    readonly failure: StoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Idempotent: every copy of payment-api runs it at start. */
export const schemaSql = `
CREATE TABLE IF NOT EXISTS orders (
  id integer PRIMARY KEY,
  customer text NOT NULL,
  item text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  amount_cents integer NOT NULL CHECK (amount_cents >= 0),
  status text NOT NULL DEFAULT 'open',
  payments integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO orders (id, customer, item, quantity, amount_cents) VALUES
  (1, 'storefront', 'coffee', 1, 350),
  (2, 'ana', 'tea', 2, 600),
  (3, 'bo', 'croissant', 1, 275),
  (4, 'chen', 'cake', 1, 450),
  (5, 'dara', 'coffee', 3, 1050)
ON CONFLICT (id) DO NOTHING;
`;

export const probeSql = `SELECT id FROM orders WHERE id = ${HOT_ORDER_ID} FOR NO KEY UPDATE`;

export const checkoutSql = `UPDATE orders
   SET item = $1, quantity = $2, amount_cents = $3, status = 'paid', payments = payments + 1, updated_at = now()
 WHERE id = ${HOT_ORDER_ID}
 RETURNING id, item, quantity, amount_cents AS "amountCents", status, payments`;

export const missingOrder = (): StoreError =>
  new StoreError('missing-order', `order ${HOT_ORDER_ID} does not exist (the schema is seeded at start; was it deleted?)`);
