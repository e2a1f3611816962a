"""CPU the hub's GroupCommitWriter spends launching batches while a backlog waits.

    .venv/bin/python -m bench.writer_backlog src                 # this tree
    git archive REV src | tar -x -C /tmp/old && .venv/bin/python -m bench.writer_backlog /tmp/old/src

20,000 messages in 1,000 rooms arrive in bursts of 50 at a store that takes 5 ms per batch (two
batches in flight); prints the batches and the total time spent in ``_launch``.
"""

import asyncio
import sys
import time

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "src")
from careconnect.hub.store import GroupCommitWriter, MemoryStore, NewMessage


class SlowStore(MemoryStore):
    async def append_batch(self, batch):
        await asyncio.sleep(0.005)
        return await super().append_batch(batch)


async def main():
    store = SlowStore()
    writer = GroupCommitWriter(store, max_in_flight=2)
    writer.start()
    launch_time = 0.0
    orig = writer._launch

    def timed():
        nonlocal launch_time
        t = time.perf_counter()
        r = orig()
        launch_time += time.perf_counter() - t
        return r

    writer._launch = timed
    futures = []
    t0 = time.perf_counter()
    for i in range(20_000):  # 20,000 messages in 1,000 rooms, arriving in bursts of 50
        futures.append(
            writer.submit(
                NewMessage(
                    room=f"r{i % 1000}",
                    client_id=str(i),
                    sender_id="u",
                    sender_role="patient",
                    sender_name="U",
                    body="x",
                )
            )
        )
        if i % 50 == 49:
            await asyncio.sleep(0)
    await asyncio.gather(*futures)
    print(
        f"{sys.path[0]}: {writer.batches} batches, launch CPU {launch_time * 1000:.0f} ms, wall {time.perf_counter() - t0:.2f} s"
    )
    await writer.stop()


asyncio.run(main())
