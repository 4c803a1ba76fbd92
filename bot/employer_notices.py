"""Notices to employers' chats about their workers (message keys `employer.*`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {}
