"""Previews of pictures: a small WebP re-encoded by Pillow from the decoded pixels.

Re-encoding means the page shows pixels Pillow drew, never the uploaded bytes, so whatever a
crafted file hides after its image data never reaches the browser through a preview. A
picture that Pillow cannot decode is refused though its magic number said image: it is
broken or not what it claims. A picture of more than MAX_PIXELS is refused before it is
decoded (a "decompression bomb" of a few KB would otherwise fill the memory).
"""

from __future__ import annotations

import io
import warnings

from engine.errors import InvalidInput

# What Pillow decodes of the allowed types (HEIC needs a plugin: such files have no preview).
PREVIEWED = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)
PREVIEW_TYPE = "image/webp"
PREVIEW_BOX = (320, 320)
MAX_PIXELS = 50_000_000


def preview(data: bytes) -> bytes:
    """A WebP of the picture at most PREVIEW_BOX, upright; InvalidInput if it does not decode."""
    # Pillow only once a picture arrives: every process that merely imports the services (the
    # scheduler before its first sweep, the CLI) no longer pays for it (issue #24 item 2).
    from PIL import Image

    unreadable = (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _preview(data)
        except InvalidInput:
            raise
        except unreadable:
            raise InvalidInput(
                "the picture cannot be read", fields={"file": "unreadable picture"}
            ) from None


def _preview(data: bytes) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise InvalidInput(
                f"the picture has more than {MAX_PIXELS} pixels",
                fields={"file": "picture too large"},
            )
        image.draft("RGB", PREVIEW_BOX)  # JPEG decodes at a fraction of its size
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail(PREVIEW_BOX)
        mode = "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
        out = io.BytesIO()
        upright.convert(mode).save(out, "WEBP", quality=80)
        return out.getvalue()
