"""The recorder's network namespaces: loopback plus a veth pair with a private test address and a
default route, both ends inside the namespace, and a guard that drops (and counts) anything sent
to an address outside it. Nothing can leave: the namespace has no link to any other."""
import os
import re
import shutil
import subprocess
from typing import List, Tuple

ADDRESS = "10.99.0.1/24"  # a private test address, used only inside the namespace

# Output to anything but loopback, the namespace's own subnet, link-local and multicast is dropped
# and counted: the count, saved in each trace, shows whether the browser tried to reach out.
GUARD = """
table inet pcstate_guard {
  set out4 { type ipv4_addr . inet_proto . inet_service; size 1024; flags dynamic; }
  set out6 { type ipv6_addr . inet_proto . inet_service; size 1024; flags dynamic; }
  chain output {
    type filter hook output priority 0; policy accept;
    meta nfproto ipv4 ip daddr != { 127.0.0.0/8, 10.99.0.0/24, 224.0.0.0/4, 255.255.255.255 } \
      add @out4 { ip daddr . meta l4proto . th dport } counter drop
    meta nfproto ipv6 ip6 daddr != { ::1, fe80::/10, ff00::/8 } \
      add @out6 { ip6 daddr . meta l4proto . th dport } counter drop
  }
}
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def _etc(name: str) -> str:
    return os.path.join("/etc/netns", name)


def create(name: str) -> None:
    """Creates namespace `name` with lo up, veth v0 (ADDRESS, default route) and v1, and the guard.
    Its resolv.conf (which `ip netns exec` mounts) names a resolver on its own loopback, so that
    name look-ups stay inside it."""
    _ip("netns", "add", name)
    try:
        os.makedirs(_etc(name), exist_ok=True)
        with open(os.path.join(_etc(name), "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\n")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        _ip("-n", name, "addr", "add", ADDRESS, "dev", "v0")
        _ip("-n", name, "link", "set", "v0", "up")
        _ip("-n", name, "link", "set", "v1", "up")
        _ip("-n", name, "route", "add", "default", "dev", "v0")
        subprocess.run(exec_in(name, ["nft", "-f", "-"]), input=GUARD, text=True, check=True,
                       capture_output=True, timeout=20)
    except Exception:
        delete(name)
        raise


def exec_in(name: str, argv: List[str]) -> List[str]:
    """The command line running argv inside namespace `name`."""
    return ["ip", "netns", "exec", name, *argv]


def guard_drops(name: str) -> Tuple[int, List[str]]:
    """Packets the guard dropped so far (attempts to reach outside the namespace), and their
    destinations (address . protocol . port)."""
    r = subprocess.run(exec_in(name, ["nft", "list", "table", "inet", "pcstate_guard"]), text=True,
                       capture_output=True, timeout=20)
    count = sum(int(n) for n in re.findall(r"counter packets (\d+)", r.stdout))
    dests = re.findall(r"elements = \{([^}]*)\}", r.stdout)
    return count, sorted({d.strip() for part in dests for d in part.split(",") if d.strip()})


def delete(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)
    shutil.rmtree(_etc(name), ignore_errors=True)
