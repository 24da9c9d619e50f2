"""A localnet started through the real ``hmy-node localnet`` CLI, for end-to-end tests.

It runs on ports shifted away from the contract's 9000-9904 (``--base-port``), below Linux's
ephemeral range, so that it meets neither a developer's running localnet nor outgoing connections.
Every node process seen is killed (whole group) by ``kill_everything``, pass or fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmony_node.node.localnet import (
    LocalnetSettings,
    is_node_command,
    is_port_free,
    load_localnet,
    plan_nodes,
    read_proc_cmdline,
)
from harmony_node.node.netns import remove_network

HMY_NODE = str(Path(sys.executable).with_name("hmy-node"))
HMY = str(Path(sys.executable).with_name("hmy"))


def run_hmy(home: Path, *args: str, check: bool = True, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The ``hmy`` CLI as a user runs it, with its key store in ``home``; ``check``: exit 0 or fail with its output."""
    result = subprocess.run([HMY, *args], capture_output=True, text=True, timeout=timeout,
                            env={"HMY_CLI_HOME": str(home), "PATH": "/usr/bin:/bin"})
    if check:
        assert result.returncode == 0, f"hmy {' '.join(args)}: " + result.stdout + result.stderr
    return result


def run_hmy_node(*args: str, timeout: float = 60) -> str:
    """``hmy-node ARGS``' output; fails the test with its output unless it exits 0."""
    result = subprocess.run([HMY_NODE, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"hmy-node {' '.join(args)}: " + result.stdout + result.stderr
    return result.stdout


def find_free_base_port(first: int = 21000) -> int:
    """A base port whose whole layout (base .. base+911) is free now.

    The search starts at a place that depends on the process id, so that test runs started at the
    same moment (several pytest processes on one machine) rarely pick the same range."""
    bases = list(range(first, 32000, 1000))
    start = os.getpid() % len(bases)
    for base in bases[start:] + bases[:start]:
        if all(is_port_free(port) for plan in plan_nodes(LocalnetSettings(base_port=base))
               for port in (plan.p2p_port, plan.rpc_port, plan.metrics_port)):
            return base
    raise AssertionError("no free port range for the localnet")


@dataclass
class LocalnetCli:
    datadir: Path
    base_port: int
    seen: dict[int, Path] = field(default_factory=dict)
    """Every node pid observed, with its node directory: what the clean-up kills."""

    def run(self, *args: str, timeout: float = 150,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``hmy-node localnet ARGS``; ``env``: variables added to this environment (nodes that
        ``up`` starts inherit them)."""
        return subprocess.run([HMY_NODE, "localnet", *args, "--datadir", str(self.datadir)],
                              capture_output=True, text=True, timeout=timeout, cwd=self.datadir.parent,
                              env=dict(os.environ, **env) if env else None)

    def get_status(self) -> dict[str, Any]:
        result = self.run("status", "--json", timeout=30)
        assert result.returncode == 0, result.stderr
        status: dict[str, Any] = json.loads(result.stdout)
        for node in status["nodes"]:
            if node["pid"] is not None:
                self.seen[node["pid"]] = Path(node["datadir"])
        return status

    def get_rpc_url(self, shard: int) -> str:
        """The RPC URL of ``shard``'s RPC node (from the manifest: a ``--netns`` node has its own address)."""
        localnet = load_localnet(self.datadir)
        assert localnet is not None, f"no localnet in {self.datadir} yet"
        return next(node.rpc_url for node in localnet.nodes if node.role == "rpc" and node.shard == shard)

    def get_log_tails(self) -> str:
        return "\n".join(f"--- {log.parent.name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                         for log in sorted(self.datadir.glob("*/node.log")))

    def wait_until_live(self, timeout: float) -> None:
        """Until every chain is at height 3 or more with a validator named as leader; logs at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status()
            validators = {node["name"] for node in status["nodes"] if node["role"] == "validator"}
            if len(status["chains"]) == 3 and all(
                    chain["height"] is not None and chain["height"] >= 3 and chain["leader"] in validators
                    for chain in status["chains"].values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"chains not live after {timeout:.0f} s: {status['chains']}\n"
                                     + self.get_log_tails())
            time.sleep(1)

    def kill_everything(self) -> None:
        for pid_file in self.datadir.glob("*/node.pid"):
            try:
                self.seen[int(pid_file.read_text())] = pid_file.parent
            except ValueError:
                pass
        for pid, node_dir in self.seen.items():
            args = read_proc_cmdline(pid)
            if args is not None and is_node_command(args, node_dir):
                os.killpg(pid, signal.SIGKILL)
        localnet = load_localnet(self.datadir)
        if localnet is not None and localnet.settings.netns_subnet is not None:
            remove_network(localnet.settings.netns_subnet, localnet.get_host_plans())
