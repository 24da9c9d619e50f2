"""The explorer page in a real browser against the real default localnet (issue #8 item 3).

``hmy-node localnet up`` starts the 3 chains (15 processes, shifted ports); headless Chromium
(Debian's ``chromium``, installed by ``setup.sh``) opens the page of the beacon's RPC node, and the
test reads the page's DOM through the DevTools protocol while the page keeps running. It proves:

- it loads: the script runs, finds the three chains through ``hmyv2_getShardingStructure`` and
  reports itself live, with each shard's committee and the signers of its latest block;
- it shows blocks from all three chains: heights above 0 for shards 0, 1 and 2, and the block
  hashes it shows are the ones each shard's RPC returns for those numbers;
- it updates by itself: in the same page session (no reload) its refresh counter goes up and every
  chain's height and newest block row move past what was first shown; a transfer sent meanwhile
  appears in a block row's transaction count and in the throughput figures.

Why DevTools rather than ``--dump-dom --virtual-time-budget``: virtual time stands still while a
fetch is in flight and races ahead when none is, so a dump after "30 virtual seconds" covers only
the real time of the fetches (a fraction of a second): the chains barely move, and the page's
polling cannot be shown to follow them. Over DevTools the page runs in real time and the test
waits on conditions with deadlines.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pyhmy import account as hmy_account
from pyhmy import signing as hmy_signing
from websockets.sync.client import ClientConnection, connect

from localnet_runner import LocalnetCli

pytestmark = pytest.mark.slow

FUNDED_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"
FUNDED = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
RECIPIENT = "one1pdv9lrdwl0rg5vglh4xtyrv3wjk3wsqket7zxy"
GAS_PRICE = 100 * 10**9
SHARDS = (0, 1, 2)

READ_PAGE = """(() => ({
  state: document.body.dataset.state,
  refreshes: Number(document.body.dataset.refreshes),
  chains: [...document.querySelectorAll("#chains .chain")].map(chain => ({
    shard: Number(chain.dataset.shard), height: Number(chain.dataset.height || 0),
    error: chain.querySelector(".error") ? chain.querySelector(".error").textContent : null,
    blocks: [...chain.querySelectorAll("tr.block")].map(row => ({
      number: Number(row.dataset.number), hash: row.dataset.hash, txs: Number(row.dataset.txs),
      signers: Number(row.dataset.signers)})),
  })),
  committees: [...document.querySelectorAll("#committees .committee")].map(committee => ({
    shard: Number(committee.dataset.shard), size: Number(committee.dataset.size || 0),
    signed: Number(committee.dataset.signed || 0)})),
  tps: Object.fromEntries([...document.querySelectorAll("#tps-legend [data-tps]")].map(
    entry => [entry.dataset.shard, Number(entry.dataset.tps)])),
  chartLines: document.querySelectorAll("#tps-chart polyline.tps").length,
  text: document.body.innerText,
}))()"""
"""The page's state as the test reads it: data attributes the page sets for this, and its text."""


class DevToolsPage:
    """One browser tab, driven over its DevTools WebSocket (only ``Runtime.evaluate`` is needed)."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.next_id = 1

    def evaluate(self, expression: str) -> Any:
        request_id = self.next_id
        self.next_id += 1
        self.connection.send(json.dumps({"id": request_id, "method": "Runtime.evaluate",
                                         "params": {"expression": expression, "returnByValue": True}}))
        while True:  # no domain is enabled, so replies are all that arrive; skip any stray event anyway
            message = json.loads(self.connection.recv(timeout=30))
            if message.get("id") == request_id:
                break
        result = message["result"]
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = self.evaluate(READ_PAGE)
        return state


def _wait_for(read: Callable[[], dict[str, Any]], condition: Callable[[dict[str, Any]], bool], timeout: float,
              what: str) -> dict[str, Any]:
    """Read the page until ``condition`` holds; at the deadline fail showing what the page showed."""
    deadline = time.monotonic() + timeout
    while True:
        state = read()
        if condition(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; page text:\n{state['text']}")
        time.sleep(0.5)


def _wait_for_file(path: Path, timeout: float, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().count("\n") >= 1):
        if process.poll() is not None:
            raise AssertionError(f"chromium exited with {process.returncode} before opening DevTools")
        if time.monotonic() > deadline:
            raise AssertionError(f"chromium wrote no {path.name} within {timeout:.0f} s")
        time.sleep(0.1)
    return path.read_text()


@contextmanager
def open_in_chromium(url: str, profile: Path) -> Iterator[DevToolsPage]:
    """Headless Chromium showing ``url``, with DevTools on a port it picks (written to its profile)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: ./setup.sh installs Debian's chromium package "
                    "(as root: apt-get install -y chromium)")
    profile.mkdir(parents=True, exist_ok=True)
    with open(profile.parent / "chromium.log", "wb") as log:
        process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", f"--user-data-dir={profile}", "--remote-debugging-port=0", url],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        port = int(_wait_for_file(profile / "DevToolsActivePort", 60, process).splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        tab = next(target for target in targets if target["type"] == "page")
        connection = connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        with connection:
            yield DevToolsPage(connection)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the browser and its renderer/GPU children
        process.wait()


