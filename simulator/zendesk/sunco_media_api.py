"""SunCo REST v2: attachments (upload, remove, served back), message-ref download and conversion events."""

from __future__ import annotations

import mimetypes
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.zendesk import spec
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import MAX_UPLOAD_BYTES, ok
from simulator.zendesk.ids import new_id
from simulator.zendesk.resource import SuncoResource

ACCESS = ("public", "private")
MEDIA_PATH = "/_sim/media"
CONVERSION_CHANNELS = ("messenger", "instagram", "whatsapp")


class SuncoMediaApi(SuncoResource):
    """UploadAttachment, DeleteAttachment, DownloadMessageRef, PostConversionEvents."""

    def routes(self) -> list[Route]:
        r = self.builder.route
        conv = "/conversations/{conversation_id}"
        return [
            r("/attachments", self.upload, "POST", "UploadAttachment"),
            r("/attachments/remove", self.remove, "POST", "DeleteAttachment"),
            r(conv + "/download", self.download, "POST", "DownloadMessageRef"),
            r(conv + "/conversionEvents", self.conversion_events, "POST", "PostConversionEvents"),
            Route(MEDIA_PATH + "/{attachment_id}/{name}", self.serve, methods=["GET"]),
        ]

    async def upload(self, request: Request, body: Any) -> Response:
        """multipart/form-data with the file in `source`; `access` (public|private) is required."""
        access = request.query_params.get("access")
        if access not in ACCESS:
            raise SuncoError(400, "access: must be public or private")
        conversation_id = request.query_params.get("conversationId")
        if request.query_params.get("for") == "message" and not conversation_id:
            raise SuncoError(400, "conversationId: required when for=message")
        if conversation_id is not None:
            self.conversations.conversation(conversation_id)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise SuncoError(400, "source: the file must be sent as multipart/form-data")
        async with request.form(max_part_size=MAX_UPLOAD_BYTES) as form:
            source = form.get("source")
            if not isinstance(source, UploadFile):
                raise SuncoError(400, "source: a file is required")
            data = await source.read()
            name = (source.filename or "file").replace("/", "_")
            content_type = source.content_type
        if not data:
            raise SuncoError(400, "source: the file is empty")
        media_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        attachment_id = new_id()
        media_url = f"{str(request.base_url).rstrip('/')}{MEDIA_PATH}/{attachment_id}/{name}"
        self.state.attachment_files[attachment_id] = data
        attachment = {"mediaUrl": media_url, "mediaType": media_type}
        self.state.attachments[media_url] = {**attachment, "id": attachment_id, "access": access}
        return ok({"attachment": attachment}, 201)

    async def remove(self, request: Request, body: Any) -> Response:
        found = self.state.attachments.pop(body["mediaUrl"], None)
        if found is None:
            raise not_found("Attachment")
        self.state.attachment_files.pop(found["id"], None)
        return ok({})

    async def serve(self, request: Request) -> Response:
        """The uploaded bytes at their mediaUrl (so a message's image or file can be fetched)."""
        attachment_id = request.path_params["attachment_id"]
        data = self.state.attachment_files.get(attachment_id)
        found = next((a for a in self.state.attachments.values() if a["id"] == attachment_id), None)
        if data is None or found is None:
            return JSONResponse({"errors": [{"code": "not_found", "title": "Attachment not found"}]}, 404)
        return Response(data, media_type=found["mediaType"])

    async def download(self, request: Request, body: Any) -> Response:
        """Apple Messages for Business interactive data refs only; the emulator has no Apple channel, so
        after SunCo's checks it answers an empty interactive-data object."""
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        user = self.conversations.user(body["userId"])
        if user.id not in self.state.participants.get(conversation.id, []):
            raise SuncoError(400, "userId: the user is not a participant of this conversation")
        if "apple" not in body:
            raise SuncoError(400, "apple: only Apple Messages for Business message refs can be downloaded")
        return ok({"interactiveData": {}, "interactiveDataRef": body["apple"]["interactiveDataRef"]})

    async def conversion_events(self, request: Request, body: Any) -> Response:
        """Meta conversion events (one channel per call): counted and acknowledged, sent nowhere."""
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        channels = [c for c in CONVERSION_CHANNELS if c in body]
        if len(channels) != 1:
            raise SuncoError(400, "body: exactly one of messenger, instagram or whatsapp is required")
        spec.check("metaConversionEvent", body[channels[0]], prefix=channels[0])
        data = body[channels[0]]["payload"]["data"]
        if not data:
            raise SuncoError(400, f"{channels[0]}.payload.data: at least one event is required")
        return ok({"conversionEvents": {"datasetId": f"dataset-{conversation.id}", "eventsReceived": len(data)}})
