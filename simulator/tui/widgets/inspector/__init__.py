"""The inspector: every boundary crossing, in order, and the JSON of the selected one."""
