"""The end user's pane: conversation tabs, the chat as the widget shows it, the message box."""
