"""kill -9 a node process while it imports blocks: it reopens without losing a finalized block.

A child process imports signed blocks into LevelDB and reports each new head; the parent kills it
with SIGKILL at seeded random points (usually in the middle of executing or writing the next
block), restarts it on the same data directory and repeats. Every block the child reported is
still there after every crash, the chain is whole from genesis to head, and the state at the head
is exactly the state those blocks produce.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chain_factory import SENDER, open_chain
from harmony_node.db.level import LevelDBStore

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("chain_writer.py")


def _start(path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "support"), str(ROOT)]))
    return subprocess.Popen([sys.executable, str(WRITER), str(path)], stdout=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def _read_until(process: subprocess.Popen[str], count: int) -> int:
    """Read head reports until ``count`` imports were seen; returns the last reported head."""
    assert process.stdout is not None
    head, seen = -1, 0
    while seen < count:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"writer exited early with code {process.wait()}")
        head = int(line.split()[1])
        seen += line.startswith("imported")
    return head


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_at_random_points_never_loses_a_finalized_block(tmp_path: Path) -> None:
    path = tmp_path / "chain"
    rng = random.Random(20261129)
    reported = -1
    for _ in range(25):
        process = _start(path)
        try:
            assert process.stdout is not None
            opened = int(process.stdout.readline().split()[1])
            assert opened >= reported, f"finalized block {reported} lost: reopened at {opened}"
            reported = _read_until(process, rng.randint(1, 4))
            # The child is already executing the next block; a random pause of up to a block's
            # import time moves the kill across execution, the batch write and the next report.
            time.sleep(rng.uniform(0, 0.03))
            os.killpg(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
    with LevelDBStore(path) as store:
        chain = open_chain(store)
        assert chain.head.number >= reported
        transfers = 0
        for number in range(1, chain.head.number + 1):
            block = chain.get_block_by_number(number)
            assert block.header.parent_hash == chain.get_block_by_number(number - 1).header.hash
            assert chain.get_commit(number).view == block.header.view_id
            transfers += len(block.transactions)
        assert chain.get_state().get_nonce(SENDER) == transfers == 20 * chain.head.number
