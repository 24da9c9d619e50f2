"""A localnet whose nodes are separate hosts: one Linux network namespace per node (``localnet up --netns``).

On 127.0.0.1 every node shares one network stack, so nothing shows that the node works between
machines, and no link can fail. With ``--netns`` each node runs in a namespace of its own, behind a
veth pair on one bridge, at an address of its own (needs root and iproute2):

    bridge  hmyb<n>          10.213.<n>.1/24   the host's side: the CLI, wallets and tests reach nodes here
    node k  hmy<n>-<name>    10.213.<n>.<k+2>  interface eth0; host side of its veth: hmy<n>h<k>

``n`` is picked when the localnet is created (the first subnet no bridge uses) and kept in the
manifest, so two such localnets on one machine do not collide. The namespaces outlive ``down``
(``up`` recreates whatever is missing, e.g. after a reboot); ``reset`` deletes them.

Faults between hosts, for tests and for trying things out:

- ``set_link(node, up)`` takes a node's cable out (its host-side veth down): it reaches no one and
  no one reaches it, the host included;
- ``set_partition(groups)`` cuts traffic between groups of nodes with blackhole routes inside each
  namespace; every node still reaches the host, so ``status`` keeps working during a partition.
  TCP connections across the cut are not reset: their packets vanish, as on a real network, and
  resume (after TCP's retransmission back-off) when the partition heals.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from harmony_node.exceptions import HarmonyError

SUBNET_PREFIX = "10.213"
MAX_SUBNETS = 254
MAX_HOSTS = 252
"""Addresses .2 to .253 of the /24; .1 is the bridge."""
DEVICE = "eth0"
IP_TIMEOUT_S = 10.0


class NetnsError(HarmonyError):
    """A namespace, link or route could not be set up; the message has iproute2's answer."""


@dataclass(frozen=True, slots=True)
class HostPlan:
    """Where one node lives: its namespace, address and the host side of its cable."""

    netns: str
    address: str
    host_device: str


def get_bridge(subnet: int) -> str:
    return f"hmyb{subnet}"


def get_bridge_address(subnet: int) -> str:
    return f"{SUBNET_PREFIX}.{subnet}.1"


def plan_host(subnet: int, index: int, name: str) -> HostPlan:
    """Namespace, address and host-side device of the ``index``-th node of the localnet (manifest order)."""
    if not 0 <= index < MAX_HOSTS:
        raise NetnsError(f"a namespaced localnet holds at most {MAX_HOSTS} nodes")
    return HostPlan(f"hmy{subnet}-{name}", f"{SUBNET_PREFIX}.{subnet}.{index + 2}", f"hmy{subnet}h{index}")


def check_available() -> None:
    """Refuse early, with what to do, where namespaces cannot be made."""
    if shutil.which("ip") is None:
        raise NetnsError("--netns needs the `ip` command (iproute2; Debian: apt-get install iproute2)")
    if os.geteuid() != 0:
        raise NetnsError("--netns needs root: creating network namespaces, veth pairs and a bridge is privileged")


def run_ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``ip ARGS``; NetnsError with its stderr if it fails and ``check``."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def is_link_present(device: str) -> bool:
    return run_ip("link", "show", "dev", device, check=False).returncode == 0


def get_namespaces() -> set[str]:
    listing = run_ip("netns", "list").stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def find_free_subnet() -> int:
    """The first subnet number whose bridge does not exist (another localnet, or a leftover, uses it)."""
    for subnet in range(1, MAX_SUBNETS + 1):
        if not is_link_present(get_bridge(subnet)):
            return subnet
    raise NetnsError(f"all {MAX_SUBNETS} localnet subnets {SUBNET_PREFIX}.n.0/24 are taken; `localnet reset` some")


def ensure_bridge(subnet: int) -> None:
    bridge = get_bridge(subnet)
    if not is_link_present(bridge):
        run_ip("link", "add", bridge, "type", "bridge")
        run_ip("addr", "add", f"{get_bridge_address(subnet)}/24", "dev", bridge)
    run_ip("link", "set", bridge, "up")


