"""Test history: an embedded store of every attempt, flake rates learned from it, thresholds
chosen from those, and the stats.

Callers import the module they need (``record``, ``learn``, ``location``...): importing the
package imports none of them, since the CLI reaches ``commands`` through it on every start."""
