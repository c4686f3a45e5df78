"""The compared models are timed in pairs: only the two models of a pair alternate (no third
model runs between their calls to evict their weights), and a step's models pair up as the
report compares them."""

from __future__ import annotations

from archopt.compress.measure import latency_groups, paired_latency


def test_only_the_models_of_one_pair_alternate():
    calls: list[str] = []
    fns = {k: (lambda k=k: calls.append(k)) for k in "abcd"}
    out = paired_latency([{"a": fns["a"], "b": fns["b"]}, {"c": fns["c"], "d": fns["d"]}],
                         repeats=4, warmup=1)
    assert set(out) == set("abcd") and all(v["median"] >= 0 for v in out.values())
    first_c = calls.index("c")
    assert set(calls[:first_c]) == {"a", "b"}  # the first pair is done before the second starts
    assert set(calls[first_c:]) == {"c", "d"}
    assert calls[:4] == ["a", "b", "a", "b"]  # interleaved within the pair


def test_a_name_in_two_pairs_keeps_its_first_figures(monkeypatch):
    from archopt.compress import measure

    seen = iter([1.0, 2.0])  # the first group's figures, then the second's

    def fake(group, repeats, warmup, clock):
        v = next(seen)
        return {k: {"median": v, "q1": v, "q3": v} for k in group}

    monkeypatch.setattr(measure, "interleaved_latency", fake)
    out = paired_latency([{"a": None, "b": None}, {"b": None, "c": None}])
    assert {k: v["median"] for k, v in out.items()} == {"a": 1.0, "b": 1.0, "c": 2.0}


def test_step_models_pair_as_the_report_compares_them():
    prune = ["before", "after", "onnxruntime_fp32_before", "onnxruntime_fp32_after"]
    assert latency_groups(prune) == [["before", "after"],
                                     ["onnxruntime_fp32_before", "onnxruntime_fp32_after"]]
    assert latency_groups(["before", "after", "onnxruntime_fp32"]) == [
        ["before", "after"], ["after", "onnxruntime_fp32"]]  # int8 vs the float model in ORT
