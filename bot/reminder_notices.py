"""Deadline reminders (message keys `reminder.*`), queued by the daily reminder scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {}
