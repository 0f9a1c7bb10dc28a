"""Running a scenario: plan, sampled inputs, engines, traces, simulate, sweeps."""
