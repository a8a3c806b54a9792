"""The demo agent, for `python -m simulator serve --agent agents/demo.py`.

Its one definition lives in `simulator/widget/demo_agent.py`, so the installed simulator runs
it by default; copy that file next to this one to start your own agent.
"""

from simulator.widget.demo_agent import agent

__all__ = ["agent"]
