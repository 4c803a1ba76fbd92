"""Telegram-facing handlers, one module per user journey."""
