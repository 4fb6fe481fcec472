"""Every graph problem is reported with the file, line, node and key at fault."""

from __future__ import annotations

import textwrap

import pytest

from conftest import build
from mcav.runtime.errors import GraphError, GraphInvalid
from mcav.runtime.model import parse_override


def problems(text: str, overrides: tuple[str, ...] = ()) -> list[GraphError]:
    with pytest.raises(GraphInvalid) as info:
        build(textwrap.dedent(text), overrides)
    return info.value.errors


def only(text: str, overrides: tuple[str, ...] = ()) -> GraphError:
    errs = problems(text, overrides)
    assert len(errs) == 1, [str(e) for e in errs]
    return errs[0]


def test_valid_graph_compiles_with_a_summary() -> None:
    g = build("nodes:\n  src: {kind: counter}\n  out: {kind: collect, in: src}\n")
    assert "valid: 2 nodes, 1 edges (0 queued, 1 fused)" in g.summary()


def test_unknown_kind_suggests_the_closest() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out:
            kind: colect
            in: src
        """
    )
    assert (err.line, err.node, err.key) == (5, "out", "kind")
    assert "unknown node kind 'colect'" in err.message and "did you mean 'collect'" in err.message
    assert str(err).startswith("test.yaml:5: node 'out': key 'kind':")


def test_unknown_parameter_suggests_the_closest() -> None:
    err = only(
        """
        nodes:
          src:
            kind: counter
            cuont: 5
          out: {kind: collect, in: src}
        """
    )
    assert (err.line, err.node, err.key) == (5, "src", "cuont")
    assert "did you mean 'count'" in err.message


def test_wrong_type_names_expected_and_actual() -> None:
    err = only(
        """
        nodes:
          src:
            kind: counter
            rate: fast
          out: {kind: collect, in: src}
        """
    )
    assert (err.line, err.key) == (5, "rate")
    assert "expected a number, got 'fast' (str)" in err.message


def test_out_of_range_names_the_bound_and_unit() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          s:
            kind: scale
            in: src
            work_ms: -3
          out: {kind: collect, in: s}
        """
    )
    assert (err.line, err.node, err.key) == (7, "s", "work_ms")
    assert "-3.0 ms is below the minimum 0 ms" in err.message


def test_missing_required_parameter() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out: {kind: jsonl, in: src}
        """
    )
    assert (err.line, err.node, err.key) == (4, "out", "path")
    assert "missing required parameter 'path'" in err.message


def test_unknown_upstream_node() -> None:
    err = only(
        """
        nodes:
          source: {kind: counter}
          out: {kind: collect, in: sourse}
        """
    )
    assert (err.line, err.node, err.key) == (4, "out", "in")
    assert "unknown upstream node 'sourse'" in err.message and "did you mean 'source'" in err.message


def test_unknown_output_port() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out: {kind: collect, in: src.outt}
        """
    )
    assert (err.line, err.key) == (4, "in")
    assert "has no output port 'outt'" in err.message and "did you mean 'out'" in err.message


def test_unknown_input_port() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out: {kind: collect, in: {from: src, to: inn}}
        """
    )
    assert err.key == "in.to" and "has no input port 'inn'" in err.message


def test_unconnected_input() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out: {kind: collect}
        """
    )
    assert (err.line, err.node, err.key) == (4, "out", "in")
    assert "input port 'in' is not connected" in err.message


def test_cycle_is_reported_with_its_path() -> None:
    errs = problems(
        """
        nodes:
          src: {kind: counter}
          a: {kind: scale, in: [src, b]}
          b: {kind: scale, in: a}
        """
    )
    assert len(errs) == 1
    assert "cycle" in errs[0].message and "a" in errs[0].message and "b" in errs[0].message
    assert errs[0].line in (4, 5)


