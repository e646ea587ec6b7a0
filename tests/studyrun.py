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
