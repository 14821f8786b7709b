"""Where the data files of bpviz (presets, data sets, icons, style sheets) live."""

from __future__ import annotations

from pathlib import Path


def resources_dir() -> Path:
    """Return the folder that holds bpviz's resources.

    An installed wheel carries them inside the package (``bpviz/resources``,
    force-included by ``pyproject.toml``); a source checkout keeps them in the
    repository's top-level ``resources/`` folder.

    Returns
    -------
    Path
        ``<package>/resources`` if it exists, else ``<repo>/resources``.
    """
    installed = Path(__file__).resolve().parent / "resources"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / "resources"
