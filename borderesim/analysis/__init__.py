"""What a run means: outcomes, KPIs and their catalogue, theory, comparisons, capacity
and workforce plans."""