def test_duplicate_node_name() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          src: {kind: counter}
          out: {kind: collect, in: src}
        """
    )
    assert (err.line, err.node) == (4, "src")
    assert "duplicate node name 'src' (first defined on line 3)" in err.message


def test_unset_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCAV_TEST_UNSET", raising=False)
    err = only(
        """
        nodes:
          src: {kind: counter}
          out:
            kind: jsonl
            in: src
            path: ${MCAV_TEST_UNSET}
        """
    )
    assert (err.line, err.node, err.key) == (7, "out", "path")
    assert "MCAV_TEST_UNSET is not set" in err.message


def test_an_unset_variable_in_a_typed_value_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not also "expected an integer, got '${...}'" for the same key: the text left in place is no value.
    monkeypatch.delenv("MCAV_TEST_UNSET", raising=False)
    err = only(
        """
        nodes:
          src:
            kind: counter
            count: ${MCAV_TEST_UNSET}
          out: {kind: discard, in: src}
        """
    )
    assert (err.line, err.node, err.key) == (5, "src", "count")
    assert "MCAV_TEST_UNSET is not set" in err.message
    err = only(
        """
        nodes:
          src:
            kind: sounddevice
            reconnect: {initial: "${MCAV_TEST_UNSET}"}
          out: {kind: discard, in: src}
        """
    )
    assert (err.line, err.node, err.key) == (5, "src", "reconnect")
    assert "MCAV_TEST_UNSET is not set" in err.message


def test_environment_variables_are_interpolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCAV_TEST_COUNT", "7")
    g = build("nodes:\n  src: {kind: counter, count: '${MCAV_TEST_COUNT}', start: '${MCAV_NOPE:-2.5}'}\n  o: {kind: discard, in: src}\n")
    assert g.nodes["src"].params.count == 7
    assert g.nodes["src"].params.start == 2.5


def test_malformed_yaml_names_the_line() -> None:
    err = only("nodes:\n  src: {kind: counter\n  out: {kind: collect, in: src}\n")
    assert err.line is not None and err.line >= 2
    assert "malformed YAML" in err.message


def test_bad_queue_policy_suggests() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter}
          out: {kind: collect, in: {from: src, queue: {leaky: downstreem}}}
        """
    )
    assert err.key == "queue.leaky" and "did you mean 'downstream'" in err.message


def test_policy_on_a_kind_without_policies() -> None:
    err = only(
        """
        nodes:
          src: {kind: counter, reconnect: lan}
          out: {kind: collect, in: src}
        """
    )
    assert (err.node, err.key) == ("src", "reconnect") and "has no reconnect policy" in err.message


def test_all_problems_are_reported_at_once() -> None:
    errs = problems(
        """
        nodes:
          src: {kind: counter, count: many}
          a: {kind: scale, in: src, factr: 2}
          b: {kind: colect, in: a}
          c: {kind: collect, in: nowhere}
        """
    )
    assert [(e.node, e.key) for e in errs] == [("src", "count"), ("a", "factr"), ("b", "kind"), ("c", "in")]


def test_override_of_an_unknown_node_is_an_error() -> None:
    err = only("nodes:\n  src: {kind: counter}\n  out: {kind: discard, in: src}\n", ("scr.count=3",))
    assert err.file == "--set" and "no node named 'scr'" in err.message and "did you mean 'src'" in err.message


def test_override_sets_nested_and_typed_values() -> None:
    g = build("nodes:\n  src: {kind: counter}\n  out: {kind: discard, in: src}\n", ("src.count=3", "src.rate=100"))
    assert g.nodes["src"].params.count == 3 and g.nodes["src"].params.rate == 100.0


