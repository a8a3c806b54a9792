import gc

# Start-up makes ~100,000 objects that live as long as the process (modules, classes, schemas);
# collecting while they are made cost about a sixth of start-up for nothing. `main` turns the
# collector back on once start-up is over.
gc.disable()

from simulator.cli import main  # noqa: E402

raise SystemExit(main())
