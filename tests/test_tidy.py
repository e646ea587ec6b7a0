"""Tidy results: swept quantities a point reports (time, layer, system) are columns of
results.csv, never parsed back out of metric names (pandas' tidy-data convention)."""
import pytest

from studies import store, worker


def test_rows_become_columns(tmp_path):
    metrics = worker._metrics({"accuracy": 0.9,
                               "accuracy_over_time": [{"time_ms": 2, "value": 0.5}, {"time_ms": 8, "value": 0.8}],
                               "similarity": [{"layer": "h1", "measure": "cka", "value": 0.99}]})
    st = store.Store(tmp_path)
    rec = {"study": "x", "key": "k1", "values": {"seed": 0}, "metrics": metrics, "elapsed_s": 1.0,
           "worker": "main", "versions": {}}
    st.save("k1", rec)
    table = st.table(["k1"], [])
    over = table[table["metric"] == "accuracy_over_time"]
    assert list(over["time_ms"]) == [2.0, 8.0] and list(over["value"]) == [0.5, 0.8]
    sim = table[table["metric"] == "similarity"].iloc[0]
    assert sim["layer"] == "h1" and sim["measure"] == "cka" and sim["value"] == pytest.approx(0.99)
    assr = table[table["metric"] == "accuracy"].iloc[0]
    assert assr["value"] == 0.9 and assr.isna()["time_ms"]
    assert not any("@" in m for m in table["metric"])


@pytest.mark.parametrize("bad, message", [
    ({"a": [{"time_ms": 1}]}, "each row must be a dict with a 'value'"),
    ({"a": [{"seed": 1, "value": 2}]}, "may not set the column"),
    ({"a": [{"layer": [1], "value": 2}]}, "holds list"),
    ({"a": "high"}, "holds str"),
])
def test_bad_rows_are_explained(bad, message):
    with pytest.raises(TypeError, match=message):
        worker._metrics(bad)
