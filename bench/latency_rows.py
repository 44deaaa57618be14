"""A shop's history for the latency suite, generated inside PostgreSQL.

Eight entries per order, in the words the services use (see each event's
`render()`): placed, confirmation sent, submitted (5% fail), the provider's
status (debug), in production, shipped with a tracking number, shipping
notification (5% bounce), and a cart event (debug expiry or a recovery naming
the order number). Orders carry realistic identifiers in their payloads:
order numbers like SS-261201-C600, provider ids like PFY-1048576, Royal Mail /
DHL / Evri tracking numbers. Customers (200,000, many ordering again) have
emails made of common first and last names, two digits and eight big domains,
so common words and names are common and an email is rare, as in a real shop.

Rows are made with generate_series, the indexes dropped while loading and
built after (as replay does), so 10M rows fit on a small shared machine.
"""

from __future__ import annotations

import time

import asyncpg

FIRST = (  # noqa: SIM905 - words read better as words
    "olivia amelia isla ava mia ivy lily sophia grace freya noah oliver george leo arthur "
    "muna harry oscar archie henry jack theo charlie jacob freddie alfie thomas priya "
    "yusuf chloe ella emily ruby zara hannah sofia aisha omar kai finn"
).split()
LAST = (  # noqa: SIM905 - words read better as words
    "smith jones taylor brown williams wilson johnson davies patel robinson wright "
    "thompson evans walker white roberts green hall wood jackson clarke khan lewis harris "
    "martin cooper hill ward morris moore clark lee king baker harrison morgan allen "
    "james scott"
).split()
DOMAINS = (  # noqa: SIM905 - words read better as words
    "gmail.com outlook.com yahoo.co.uk hotmail.co.uk icloud.com btinternet.com proton.me sky.com"
).split()
CUSTOMERS = 200_000
START = "2021-01-01"
STEP_SECONDS = 20

