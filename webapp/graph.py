"""Coordinates for the seller-cluster graph, drawn as inline SVG by the template (no script needed).

Listings sit on an inner ring; each identifier sits on an outer ring at the mean angle of the
listings that share it, so identifiers tying many listings together land between them.
"""

import math
from typing import Any

MAX_LISTINGS = 60
MAX_IDENTIFIERS = 80
SIZE = 640


def layout(graph: dict[str, Any]) -> dict[str, Any]:
    """{'size', 'nodes': [...], 'edges': [...]} with integer coordinates in a SIZE x SIZE box."""
    listings = sorted(graph.get("listings") or {})[:MAX_LISTINGS]
    shown = set(listings)
    edges = [e for e in graph.get("edges") or [] if e.get("listing") in shown]
    centre, inner, outer = SIZE / 2, SIZE * 0.22, SIZE * 0.42
    pos: dict[str, tuple[float, float]] = {}
    angle: dict[str, float] = {}
    nodes = []
    for i, lid in enumerate(listings):
        a = 2 * math.pi * i / max(len(listings), 1)
        angle[lid] = a
        pos[f"L:{lid}"] = (centre + inner * math.cos(a), centre + inner * math.sin(a))
        nodes.append({"key": f"L:{lid}", "kind": "listing", "label": graph["listings"][lid] or lid, "id": lid})
    members: dict[tuple[str, str], list[str]] = {}
    for e in edges:
        if e["kind"] != "text":
            members.setdefault((e["kind"], e["value"]), []).append(e["listing"])
    idents = list(members)[:MAX_IDENTIFIERS]
    wanted = {}
    for ident in idents:
        xs = sum(math.cos(angle[m]) for m in members[ident])
        ys = sum(math.sin(angle[m]) for m in members[ident])
        wanted[ident] = math.atan2(ys, xs) % (2 * math.pi)
    # Evenly spaced on the outer ring, in the order of the angle each would like: no two overlap.
    offset = min(wanted.values(), default=0.0)
    for n, (kind, value) in enumerate(sorted(idents, key=lambda k: (wanted[k] - offset) % (2 * math.pi))):
        a = offset + 2 * math.pi * n / len(idents)
        key = f"I:{kind}:{value}"
        pos[key] = (centre + outer * math.cos(a), centre + outer * math.sin(a))
        nodes.append({"key": key, "kind": kind, "label": f"{kind}: {value}", "id": None})
    lines = []
    for e in edges:
        a_key = f"L:{e['listing']}"
        b_key = f"L:{e['value']}" if e["kind"] == "text" else f"I:{e['kind']}:{e['value']}"
        if a_key in pos and b_key in pos:
            (x1, y1), (x2, y2) = pos[a_key], pos[b_key]
            lines.append({"x1": round(x1), "y1": round(y1), "x2": round(x2), "y2": round(y2), "kind": e["kind"]})
    for node in nodes:
        node["x"], node["y"] = (round(c) for c in pos[node["key"]])
    return {
        "size": SIZE,
        "nodes": nodes,
        "edges": lines,
        "truncated": bool(graph.get("truncated")) or len(graph.get("listings") or {}) > MAX_LISTINGS,
    }
