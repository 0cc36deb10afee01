"""``make env``: write ``.env`` from ``.env.example`` with a random value for every empty password.

Refuses to overwrite an existing ``.env`` (its passwords are already in the volumes). Only the standard
library: it runs before any virtualenv exists.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

SECRETS = (
    "POSTGRES_PASSWORD", "FACETASKS_DB_PASSWORD", "RABBITMQ_PASSWORD", "RABBITMQ_ADMIN_PASSWORD", "MINIO_ROOT_PASSWORD",
)


def filled(example: str) -> str:
    """``example`` with each empty secret set to 32 random URL-safe characters."""
    for name in SECRETS:
        example = re.sub(rf"^{name}=$", f"{name}={secrets.token_urlsafe(24)}", example, flags=re.MULTILINE)
    return example


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    target = root / ".env"
    if target.exists():
        print(f"{target} exists; not overwritten (its passwords are already in use)", file=sys.stderr)
        return 1
    target.write_text(filled((root / ".env.example").read_text()))
    target.chmod(0o600)
    print(f"wrote {target} with random passwords for {', '.join(SECRETS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
