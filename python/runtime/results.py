"""What a task's result looks like on the wire (n8n's shaping and serialisation)."""

import json

import frames
import rules

# str() for what JSON does not know, non-ASCII kept. NaN and the infinities are refused
# here: Python would write bare NaN, which n8n cannot parse.
_to_json = json.JSONEncoder(
    ensure_ascii=False, default=str, allow_nan=False, separators=(",", ":")
).encode

_RESULT_HEAD = b'{"type":"result","result":'

# What runner:taskdone adds around the result on its way to the broker
# ({"type":"runner:taskdone","taskId":"…","data":{"result":…}}), with room to spare: a result
# within max_payload minus this is never refused by runwire or the broker.
ENVELOPE = 256

MAX_PAYLOAD_DEFAULT = 1 << 30  # n8n's default N8N_RUNNERS_MAX_PAYLOAD


class NotJSON(Exception):
    """The result cannot be sent as JSON; carries the message and description to report."""

    def __init__(self, message, description):
        super().__init__(message)
        self.message = message
        self.description = description


def per_item_output(returned, index):
    """One per-item run's output item, or None when the item is filtered out."""
    if returned is None:
        return None
    is_dict = isinstance(returned, dict)
    if is_dict and "json" in returned:
        data = returned["json"]
    elif is_dict and "binary" in returned:
        data = {key: value for key, value in returned.items() if key != "binary"}
    else:
        data = returned
    item = {"json": data, "pairedItem": {"item": index}}
    if is_dict and "binary" in returned:
        item["binary"] = returned["binary"]
    return item


def result_frame(result, max_payload=MAX_PAYLOAD_DEFAULT):
    """The result frame's body, as parts to send in order. Raises NotJSON for NaN/Infinity or a
    result the broker would refuse (over N8N_RUNNERS_MAX_PAYLOAD, max_payload, once wrapped in
    runner:taskdone): the child says so at once, naming the setting, rather than sending it for
    runwire to refuse. Any other failure (circular reference, a failing __str__, text that is
    not valid Unicode) propagates as n8n lets it: as the task's error."""
    try:
        body = _to_json(result).encode("utf-8")
    except ValueError as error:
        if str(error).startswith("Out of range float values"):
            raise NotJSON(rules.MSG_NAN_RESULT, rules.DESC_NAN_RESULT) from None
        raise
    if len(body) + ENVELOPE > max_payload or len(_RESULT_HEAD) + len(body) + 1 > frames.MAX_FRAME:
        raise NotJSON(rules.MSG_RESULT_TOO_LARGE.format(size=len(body), limit=max_payload), "")
    return (_RESULT_HEAD, body, b"}")