def test_override_values_are_words_unless_written_inline() -> None:
    # `-` is jsonl's standard output, not a YAML list; `a: b` is a name, not a mapping; `#…` not a comment
    assert parse_override("out.path=-") == ("out", ["path"], "-")
    assert parse_override("relay.dj_name=DJ: Alice") == ("relay", ["dj_name"], "DJ: Alice")
    assert parse_override("viz.colour=#ff0000") == ("viz", ["colour"], "#ff0000")
    assert parse_override("a.b=[1, 2]") == ("a", ["b"], [1, 2])
    assert parse_override("mc.reconnect={initial: 2}") == ("mc", ["reconnect"], {"initial": 2})
    assert parse_override("src.device=null") == ("src", ["device"], None)
    g = build("nodes:\n  src: {kind: counter}\n  out: {kind: jsonl, in: src, path: o.jsonl}\n", ("out.path=-",))
    assert g.nodes["out"].params.path == "-"


def test_override_of_kind_drops_parameters_the_new_kind_lacks() -> None:
    g = build(
        "nodes:\n  src: {kind: counter, count: 3, rate: 10}\n  out: {kind: discard, in: src}\n",
        ("src.kind=ticker",),
    )
    assert g.nodes["src"].kind == "ticker" and g.nodes["src"].params.count == 3
    assert any("dropped parameters it does not have: rate" in n for n in g.notes)


def test_problems_in_overrides_point_at_the_command_line() -> None:
    err = only("nodes:\n  src: {kind: counter}\n  out: {kind: discard, in: src}\n", ("src.count=lots",))
    assert (err.file, err.line, err.node, err.key) == ("--set", None, "src", "count")
    assert str(err).startswith("--set: node 'src': key 'count': expected an integer")


def test_incompatible_port_types_name_both_frame_types() -> None:
    err = only(
        """
        nodes:
          src: {kind: synth}
          s: {kind: scale, in: src}
          out: {kind: discard, in: s}
        """
    )
    assert (err.line, err.node, err.key) == (4, "s", "in")
    assert "'src.out' produces AudioBlock frames but 's.in' accepts Tick" in err.message


def test_policies_from_yaml_reach_the_node() -> None:
    g = build(
        """
        nodes:
          src: {kind: synth}
          fft: {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          relay:
            kind: dj_relay
            in: beat
            vj_server_url: ws://127.0.0.1:9
            reconnect: {preset: lan, max: 12}
            heartbeat: wan
        """
    )
    policies = g.nodes["relay"].policies
    assert (policies["reconnect"].initial, policies["reconnect"].max, policies["reconnect"].jitter) == (2, 12, 0.1)
    assert policies["heartbeat"].interval == 5 and policies["heartbeat"].failure_threshold == 3


def test_bad_policy_fields_name_the_node_and_field() -> None:
    err = only(
        """
        nodes:
          src: {kind: synth}
          fft: {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          relay: {kind: dj_relay, in: beat, vj_server_url: "ws://127.0.0.1:9", reconnect: {initial: -1}}
        """
    )
    assert (err.node, err.key) == ("relay", "reconnect.initial") and "below the minimum" in err.message


def test_cross_field_errors_name_the_parameter() -> None:
    err = only(
        """
        nodes:
          src: {kind: synth}
          fft: {kind: fft, in: src}
          beat:
            kind: beat
            in: fft
            min_bpm: 150
            max_bpm: 100
        """
    )
    assert (err.node, err.key, err.line) == ("beat", "min_bpm", 8)


def test_policy_problems_point_at_their_line_or_the_command_line() -> None:
    text = """
        nodes:
          src: {kind: synth}
          fft: {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          relay:
            kind: dj_relay
            in: beat
            heartbeat: {interval: 0}
        """
    err = only(text)
    assert (err.file, err.line, err.key) == ("test.yaml", 9, "heartbeat.interval")
    err = only(text.replace("heartbeat: {interval: 0}", "fps: 30"), ("relay.heartbeat.interval=0",))
    assert (err.file, err.line, err.key) == ("--set", None, "heartbeat.interval")


def test_a_misspelt_policy_key_is_suggested() -> None:
    err = only(
        """
        nodes:
          src: {kind: synth}
          fft: {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          relay: {kind: dj_relay, in: beat, reconect: lan}
        """
    )
    assert err.key == "reconect" and "did you mean 'reconnect'" in err.message