def _rpc(url: str, method: str, *params: Any) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        answer = json.load(reply)
    assert "error" not in answer, answer
    return answer["result"]


def _send_transfer(url: str, to_shard: int, nonce: int) -> str:
    tx = hmy_signing.sign_transaction({"from": FUNDED, "to": RECIPIENT, "value": 10**18, "gasPrice": GAS_PRICE,
                                       "gas": 21000, "chainId": 2, "shardID": 0, "toShardID": to_shard,
                                       "nonce": nonce}, FUNDED_KEY)
    tx_hash: str = _rpc(url, "hmyv2_sendRawTransaction", tx.rawTransaction.hex())
    return tx_hash


def _heights(state: dict[str, Any]) -> dict[int, int]:
    return {chain["shard"]: chain["height"] for chain in state["chains"]}


def _newest_rows(state: dict[str, Any]) -> dict[int, int]:
    return {chain["shard"]: max((block["number"] for block in chain["blocks"]), default=0) for chain in state["chains"]}


@pytest.mark.timeout(420)
def test_explorer_page_shows_all_chains_and_updates(cli: LocalnetCli, tmp_path: Path) -> None:
    result = cli.run("up", "--base-port", str(cli.base_port))
    assert result.returncode == 0, result.stdout + result.stderr
    cli.wait_until_live(150)
    beacon_url = cli.get_rpc_url(0)

    with open_in_chromium(beacon_url + "/", tmp_path / "chromium-profile") as page:
        # Loads: live, three chains each with blocks, committees known with signers marked.
        first = _wait_for(page.read, lambda state: (
            state.get("state") == "live" and sorted(_heights(state)) == list(SHARDS)
            and all(chain["height"] > 0 and chain["blocks"] for chain in state["chains"])
            and all(committee["size"] > 0 and committee["signed"] > 0 for committee in state["committees"])),
            90, "the page to show blocks and committees of all three chains")
        assert first["chartLines"] == len(SHARDS)
        for chain in first["chains"]:
            newest = chain["blocks"][0]
            assert newest["number"] == max(block["number"] for block in chain["blocks"])
            assert newest["signers"] > 0
            # The page shows the shard's real blocks, not a copy of another chain's.
            shown = _rpc(cli.get_rpc_url(chain["shard"]), "hmyv2_getBlockByNumber", newest["number"], {})
            assert shown["hash"] == newest["hash"], chain

        # Transfers sent while the page runs (one on shard 0, one from shard 0 to shard 1).
        nonce = hmy_account.get_account_nonce(FUNDED, endpoint=beacon_url)
        sent = [_send_transfer(beacon_url, to_shard, nonce + index) for index, to_shard in enumerate((0, 1))]

        # Updates by itself, same session: more refreshes, every chain past what was first shown,
        # and the transfers counted in shard 0's blocks and throughput.
        before = _heights(first)
        later = _wait_for(page.read, lambda state: (
            state["refreshes"] >= first["refreshes"] + 3
            and all(_heights(state)[s] > before[s] for s in SHARDS)
            and all(_newest_rows(state)[s] > _newest_rows(first)[s] for s in SHARDS)
            and sum(block["txs"] for block in state["chains"][0]["blocks"]) >= len(sent)
            and state["tps"].get("0", 0) > 0),
            90, "the page to move on with the chains and show the transfers")
        assert later["state"] == "live" and not any(chain["error"] for chain in later["chains"])
        print(f"explorer page after {later['refreshes']} refreshes:\n{later['text']}")

    result = cli.run("down")
    assert result.returncode == 0, result.stdout + result.stderr
