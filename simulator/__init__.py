"""A local simulator and test harness for handing a bot conversation over to a Zendesk agent."""

__version__ = "0.1.0"
