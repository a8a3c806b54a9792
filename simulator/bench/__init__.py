"""`python -m simulator bench` and `python -m simulator load`: how fast the relay is, measured
against a bare hop chain built from the same libraries, in the same run.

Modules: `stats` (percentiles), `serving` (an ASGI app on a loopback socket), `baseline` (the bare
chain), `load` (the load generator both commands use), `measure` (start-up, replay, memory),
`report` (the JSON model and the table), `plot` (the SVG), `run` (the commands).
Kept light: importing this package imports none of them.
"""
