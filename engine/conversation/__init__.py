"""The conversation of a record: messages in and out, internal notes and their attachments,
and inbound email read into them."""
