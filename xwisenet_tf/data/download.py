"""Resumable HTTP(S) download with a progress bar and a size check (standard library only)."""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request

from tqdm.auto import tqdm

from xwisenet_tf.data.errors import DataError

_CHUNK = 1 << 16


def download(
    url: str, dest: str | os.PathLike, *, timeout: float = 15.0, progress: bool = True
) -> str:
    """Downloads ``url`` to ``dest`` unless ``dest`` already exists.

    Bytes go to ``dest + ".part"`` first; an interrupted download resumes from there with an HTTP
    ``Range`` request (a server that ignores it sends the whole file again). The file is renamed
    to ``dest`` only once its size equals the size the server announced.

    Args:
        url: ``http://`` or ``https://`` URL.
        dest: Final path.
        timeout: Seconds to wait for the connection or for data before giving up.
        progress: Show a tqdm progress bar.

    Returns:
        ``dest`` as a string.

    Raises:
        DataError: the server cannot be reached, answers with an error, or sends a file of the
            wrong size.
    """
    dest = os.fspath(dest)
    if os.path.isfile(dest):
        return dest
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    part = dest + ".part"
    have = os.path.getsize(part) if os.path.isfile(part) else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part file is already complete
            os.replace(part, dest)
            return dest
        raise DataError(f"{url}: download failed: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise DataError(f"{url}: cannot download ({reason})") from e
    with response:
        if response.status == 206:
            mode = "ab"
        else:
            mode, have = "wb", 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = tqdm(
            total=total,
            initial=have,
            unit="B",
            unit_scale=True,
            desc=os.path.basename(dest),
            disable=not progress,
        )
        try:
            with open(part, mode) as f, bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as e:
            raise DataError(
                f"{url}: download interrupted after {os.path.getsize(part)} bytes ({e}); "
                f"rerun to resume from {part}"
            ) from e
    size = os.path.getsize(part)
    if total is not None and size != total:
        raise DataError(
            f"{url}: downloaded {size} bytes but the server announced {total}; "
            f"rerun to resume from {part}"
        )
    os.replace(part, dest)
    return dest
