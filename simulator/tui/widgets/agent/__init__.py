"""The Zendesk agent's pane: the ticket list, the selected ticket's transcript, the reply box."""
