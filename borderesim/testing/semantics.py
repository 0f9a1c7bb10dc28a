"""The model's semantics: the one statement every engine implements.

This docstring is the single statement of what a run means. DEVELOPERS.md and the
engines' docstrings point here; ``borderesim.testing.cases`` pins each engine rule
(the ones tagged below with a name in brackets) with a hand-computed trace, and
``tests/test_conformance.py`` runs those cases on every engine.

**Time.** Minutes (float64) from 00:00 of day one. The *counted window* is
``[warmup, warmup + duration)``; its end is the *horizon*. The run may go on past it
for at most the drain cap (``drain_cap``, default ``min(duration, 24 h)``), to the
*run end* ``Plan.run_end = horizon + drain``. Hourly profiles and rosters index
``hour % 24``.

**Arrivals.** Per clock hour a Poisson count with that hour's mean, placed uniformly in
the hour (exact for a piecewise-constant rate), up to the run end: the counted window's
hours first, then the drain's, hour by hour (so the window's travellers do not depend on
the cap, and ``drain.replay`` may draw the drain only as far as the run needs).
Travellers are numbered in arrival order.

**Streams** (since 0.2.0; ``run/sampling.py`` states them in full). Every draw is
counter-based: Philox4x64-10 (NumPy's ``Philox``, bit for bit) keyed once per
replication by ``SeedSequence(seed, spawn_key=(replication,))``, the counter holding
``(index, stream, attempt, group)``; ``stream`` hashes the name (``arrivals.count``,
``travellers`` (arrival time, class, threat), ``service.<stage>`` (one word a traveller
shared by the stage's lanes since 0.3.0; ``service.<stage>.gamma`` for gamma lanes),
``detect.<stage>``), ``group`` is 0 for the profile and one per surge occurrence. A draw
depends on its counter alone, so only what can be used is drawn: a service time in the
lanes admitting the traveller's class, at a ``visits: referred`` stage only for the
referred (for everyone under a queue-aware rule); detection for threats only; the other
service times are NaN. Changing one knob never shifts another draw: a traveller
referred under two referral rates has one secondary service time. Strategies draw from
NumPy streams ``SeedSequence(seed, spawn_key=(replication, crc32(name)))``
(``targeting.*``). Everything random is drawn before an engine runs
(``sampling.Inputs``); an engine is a deterministic function ``run(plan, inputs) -> Trace``.

[stages] Stages are visited in order. A ``visits: referred`` stage is visited only by
referred travellers; the others pass it at the same instant (lane code ``NOT_VISITED``,
no entry time). A traveller leaves the crossing (``exit``) when the last stage they
visit ends, or at once if they are waved through it.

[referral] The referral is settled once, when the traveller first reaches a
``visits: referred`` stage: the strategy's static choice OR its queue-aware rule
``score >= threshold + per_waiting * waiting``, ``waiting`` being the number then waiting
(queued, not in service) at that stage, all lanes. The threshold used is recorded in
``Trace.threshold`` (NaN for travellers who never reach such a stage or when there is no
rule). Later referred stages reuse the decision. A user's ``PythonRule`` is
``decide(traveller, waiting)`` at the same moment (SimPy engine only).

[flushing] With ``flush_above: k``, a traveller reaching the stage when more than ``k``
are waiting there (all lanes) is waved through: entry recorded, lane code ``FLUSHED``
(-2), no wait, no service, no detection; they move on to the next stage at once.

[lanes] Lane choice: among the stage's lanes admitting the traveller's class, the lowest
``(closed, waiting - idle, order listed)``, where ``idle = max(0, servers on duty -
busy)`` and a lane is closed when its roster has zero servers on duty. A closed lane is
still chosen when no open lane admits the class; the traveller waits there until it opens.

[rosters] Lanes are FIFO. Rosters change at hour boundaries (``hour * 60`` minutes); a
server going off duty finishes the traveller in hand (no pre-emption), and nobody new
starts in a lane until its busy count is below its servers on duty.

**Surges** (sampling, not an engine rule). A ``surge`` event adds ``travellers``
arrivals at ``at + over * U`` (``U`` uniform, sorted; all at ``at`` when ``over`` is 0),
on top of the profile, with class
``class`` (or drawn by the shares) and threat, service and detection drawn in counter
group ``(k + 1) * 2**32 + day`` (``k``: the event's place in ``events``), targeting from
the streams ``surge.<k>.<day>.<name>``.
The profile's travellers are drawn exactly as without the surge; all travellers are
then numbered by arrival time, stably: at equal times profile travellers first, then
surges in list order. Event clock times are ``"HH:MM"`` of day ``day`` (default 1);
``every: day`` repeats the event on each later day of the run, the drain included (a
window is cut at the run end; a surge in the drain brings uncounted travellers).

[outages] An ``outage`` of a lane (every lane of the stage when ``lane`` is omitted)
puts no server on duty from ``from`` to ``to``: capacity changes at both edges, like a
roster change. Without ``preempt`` it follows roster semantics (the travellers in hand
are finished). With ``preempt: true`` the travellers in service when it starts go back
to the head of that lane's queue, earliest service start first (ties by traveller
index), their start time cleared; when served again they start their service over
with their full (sampled) service time (pre-emptive repeat: an interrupted check is
done again). The outage's lane ranks as closed in lane choice, and nobody starts there.

[slowdowns] A ``slowdown`` multiplies the service time of a traveller *starting*
service in the lane(s) at ``t`` with ``from <= t < to`` by ``factor`` (several windows
holding ``t``: multiplied in list order). A service under way is not changed; a
pre-empted traveller restarting in the window is slowed.

[reserve] A stage's ``reserve: {officers, open_above, close_below, call_in}``. *Call*:
when a traveller joins a queue of the stage (waits rather than starts) and then more
than ``open_above`` wait at the stage (all lanes), no officer is already on the way and
fewer than ``officers`` reserve officers are serving there, one officer is called and
arrives ``call_in`` minutes later. *Arrive*: the officer opens a booth in the stage's
lane with the most travellers waiting, not in an outage (first listed on ties), if the
stage's rostered servers (an outage frees no booth) plus its reserve officers, all
lanes, are fewer than ``booths`` (no limit without ``booths``); that lane gets one
more server and starts its next in line at once, and the call rule is checked
again. No such lane or booth: the officer goes home (no hours counted) and only the
next traveller joining a queue of the stage can call again (so ``call_in: 0`` never
loops).
*Leave*: when a service ends in a lane holding a reserve officer and fewer than
``close_below`` then wait at the stage (the finished traveller no longer counted), one
reserve officer there leaves (before the freed server takes the next traveller). An
outage closes the lane for its reserve officers too; they stay assigned. Reserve
officer-minutes, from arrival to leaving (or the end of the run, drain included), are
counted per stage (``Trace.reserve_minutes``); the minutes they serve (assigned to a
lane not in an outage) within each clock-hour piece of the counted window are counted
per lane (``Trace.reserve_duty``: the reserve's part of the servers on duty in the KPIs).
A reserve officer arriving is an event like any other for [drain].

[ties] Simultaneous events are handled in a fixed order: capacity changes (roster hours
and outage edges) first, then reserve officers arriving (by stage), then service
completions by traveller index, then arrivals by traveller index (SimPy priorities
``1``, ``1 + (s + 1) / (S + 1)``, ``2 + i``, ``2 + n + i``). Everything an event causes
(pre-emptions, starts in freed servers, the next stage's referral, flushing, lane
choice, calling or releasing a reserve officer) happens at once, before the next event.

[horizon] Events at or after the run end are not handled: a traveller arriving then
has no trace at all, a service that would end then has no end, and travellers still
inside are *unfinished* (``exit`` is NaN). With no drain the run end is the horizon.

[drain] Past the horizon the run goes on as scheduled (arrivals, roster changes) only
while a *counted* traveller (one who arrived in the counted window) is inside: a
roster change, completion or arrival at a time at or after the horizon is not
handled, and the run ends there, if no counted traveller is inside when it comes up.
Everything the last handled event caused has happened (a traveller it started in a
freed server has a start). Warm-up and post-window travellers never hold the run open.

**KPIs.** KPIs count travellers who arrive in the counted window. Waits, times in the
crossing and detection are per counted traveller, followed to their exit in the drain;
throughput, queue length and utilisation are time averages over the counted window.
A percentile (``wait_p95``) pools every replication's counted travellers
(:mod:`borderesim.analysis.quantiles`); other KPIs are averaged over replications with a 95 %
t-interval.
``detection_rate`` is the low-variance estimator: the prevalence-weighted mean over
counted travellers of P(detected | threat), from the stages each traveller actually
passed and the strategy's ``p_refer_if_threat``; ``detection_rate_observed`` is
detected / threats among counted travellers.

**Censoring.** Only when the drain cap ends the run are counted travellers still inside
(``unfinished``): a wait not yet ended counts as its lower bound ``run_end - entry``
(``{stage}.censored`` counts them; ``borderesim.analysis.outcomes.Outcome.wait`` is the one
definition, used by ``run`` and the hourly KPIs alike), and detection scores them by
what happened before the run ended (a referred traveller stuck in a growing secondary
queue counts as unchecked). ``run`` then warns that these waits are lower bounds.
"""

from __future__ import annotations

ENGINE_RULES: tuple[str, ...] = (
    "stages", "referral", "flushing", "lanes", "rosters", "ties", "horizon", "drain",
    "outages", "slowdowns", "reserve",
)
"""The bracketed rule names above: what an engine decides, each pinned by conformance cases."""
