"""A standalone outbox relay process, so tests can SIGKILL a real one.

python relay_process.py DATABASE_URL BOOTSTRAP TABLE BATCH_SIZE
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from shoptrail.events.outbox import OutboxRelay, outbox_table
from shoptrail.events.producer import Producer


async def main(database_url: str, bootstrap: str, table_name: str, batch_size: int) -> None:
    engine = create_async_engine(database_url)
    table = outbox_table(MetaData(), table_name)
    async with Producer(bootstrap, client_id="test-relay-process") as producer:
        relay = OutboxRelay(engine=engine, producer=producer, table=table, batch_size=batch_size)
        print("relay started", flush=True)
        await relay.run()


if __name__ == "__main__":
    url, bootstrap, table_name, batch = sys.argv[1:5]
    asyncio.run(main(url, bootstrap, table_name, int(batch)))
