"""Names of archive members: what a member is called as an image, and whether it is a hidden file.

``tar czf - -C photos .`` names every member ``./x.jpg`` and some tools write ``/x.jpg``: neither the
leading ``./`` nor the ``/`` makes a file hidden, and neither belongs in the image's name. A member is
hidden when one of its own path segments starts with a dot (``.DS_Store``, ``.git/…``) or is macOS's
``__MACOSX`` folder of resource forks.
"""

from __future__ import annotations


def image_name(member: str) -> str:
    """The member's path without empty and ``.`` segments: ``./a//b.jpg`` and ``/a/b.jpg`` are ``a/b.jpg``."""
    return "/".join(part for part in member.split("/") if part not in ("", "."))


def hidden(member: str) -> bool:
    """True for a member one of whose own path segments is hidden (``..`` included)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in image_name(member).split("/"))
