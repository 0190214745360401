"""WebSocket `/ws/board/<election_id>/`: check-ins (`check_in`), table reports (`table_report`),
incidents (`incident`), result sheets (`count`) and other changes of slots (`changed`), filtered to
the user's scope: one JSON text frame per event, in the order the server process that sent them
committed them.

The events of a busy server process reach the consumer gathered (`live.batch`, see
`backend.core.live`); each still leaves as its own frame, so a client cannot tell a gathered event
from a lone one.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.core.live import board_group, user_group
from backend.core.sockets import DirectDispatchMixin, HandshakeSafeMixin
from backend.permissions import permissions_forget, role_of, scope_areas

FORBIDDEN = 4403


def _board_paths(user, election_id: int) -> list[str] | bool | None:
    """None for a lead (everything), the scope paths of a coordinator, False when refused."""
    permissions_forget(user)
    role = role_of(user)
    if role == Role.LEAD:
        return None
    if role == Role.COORDINATOR:
        paths = [path for e, path in scope_areas(user) if e == election_id]
        return paths or False
    return False


class BoardConsumer(DirectDispatchMixin, HandshakeSafeMixin, AsyncJsonWebsocketConsumer):
    groups_joined: list[str] = []

    async def connect(self):
        self.election_id = int(self.scope["url_route"]["kwargs"]["election_id"])
        user = self.scope.get("user")
        paths = await database_sync_to_async(_board_paths)(user, self.election_id)
        if paths is False:
            await self.close(code=FORBIDDEN)
            return
        self.paths = paths
        # The user's own group hears when their coordinator scopes change (`membership.changed`).
        self.groups_joined = [board_group(self.election_id), user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        # The board only listens: any frame, well formed or not, gets the same answer (never a parse).
        await self.send_json({"type": "error", "code": "read_only", "message": str(_("Este tablero solo recibe."))})

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def membership_changed(self, event):
        """A scope was added, changed or removed: follow the new one, or close when none is left."""
        paths = await database_sync_to_async(_board_paths)(self.scope.get("user"), self.election_id)
        if paths is False:
            await self.close(code=FORBIDDEN)
            return
        self.paths = paths

    async def live_batch(self, event):
        """Board events gathered by one server process: each handled as if it came alone, in order."""
        for one in event["events"]:
            await self.dispatch(one)

    async def check_in_created(self, event):
        if self.paths is not None and not any(event["path"].startswith(p) for p in self.paths):
            return
        await self.send_json({**{k: v for k, v in event.items() if k != "type"}, "type": "check_in"})

    async def table_report_created(self, event):
        if self.paths is not None and not any(event["path"].startswith(p) for p in self.paths):
            return
        await self.send_json({**{k: v for k, v in event.items() if k != "type"}, "type": "table_report"})

    async def incident_changed(self, event):
        if self.paths is not None and not any(event["path"].startswith(p) for p in self.paths):
            return
        await self.send_json({**{k: v for k, v in event.items() if k != "type"}, "type": "incident"})

    async def count_changed(self, event):
        """A result sheet arrived: the quick-count page re-reads its numbers (no figures travel here)."""
        if self.paths is not None and not any(event["path"].startswith(p) for p in self.paths):
            return
        await self.send_json(
            {"type": "count", "table": event["table"], "category_id": event["category_id"], "status": event["status"]}
        )

    async def board_changed(self, event):
        if self.paths is not None and event["path"] and not any(event["path"].startswith(p) for p in self.paths):
            return
        await self.send_json({"type": "changed"})
