"""The osc node through a real UDP socket: controller messages change the show, each gets a reply."""

from __future__ import annotations

import socket
from pathlib import Path

from conftest import build
from pythonosc import osc_message_builder, osc_packet
from vj_support import running, wait_until

from mcav.nodes.osc.addresses import Call, Refused, route


def graph(tmp_path: Path, allow: str = "") -> str:
    return f"""
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 16}}
  show: {{kind: show, state_file: "{tmp_path / 'show.yaml'}", save_delay: 0}}
  osc: {{kind: osc, port: 0{allow}}}
"""


class Controller:
    """An OSC controller: a UDP socket that sends messages and reads the node's replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.target = ("127.0.0.1", port)

    def send(self, address: str, *args: object) -> tuple[str, list]:
        b = osc_message_builder.OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(a)
        self.sock.sendto(b.build().dgram, self.target)
        return self.reply()

    def reply(self) -> tuple[str, list]:
        data, _ = self.sock.recvfrom(65536)
        (timed,) = osc_packet.OscPacket(data).messages
        return timed.message.address, list(timed.message.params)


def test_controller_messages_change_the_show_and_get_replies(tmp_path: Path) -> None:
    with running(build(graph(tmp_path))) as rt:
        osc, viz = rt.node("osc"), rt.node("viz")
        wait_until(lambda: osc.status()["port"])
        c = Controller(osc.status()["port"])
        assert c.send("/mcav/ping") == ("/mcav/pong", [])
        assert c.send("/mcav/pattern", "bars") == ("/mcav/ok", ["/mcav/pattern"])
        assert viz.state()["pattern"] == "bars"
        assert c.send("/mcav/pattern", 2)[0] == "/mcav/ok" and viz.state()["pattern"] == viz.patterns()[1]["id"]
        assert c.send("/mcav/blackout", 1)[0] == "/mcav/ok" and viz.state()["blackout"] is True
        assert c.send("/mcav/blackout", 0)[0] == "/mcav/ok" and viz.state()["blackout"] is False
        assert c.send("/mcav/band/0", 0.25)[0] == "/mcav/ok" and viz.state()["band_sensitivity"][0] == 0.5
        assert c.send("/mcav/entities", 48)[0] == "/mcav/ok" and viz.state()["entity_count"] == 48
        assert c.send("/mcav/transition", 2.5)[0] == "/mcav/ok" and viz.state()["transition"]["duration"] == 2.5
        assert c.send("/mcav/effect", "flash", 1.5, 0.2)[0] == "/mcav/ok"
        assert c.send("/mcav/scene/save", "Intro") == ("/mcav/ok", ["/mcav/scene/save"])
        assert c.send("/mcav/pattern", "galaxy")[0] == "/mcav/ok"
        assert c.send("/mcav/scene", "Intro")[0] == "/mcav/ok" and viz.state()["pattern"] == viz.patterns()[1]["id"]
        address, (where, why) = c.send("/mcav/pattern", "nope")
        assert address == "/mcav/error" and where == "/mcav/pattern" and "nope" in why
        assert c.send("/other/thing")[0] == "/mcav/error"
        c.sock.sendto(b"not osc at all", c.target)
        assert c.reply()[0] == "/mcav/error"
        st = osc.status()
        assert st["applied"] == 11 and st["errors"] == 1 and st["refused"] == 1 and st["bad_packets"] == 1


def test_packets_from_outside_the_allow_list_are_dropped_and_counted(tmp_path: Path) -> None:
    with running(build(graph(tmp_path, ", allow: ['127.0.0.2/32']"))) as rt:
        osc, viz = rt.node("osc"), rt.node("viz")
        wait_until(lambda: osc.status()["port"])
        c = Controller(osc.status()["port"])
        b = osc_message_builder.OscMessageBuilder(address="/mcav/pattern")
        b.add_arg("bars")
        c.sock.sendto(b.build().dgram, c.target)
        wait_until(lambda: osc.status()["not_allowed"] == 1)
        assert viz.state()["pattern"] == "spectrum"


def test_the_address_scheme_without_sockets() -> None:
    assert route("/mcav/pattern", ["bars"]) == Call("pattern", "set_pattern", ("bars", None))
    assert route("/mcav/pattern", ["bars", "bar"]) == Call("pattern", "set_pattern", ("bars", "bar"))
    assert route("/mcav/band/4", [2.0]) == Call("pattern", "set_band_sensitivity", (4, 2.0))  # clamped to 1 → 2
    assert route("/mcav/freeze", []) == Call("pattern", "set_freeze", (None,))
    assert isinstance(route("/mcav/entities", [float("nan")]), Refused)
    assert isinstance(route("/mcav/band/x", [0.5]), Refused)


def test_beat_rate_from_a_controller(tmp_path: Path) -> None:
    with running(build(graph(tmp_path))) as rt:
        osc, viz = rt.node("osc"), rt.node("viz")
        wait_until(lambda: osc.status()["port"])
        c = Controller(osc.status()["port"])
        assert c.send("/mcav/beat_rate", 2.0) == ("/mcav/ok", ["/mcav/beat_rate"]) and viz.state()["beat_rate"] == 2
        assert c.send("/mcav/beat_rate", 0.5)[0] == "/mcav/ok" and viz.state()["beat_rate"] == 0.5
        address, (where, why) = c.send("/mcav/beat_rate", 3.0)  # the pattern node names the valid rates
        assert (address, where) == ("/mcav/error", "/mcav/beat_rate") and "0.5" in why and viz.state()["beat_rate"] == 0.5
    assert route("/mcav/beat_rate", [1]) == Call("pattern", "set_beat_rate", (1.0,))
    assert isinstance(route("/mcav/beat_rate", ["double"]), Refused) and isinstance(route("/mcav/beat_rate", []), Refused)
