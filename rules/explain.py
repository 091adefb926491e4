"""A compiled rule in readable terms: what pandas selects, what the engine correlates, on which
key, and how far back the evaluation looks. Used by `integrity-audit rules explain`."""
from __future__ import annotations

import json

from rules.compiler import CompiledRule

_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _value(v) -> str:
    if isinstance(v, dict):
        if "param" in v:
            return f"param {v['param']}" + (f" x {_value(v['times'])}" if "times" in v else "")
        if "period" in v:
            text = f"period {v['period']}"
        else:
            text = f"field {v['field']}" + (f" x {_value(v['times'])}" if "times" in v else "")
        if "offset_days" in v:
            text += f" + {_value(v['offset_days'])} days"
        return text
    return json.dumps(v)


def _cond(c: dict) -> str:
    if c["op"] == "keywords":
        return f"any of {', '.join(c['fields'])} contains any of {json.dumps(c['value'])}"
    return f"{c['field']} {_OPS.get(c['op'], c['op'])} {_value(c['value'])}"


def _cmp(c: dict) -> str:
    off = ""
    if c["offset"] is not None:
        off = f" {'+' if c['sign'] > 0 else '-'} {_value(c['offset'])} days"
    open_end = f"  (a blank {'.'.join(c['right'])} is open: later than any date)" if c.get("blank") == "open" else ""
    return f"{'.'.join(c['left'])} {_OPS[c['op']]} {'.'.join(c['right'])}{off}{open_end}"


def explain(c: CompiledRule) -> str:
    lines = [f"{c.name}  ({c.level}, {c.status})  version {c.version[:16]}", f"  {c.title}", "",
             "Selected in pandas (blank compared fields are counted as not evaluable, except a "
             "`blank: open` operand):"]
    for i in c.inputs:
        lines.append(f"  {i.alias}: register {i.register} ({i.register_kind})")
        lines += [f"    where {_cond(x)}" for x in i.where] or ["    all rows"]
        for n, group in enumerate(i.where_any):
            lines.append(f"    {'and any of' if n == 0 else 'or'}: " + " and ".join(_cond(x) for x in group))
        lines.append(f"    projected fields: {', '.join(i.fields)}")
    lines.append("")
    if c.kind == "peers":
        a = c.aggregate
        lines.append("Match: peers (inputs joined by the engine; the statistics in pandas, the same for both)")
        for key, per in c.keys:
            lines.append(f"  key {key}: " + " = ".join(f"{al}.{f}" for al, f in per))
        measure = a["measure"]
        what = "rows" if measure["function"] == "count" else f"distinct {measure['field']}"
        lines.append(f"  each {a['group_by'][0]}: {what} in the period, against the others with the same "
                     f"{', '.join(a['peers_by'])}")
        lines.append(f"  flagged when above their mean + {_value(a['zscore'])} x max(sd, 1), at least "
                     f"{_value(a['min_value'])}, with at least {_value(a['min_peers'])} others")
    elif c.kind in ("single", "aggregate"):
        lines.append(f"Match: {c.kind} (pandas, the same for both engines)")
        if c.aggregate:
            a = c.aggregate
            lines.append(f"  group by {', '.join(a['group_by'])}; window {_value(a['within_days'])} days ending on each "
                         f"row's {a['date']}")
            for h in a["having"]:
                lines.append(f"  having {h['function']}({h['field'] or ''}) {_OPS[h['op']]} {_value(h['value'])}")
    else:
        lines.append(f"Match: {c.kind} (correlated by the engine, partitioned by the key)")
        for key, per in c.keys:
            lines.append(f"  key {key}: " + " = ".join(f"{a}.{f}" for a, f in per))
        if c.absent:
            lines.append(f"  finding: a {' + '.join(c.present)} row with no {' or '.join(' + '.join(g) for g in c.missing)} row satisfying:")
        for x in c.compares:
            lines.append(f"  compare {_cmp(x)}")
    lines.append("")
    lookbacks = [_value(x) for x in c.lookback]
    if not lookbacks:
        lines.append("Look-back: none (only rows dated in the period are read)")
    elif len(lookbacks) == 1:
        lines.append(f"Look-back: {lookbacks[0]} days before the period start")
    else:
        lines.append(f"Look-back: the largest of {', '.join(lookbacks)} days before the period start")
    lines.append(f"Params: " + (", ".join(f"{n} ({t}) = {d!r}" for n, t, d in c.params) or "none"))
    lines.append(f"Alert: {c.alert['title']}  (dedup: {', '.join('.'.join(x) for x in c.alert['dedup'])})")
    return "\n".join(lines)