def ensure_host(subnet: int, plan: HostPlan) -> None:
    """Create whatever is missing of one node's namespace, cable and address; leaves a cut cable cut."""
    if plan.netns not in get_namespaces():
        run_ip("netns", "add", plan.netns)
    has_device = run_ip("-n", plan.netns, "link", "show", "dev", DEVICE, check=False).returncode == 0
    if not has_device and is_link_present(plan.host_device):
        run_ip("link", "del", plan.host_device)  # a leftover whose other end went with an old namespace
    if not has_device:
        run_ip("link", "add", plan.host_device, "type", "veth", "peer", "name", DEVICE, "netns", plan.netns)
        run_ip("link", "set", plan.host_device, "master", get_bridge(subnet))
        run_ip("link", "set", plan.host_device, "up")
    addresses = run_ip("-n", plan.netns, "-o", "addr", "show", "dev", DEVICE).stdout
    if f" {plan.address}/" not in addresses:
        run_ip("-n", plan.netns, "addr", "add", f"{plan.address}/24", "dev", DEVICE)
    run_ip("-n", plan.netns, "link", "set", DEVICE, "up")
    run_ip("-n", plan.netns, "link", "set", "lo", "up")


def ensure_network(subnet: int, plans: Sequence[HostPlan]) -> None:
    check_available()
    ensure_bridge(subnet)
    for plan in plans:
        ensure_host(subnet, plan)


def remove_network(subnet: int, plans: Sequence[HostPlan]) -> None:
    """Delete the namespaces (their veth ends go with them) and the bridge; missing parts are fine."""
    present = get_namespaces()
    for plan in plans:
        if plan.netns in present:
            run_ip("netns", "del", plan.netns)
        # The kernel removes a veth pair with the namespace of one end, but not always before `netns del`
        # returns: a device that vanished meanwhile is as good as deleted.
        result = run_ip("link", "del", plan.host_device, check=False)
        if result.returncode != 0 and is_link_present(plan.host_device):
            raise NetnsError(f"ip link del {plan.host_device}: {result.stderr.strip()}")
    if is_link_present(get_bridge(subnet)):
        run_ip("link", "del", get_bridge(subnet))


def is_link_up(plan: HostPlan) -> bool:
    """Whether the node's side of its cable has carrier (both ends up)."""
    return "state UP" in run_ip("-n", plan.netns, "link", "show", "dev", DEVICE).stdout


def set_link(plan: HostPlan, up: bool, timeout: float = 5.0) -> None:
    """Plug in or pull out a node's cable (the host side of its veth). Plugging in returns once the
    node's side has carrier again, so that what follows does not race the link coming up."""
    run_ip("link", "set", plan.host_device, "up" if up else "down")
    deadline = time.monotonic() + timeout
    while up and not is_link_up(plan):
        if time.monotonic() > deadline:
            raise NetnsError(f"the link of {plan.netns} did not come up within {timeout:g} s")
        time.sleep(0.05)


def get_blackholes(plan: HostPlan) -> set[str]:
    """The addresses this node's namespace drops traffic to (the partition it is in)."""
    routes = run_ip("-n", plan.netns, "route", "show", "type", "blackhole").stdout
    return {line.split()[1].removesuffix("/32") for line in routes.splitlines() if line.startswith("blackhole ")}


def set_partition(plans: Sequence[HostPlan], groups: Sequence[Sequence[HostPlan]]) -> None:
    """Cut every node of one group off from every node of the other groups; nodes in no group (and the
    host) keep reaching everyone. Replaces any earlier partition; no groups: heal."""
    group_of = {plan.netns: index for index, group in enumerate(groups) for plan in group}
    if len(group_of) != sum(len(group) for group in groups):
        raise NetnsError("a node is in more than one group of the partition")
    for plan in plans:
        mine = group_of.get(plan.netns)
        wanted = {other.address for other in plans
                  if mine is not None and group_of.get(other.netns, mine) != mine}
        present = get_blackholes(plan)
        for address in present - wanted:
            run_ip("-n", plan.netns, "route", "del", "blackhole", f"{address}/32")
        for address in sorted(wanted - present):
            run_ip("-n", plan.netns, "route", "add", "blackhole", f"{address}/32")