# Per row g: order o = g / 8, step k = g % 8; customer c from o. Names and helpers as SQL.
GENERATE = f"""
INSERT INTO activity_log (event_id, event_type, source, category, level, order_id, message,
                          payload, occurred_at)
SELECT gen_random_uuid(), x[1], '/bench', x[2], x[3], order_id, x[4], p, at
FROM generate_series($1::bigint, $2::bigint) g,
LATERAL (SELECT g / 8 AS o, (g % 8)::int AS k,
                timestamptz '{START}' + g * interval '{STEP_SECONDS} seconds' AS at) s,
LATERAL (SELECT abs(hashint8(o)) % {CUSTOMERS} AS c, abs(hashint8(g)) AS h) r,
LATERAL (SELECT
    $3::text[] AS f, $4::text[] AS l, $5::text[] AS d,
    'ord_' || upper(to_hex(o * 2654435761 % 4294967296)) AS order_id,
    'SS-' || to_char(at, 'YYMMDD') || '-' || upper(lpad(to_hex(o % 65536), 4, '0'))
        AS order_number,
    'PFY-' || (1000000 + o) AS provider_id,
    CASE o % 3
        WHEN 0 THEN 'RN' || lpad((abs(hashint8(o)) % 1000000000)::text, 9, '0') || 'GB'
        WHEN 1 THEN 'JD' || lpad((abs(hashint8(o + 1)) % 10000000000000000)::text, 18, '0')
        ELSE 'H01' || upper(to_hex(abs(hashint8(o + 2)) % 68719476736)) || 'A'
    END AS tracking,
    CASE o % 3 WHEN 0 THEN 'Royal Mail' WHEN 1 THEN 'DHL' ELSE 'Evri' END AS carrier,
    (1900 + (abs(hashint8(o + 3)) % 9000)) AS pence) ids,
LATERAL (SELECT f[1 + c % cardinality(f)] || '.' || l[1 + (c / 40) % cardinality(l)]
    || (c / 1600 % 100)::text || '@' || d[1 + (c / 7) % cardinality(d)] AS email) e,
LATERAL (SELECT '£' || (pence / 100) || '.' || lpad((pence % 100)::text, 2, '0') AS total) m,
LATERAL (SELECT CASE
    WHEN k = 0 THEN ARRAY['order.created', 'orders', 'info',
        'Order placed — ' || total || ' via Stripe']
    WHEN k = 1 THEN ARRAY['order.email.confirmation_sent', 'emails', 'info',
        'Order confirmation sent to ' || email]
    WHEN k = 2 AND h % 20 = 0 THEN ARRAY['order.submission_failed', 'fulfilment', 'error',
        'Submission to Printify failed: insufficient stock for '
        || (ARRAY['M Black', 'L White', 'S Navy', 'XL Heather Grey'])[1 + h % 4]]
    WHEN k = 2 THEN ARRAY['order.submitted', 'fulfilment', 'info',
        'Submitted to Printify (' || provider_id || ')']
    WHEN k = 3 THEN ARRAY['provider.status_reported', 'fulfilment', 'debug',
        'Printify reported status “in_production” for ' || provider_id]
    WHEN k = 4 THEN ARRAY['order.in_production', 'fulfilment', 'info',
        'In production at Printify']
    WHEN k = 5 THEN ARRAY['order.shipped', 'fulfilment', 'info',
        'Shipped via ' || carrier || ' — tracking: ' || tracking]
    WHEN k = 6 AND h % 20 = 0 THEN ARRAY['email.bounced', 'emails', 'warning',
        'Email bounced: ' || email || ' (shipping notification)']
    WHEN k = 6 THEN ARRAY['order.email.shipping_sent', 'emails', 'info',
        'Shipping notification sent to ' || email]
    WHEN h % 10 = 0 THEN ARRAY['abandoned_cart.recovered', 'carts', 'info',
        'Cart recovered — order ' || order_number || ' placed']
    ELSE ARRAY['checkout.expired', 'carts', 'debug', 'Checkout expired (' || email || ')']
    END AS x) t,
LATERAL (SELECT CASE
    WHEN k = 0 THEN jsonb_build_object('order_id', order_id, 'order_number', order_number,
        'customer_email', email, 'total', jsonb_build_object('amount', pence, 'currency', 'GBP'),
        'payment_method', 'Stripe', 'checkout_session_id', 'cs_live_' || md5(order_id))
    WHEN k IN (1, 6) THEN jsonb_build_object('order_id', order_id, 'recipient', email)
    WHEN k IN (2, 3, 4) THEN jsonb_build_object('order_id', order_id, 'provider', 'Printify',
        'provider_order_id', provider_id)
    WHEN k = 5 THEN jsonb_build_object('order_id', order_id, 'provider', 'Printify',
        'carrier', carrier, 'tracking_number', tracking)
    ELSE jsonb_build_object('order_id', order_id, 'order_number', order_number,
        'customer_email', email)
    END AS p) pl
"""  # noqa: S608 - only this module's constants are formatted in


ORDERS = """
INSERT INTO orders (order_id, order_number, customer_email, total_amount, currency, status,
                    status_at, provider, provider_order_id, carrier, tracking_number, created_at)
SELECT c.order_id, c.payload->>'order_number', c.payload->>'customer_email',
       (c.payload->'total'->>'amount')::bigint, 'GBP', 'shipped', s.occurred_at, 'Printify',
       p.payload->>'provider_order_id', s.payload->>'carrier', s.payload->>'tracking_number',
       c.occurred_at
FROM activity_log c
JOIN activity_log p ON p.order_id = c.order_id AND p.event_type = 'provider.status_reported'
JOIN activity_log s ON s.order_id = c.order_id AND s.event_type = 'order.shipped'
WHERE c.event_type = 'order.created'
"""


async def populate(dsn: str, rows: int, chunk: int = 500_000) -> float:
    """Fill an empty, migrated log with `rows` entries; returns the seconds it took."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_index x ON x.indexrelid = (quote_ident(i.indexname))::regclass "
            "WHERE i.tablename = 'activity_log' AND NOT x.indisprimary AND NOT x.indisunique"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        for first in range(0, rows, chunk):
            await conn.execute(GENERATE, first, min(first + chunk, rows) - 1, FIRST, LAST, DOMAINS)
        for index in indexes:
            # A partitioned log's index reads `ON ONLY activity_log` (the parent alone, left
            # invalid): built on the whole log it covers every month again.
            await conn.execute(index["indexdef"].replace(" ON ONLY ", " ON ", 1))
        await conn.execute(ORDERS)
        await conn.execute("VACUUM ANALYZE activity_log")
        await conn.execute("VACUUM ANALYZE orders")
    finally:
        await conn.close()
    return time.monotonic() - started
