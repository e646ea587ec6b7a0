"""Helpers shared by the study tests: run a study's TINY preset and read its tidy table."""
import studies


def run_tiny(name, tmp_path, **overrides):
    """Run study `name` with its TINY preset into tmp_path; check it stored every point and
    drew its figures (PNG and SVG). Returns the RunResult."""
    res = studies.run(name, preset="tiny", overrides=overrides or None, out=tmp_path / name,
                      progress=False)
    assert not res.failed, res.summary()
    assert res.figure_error is None, res.figure_error
    assert res.figures and all(p.exists() and p.stat().st_size > 0 for p in res.figures)
    assert {p.suffix for p in res.figures} == {".png", ".svg"}
    return res


def value(table, metric, **where):
    """Mean of `metric` over the rows matching column == value for each of `where`."""
    rows = table[table["metric"] == metric]
    for key, val in where.items():
        rows = rows[rows[key] == val]
    assert len(rows), f"no {metric} where {where}"
    return float(rows["value"].mean())


def stored_records(res) -> dict:
    """{(point key, network): SpikeRecord} of every point of a run that kept a record."""
    from studies import ephys
    from studies.store import Store

    store = Store(res.out_dir)
    return {(key, net): rec for key in res.table["point"].unique()
            for net, rec in ephys.decode(store.rows(key)).items()}


def assert_ephys(res, name: str, populations) -> dict:
    """The run drew figures/<name>.png and .svg, and the records stored with its points include a
    network in which each of `populations` fired. Returns the stored records."""
    drawn = {p.name for p in res.figures}
    assert {f"{name}.png", f"{name}.svg"} <= drawn, drawn
    records = stored_records(res)
    assert records, "no point stored a spike record"
    for pop in populations:
        assert any(pop in rec.n_neurons and len(rec.times_s[pop]) for rec in records.values()), \
            (pop, {k: {p: len(r.times_s[p]) for p in r.populations} for k, r in records.items()})
    for rec in records.values():  # small: a few hundred neurons per population, at most 1 s
        assert rec.duration_s <= 1.0 + 1e-9
        assert all(n <= 200 for n in rec.n_neurons.values())
    return records
