"""What a crossing is: scenario schema, units, distributions, targeting strategies."""
