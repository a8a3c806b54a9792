"""The app's widgets, one package per pane."""
