"""Files people attach (issue #21, item 3): one store on disk for records and threads alike.

`blobs` keeps the bytes, encrypted and content-addressed; `checks` decides by the content what
may be stored; `images` makes the previews; `records` is a record's own files. Where the files
live and how large one may be are settings (CARELOOP_FILES_DIR, CARELOOP_FILES_MAX_BYTES),
handed over by whoever starts the process with `blobs.configure()`: the engine reads no
environment (docs/files.md).
"""
