"""Figures drawn from results (matplotlib, no pyplot state)."""
