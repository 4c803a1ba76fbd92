"""Concurrent update processing that keeps each chat's updates in order.

Updates from different users are handled concurrently, so one user's database round trip,
QR render or slow Bot API call never holds up everyone else. Updates from one chat (or, for
updates without a chat, one user) still run one at a time in the order Telegram sent them: a
journey's step must be read after the previous update of that chat wrote it.

An update waiting for its chat's turn holds one of the `MAX_CONCURRENT_UPDATES` slots
(python-telegram-bot takes the slot first); Telegram's own limits on how fast one person can
send keep such a queue short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import BaseUpdateProcessor


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0  # updates of this chat waiting or running


def order_key(update: object) -> int | None:
    """Which queue an update waits in: its chat, else its user, else none (runs freely)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """At most `max_concurrent_updates` at once; one chat's updates strictly in order."""

    __slots__ = ("_turns",)

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: dict[int, _Turn] = {}

    @property
    def waiting_chats(self) -> int:
        """Chats with an update waiting or running (drops to 0 when all are done)."""
        return len(self._turns)

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        """Wait for the chat's turn (holding one of the slots), then process the update."""
        key = order_key(update)
        if key is None:
            await coroutine
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.holders += 1
        try:
            async with turn.lock:
                await coroutine
        finally:
            turn.holders -= 1
            if turn.holders == 0:
                del self._turns[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
