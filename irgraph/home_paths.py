"""A path that starts with ``~`` meaning a home directory, which Python does not expand: what
a refusal says of it, wherever a file or folder is named (a saved picture, a batch's store, a
Prefect result directory)."""

from __future__ import annotations

from typing import Any

__all__ = ["unexpanded_home"]


def unexpanded_home(path: Any) -> str | None:
    """What to say of ``path`` when it starts with ``~`` meaning a home directory
    (``~/runs``), which Python, unlike a shell, does not expand: the path names a folder
    ``~`` in the current directory instead; ``None`` for any other path, and when such a
    folder is there (made on purpose, or by an earlier run, whose files it holds).

    >>> print(unexpanded_home("~/runs/view.html"))  # doctest: +NORMALIZE_WHITESPACE
    '~/runs/view.html' starts with '~', which Python does not expand to a home directory
    (it names a folder '~' in the current directory); write
    os.path.expanduser('~/runs/view.html').
    >>> unexpanded_home("runs/view.html") is None
    True
    """
    import os

    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text.startswith("~") or os.path.expanduser(text) == text:
        return None
    first = text.replace(os.sep, "/").split("/")[0]
    if os.path.exists(first):
        return None
    return (
        f"{text!r} starts with {first!r}, which Python does not expand to a home directory "
        f"(it names a folder {first!r} in the current directory); write "
        f"os.path.expanduser({text!r})."
    )
