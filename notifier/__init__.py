"""Receives Alertmanager webhooks and keeps one Slack message per alert group up to date.

Owns: the webhook endpoint and its durable SQLite outbox, the delivery loop (Slack or, without a
bot token, the terminal), Block Kit rendering, the ack/silence buttons and the `bongsu notifier`
command. Contracts with other parts are in docs/contracts.md.
"""

from notifier.app import create_app
from notifier.payload import Notification, PayloadError, parse_notification
from notifier.render import GroupView, group_message
from notifier.settings import Settings
from notifier.signature import sign
from notifier.store import Store, StoreError, open_store

__all__ = ["Notification", "PayloadError", "parse_notification", "GroupView", "group_message", "Settings",
           "create_app", "sign", "Store", "StoreError", "open_store"]
