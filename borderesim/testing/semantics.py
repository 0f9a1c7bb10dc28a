"""The model's semantics: the one statement every engine implements.

This docstring is the single statement of what a run means. DEVELOPERS.md and the
engines' docstrings point here; ``borderesim.testing.cases`` pins each engine rule
(the ones tagged below with a name in brackets) with a hand-computed trace, and
``tests/test_conformance.py`` runs those cases on every engine.

**Time.** Minutes (float64) from 00:00 of day one; the run lasts ``warmup + duration``
(the *horizon*). Hourly profiles and rosters index ``hour % 24``.

**Arrivals.** Per clock hour a Poisson count with that hour's mean, placed uniformly in
the hour (exact for a piecewise-constant rate). Travellers are numbered in arrival order.

**Streams.** Every random quantity has its own stream,
``SeedSequence(seed, spawn_key=(replication, crc32(name)))``: ``arrivals``, ``classes``,
``threats``, ``service.<stage>.<lane>``, ``detect.<stage>``, and strategy streams
(``targeting.*``). Service times are drawn for every traveller in every lane, so changing
one knob never shifts another stream. Everything random is drawn before an engine runs
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

[ties] Simultaneous events are handled in a fixed order: roster changes first, then
service completions by traveller index, then arrivals by traveller index (SimPy
priorities ``1``, ``2 + i``, ``2 + n + i``). Everything an event causes (starts in freed
servers, the next stage's referral, flushing and lane choice) happens at once, before
the next event.

[horizon] Events at or after the horizon are not handled: a traveller arriving then has
no trace at all, a service that would end then has no end, and travellers still inside
are *unfinished* (``exit`` is NaN).

**KPIs.** KPIs count travellers who arrive at or after the warm-up. A percentile
(``wait_p95``) pools every replication's counted travellers (:mod:`borderesim.quantiles`);
other KPIs are averaged over replications with a 95 % t-interval. ``detection_rate``
is the low-variance estimator: the prevalence-weighted mean over counted *finished* travellers of
P(detected | threat), from the stages each traveller actually passed and the strategy's
``p_refer_if_threat``; ``detection_rate_observed`` is detected / threats (both among
counted finished travellers; travellers still inside at the horizon are reported as
``unfinished``, not as misses).

**Overload.** When a stage's offered load reaches 100 % in a replication, detection is
scored over *all* counted travellers by what happened before the horizon (referred
travellers stuck in a growing secondary queue count as unchecked); otherwise over
finished travellers, which avoids an end-of-run bias.
"""

from __future__ import annotations

ENGINE_RULES: tuple[str, ...] = (
    "stages", "referral", "flushing", "lanes", "rosters", "ties", "horizon",
)
"""The bracketed rule names above: what an engine decides, each pinned by conformance cases."""
