"""Regenerate `simulator/zendesk/sunco-v2.schema.json` from the official SunCo OpenAPI spec.

Usage: python scripts/sunco_schemas.py PATH/TO/sunco-openapi.yaml
The repository never reads the spec at run or test time; it reads the file this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from simulator.zendesk.openapi import bundle

OUT = Path(__file__).resolve().parents[1] / "simulator" / "zendesk" / "sunco-v2.schema.json"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = yaml.safe_load(Path(sys.argv[1]).read_text())
    OUT.write_text(json.dumps(bundle(spec), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(spec['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
