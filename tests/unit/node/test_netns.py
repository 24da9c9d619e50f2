"""The ``--netns`` localnet: each node a host of its own (``harmony_node.node.netns``).

The plan and the start commands are checked everywhere; links and partitions on real namespaces
where this runs as root with iproute2 (CI does): a TCP listener in one namespace, connections from
the others through the bridge, then cut and restored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.node import main as hmy_node
from harmony_node.node import netns
from harmony_node.node.localnet import LocalnetSettings, build_start_command, create_localnet
from harmony_node.node.netns import HostPlan, NetnsError

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="network namespaces need root and iproute2")


def test_each_node_gets_a_namespace_an_address_and_a_cable_of_its_own() -> None:
    plans = [netns.plan_host(7, index, f"s0-v{index}") for index in range(4)]
    assert [p.address for p in plans] == ["10.213.7.2", "10.213.7.3", "10.213.7.4", "10.213.7.5"]
    assert len({p.netns for p in plans}) == len({p.host_device for p in plans}) == 4
    assert all(len(p.host_device) <= 15 for p in plans)  # the kernel's limit on interface names
    assert netns.get_bridge_address(7) == "10.213.7.1"
    with pytest.raises(NetnsError):
        netns.plan_host(7, netns.MAX_HOSTS, "x")


def test_a_namespaced_node_starts_inside_its_namespace_on_its_address(tmp_path: Path) -> None:
    net = create_localnet(tmp_path / "net", LocalnetSettings(shards=2, validators_per_shard=2, netns_subnet=9))
    for index, node in enumerate(net.nodes):
        command = build_start_command(net, node, "hmy-node")
        assert command[:4] == ["ip", "netns", "exec", f"hmy9-{node.name}"]
        assert node.host == f"10.213.9.{index + 2}"
        for flag in ("--p2p.host", "--rpc.host", "--metrics.host"):
            assert command[command.index(flag) + 1] == node.host
        others = [other.multiaddr for other in net.nodes if other is not node]
        assert all(f"/ip4/10.213.9." in addr for addr in others) and all(addr in command for addr in others)
        assert [command[i + 1] for i, arg in enumerate(command) if arg == "--rpc.shard-url"] == [
            "http://10.213.9.4:9500", "http://10.213.9.7:9502"]


def test_links_and_partitions_need_a_namespaced_localnet(tmp_path: Path) -> None:
    create_localnet(tmp_path / "net", LocalnetSettings(shards=1, validators_per_shard=1))
    for args in (["link", "s0-v0", "down"], ["partition", "s0-v0", "s0-rpc"], ["heal"]):
        result = CliRunner().invoke(hmy_node, ["localnet", *args, "--datadir", str(tmp_path / "net")])
        assert result.exit_code == 1 and "up --netns" in result.output, result.output


# --- real namespaces ----------------------------------------------------------------------------------------

SERVER = "import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" \
         "s.bind((sys.argv[1],7000));s.listen();print('ready',flush=True)\n" \
         "while True:\n c,_=s.accept();c.sendall(b'hello');c.close()"
CLIENT = "import socket,sys\ntry:\n c=socket.create_connection((sys.argv[1],7000),timeout=0.5);" \
         "print(c.recv(5).decode())\nexcept OSError as e:\n print('unreachable')"


def reaches(source: HostPlan | None, target: HostPlan) -> bool:
    """Whether a TCP connection from ``source``'s namespace (None: the host) to ``target`` gets an answer."""
    prefix = ["ip", "netns", "exec", source.netns] if source is not None else []
    result = subprocess.run([*prefix, sys.executable, "-c", CLIENT, target.address], capture_output=True, text=True,
                            timeout=10, check=True)
    return result.stdout.strip() == "hello"


@pytest.fixture
def hosts() -> Iterator[list[HostPlan]]:
    """Three namespaces on a bridge of their own, a listener in the first; all removed afterwards."""
    subnet = netns.find_free_subnet()
    plans = [netns.plan_host(subnet, index, f"t{os.getpid()}-{index}") for index in range(3)]
    server = None
    try:
        netns.ensure_network(subnet, plans)
        netns.ensure_network(subnet, plans)  # idempotent: `up` runs it every time
        server = subprocess.Popen(["ip", "netns", "exec", plans[0].netns, sys.executable, "-c", SERVER,
                                   plans[0].address], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield plans
    finally:
        if server is not None:
            server.kill()
            server.wait()
        netns.remove_network(subnet, plans)
        assert not any(plan.netns in netns.get_namespaces() for plan in plans)
        assert not netns.is_link_present(netns.get_bridge(subnet))


@needs_root
def test_a_partition_cuts_exactly_between_its_groups_and_heals(hosts: list[HostPlan]) -> None:
    a, b, c = hosts
    assert reaches(b, a) and reaches(c, a) and reaches(None, a)
    netns.set_partition(hosts, [[a], [b]])
    assert not reaches(b, a)
    assert reaches(c, a) and reaches(None, a)  # in no group, and the host: untouched
    netns.set_partition(hosts, [[a, c], [b]])  # replaces the earlier one
    assert not reaches(b, a) and reaches(c, a)
    netns.set_partition(hosts, [])
    assert reaches(b, a) and reaches(c, a)
    with pytest.raises(NetnsError):
        netns.set_partition(hosts, [[a], [a, b]])


@needs_root
def test_a_pulled_cable_cuts_a_node_off_from_everyone(hosts: list[HostPlan]) -> None:
    a, b, _ = hosts
    netns.set_link(a, False)
    assert not reaches(b, a) and not reaches(None, a)
    netns.set_link(a, True)
    # Plugged in, the first packets still wait for neighbour discovery across the bridge.
    deadline = time.monotonic() + 10
    while not (reaches(b, a) and reaches(None, a)):
        assert time.monotonic() < deadline, "the node stayed unreachable after its link came back"
