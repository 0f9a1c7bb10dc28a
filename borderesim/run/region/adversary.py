"""Route choice: uninformed shares, posted waits, and threats that choose where to cross.

Routes are numbered: crossings in the file's order, then the green border (if any).
Every function here is deterministic given the draws (``sampling``), so a traveller's
choice is reproducible and two engines see the same routes.
"""

from __future__ import annotations

import numpy as np

from .sampling import CrossingDraws, Travellers
from .schema import Region

TIE = 1e-12
"""Detection probabilities closer than this are a tie (the naive route is kept)."""


def travel_matrix(region: Region) -> np.ndarray:
    """Minutes from each origin (rows) to each crossing (columns); ``inf``: no road."""
    names = region.crossing_names
    return np.array([[o.travel.get(c, np.inf) for c in names]
                     for o in region.spec.origins.values()], dtype=float)


def uninformed_route(region: Region, people: Travellers) -> np.ndarray:
    """The crossing of each traveller who does not check posted waits (int64[N]).

    By the origin's ``shares`` (the traveller's ``u_route`` against the cumulative
    shares, in the order listed), or the nearest crossing when none are given (ties:
    the first listed); a surge's traveller: the crossing it has chosen.
    """
    names = region.crossing_names
    travel = travel_matrix(region)
    route = people.fixed.copy()
    for o, origin in enumerate(region.spec.origins.values()):
        mine = people.origin == o
        if origin.shares is None:
            route[mine] = int(np.argmin(travel[o]))
            continue
        keys = list(origin.shares)
        cum = np.cumsum([origin.shares[k] for k in keys])
        pick = np.minimum(np.searchsorted(cum / cum[-1], people.u_route[mine], "right"),
                          len(keys) - 1)
        route[mine] = np.array([names.index(k) for k in keys])[pick]
    return route


def informed_route(travel: np.ndarray, origin: np.ndarray, posted: np.ndarray,
                   uninformed: np.ndarray) -> np.ndarray:
    """Least travel time + posted wait (minutes) among reachable crossings.

    A traveller indifferent between crossings (equal within ``TIE`` minutes) keeps the
    crossing they would choose uninformed (``uninformed``) when it is among the best,
    else the first listed: equal posted waits split travellers as the shares do.
    """
    cost = travel[origin] + posted[None, :]
    best = np.argmin(cost, axis=1)
    rows = np.arange(len(origin))
    keep = cost[rows, uninformed] <= cost[rows, best] + TIE
    return np.where(keep, uninformed, best).astype(np.int64)


def threat_route(region: Region, people: Travellers, who: np.ndarray, naive: np.ndarray,
                 draws: list[CrossingDraws]) -> np.ndarray:
    """The route each traveller in ``who`` would take were they a threat (int64[len(who)]).

    ``naive``: their route as an ordinary traveller. Threats who do not know, and every
    threat under ``behaviour: naive``, keep it. Under ``displacement`` a knowing threat
    takes the route with the lowest detection probability for it (static: nobody waved
    through; the green border's at the hour it reaches it), keeping the naive route on
    a tie. Under ``probing`` a knowing threat keeps its naive crossing unless a dry run
    there refers it; then it takes the nearest crossing whose dry run does not, or the
    green border when every crossing refers it (no green border: the naive route). A
    dry run meets a quiet crossing: a queue-aware rule is probed at its threshold with
    nobody waiting (``CrossingDraws.learnable``: the posted wait does not tell how many
    wait at the referral stage, so no busier queue is better defined). ``who`` are
    travellers who choose (a surge's travellers keep their crossing).
    """
    adv = region.spec.adversary
    out = naive.copy()
    if adv.behaviour == "naive" or who.size == 0:
        return out
    knowing = people.knowing[who]
    travel = travel_matrix(region)[people.origin[who]]
    reach = np.isfinite(travel)
    rows = np.arange(who.size)
    green = region.spec.green_border
    n_c = len(draws)
    if adv.behaviour == "displacement":
        detect = np.where(reach, np.stack([d.detect[who] for d in draws], axis=1), np.inf)
        if green is not None:
            g = green.detect_at(people.depart[who] + green.travel)
            detect = np.column_stack([detect, g])
        best = np.argmin(detect, axis=1)
        keep = detect[rows, naive] <= detect[rows, best] + TIE
        choice = np.where(keep, naive, best)
    else:
        referred = np.stack([d.learnable[who] for d in draws], axis=1) | ~reach
        open_travel = np.where(referred, np.inf, travel)
        nearest = np.argmin(open_travel, axis=1)
        anywhere = np.isfinite(open_travel[rows, nearest])
        fallback = np.full(who.size, n_c) if green is not None else naive
        choice = np.where(~referred[rows, naive], naive, np.where(anywhere, nearest, fallback))
    return np.where(knowing, choice, out).astype(np.int64)
