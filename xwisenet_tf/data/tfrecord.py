"""TFRecord shards of ``tf.train.SequenceExample``: one record per video sample.

Record layout (feature keys are an interface: the pipeline and any external reader use them):

Context features:
    ``video/id`` (bytes): the sample id, unique within its split (e.g.
        ``person01_boxing_d2_seq1`` for KTH, the relative path without extension for folders).
    ``video/source`` (bytes): the video file the frames were decoded from.
    ``video/frame_start`` (int64): 0-based index of the first stored frame on the video's
        timeline (its constant-rate frames, see `xwisenet_tf.data.decode`).
    ``video/num_frames`` (int64): number of stored frames.
    ``video/fps`` (float): frame rate of the stored frames: the timeline's rate (the
        source's nominal rate, or the rate asked for with ``prepare --fps``); stored frame
        ``k`` is shown ``(frame_start + k) / fps`` seconds after the video's first frame.
        Records written before the timeline existed hold the source's rate (0 when unknown).
    ``label/index`` (int64): index into the manifest's ``classes``.
    ``label/name`` (bytes): the class name.
    ``image/height``, ``image/width`` (int64): size of every stored frame.
    ``image/format`` (bytes): ``jpeg``.
Sequence features:
    ``image/encoded`` (bytes): one JPEG per frame, in order.

Shards are written to ``NAME.tmp`` and renamed to ``NAME`` only once complete, so a reader
that takes the shard list from ``manifest.json`` (or globs ``*.tfrecord``) never sees a
half-written shard.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence

import tensorflow as tf

from xwisenet_tf.data.errors import DataError

CONTEXT_FEATURES = {
    "video/id": tf.io.FixedLenFeature([], tf.string),
    "video/source": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "video/frame_start": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "video/num_frames": tf.io.FixedLenFeature([], tf.int64),
    "video/fps": tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    "label/index": tf.io.FixedLenFeature([], tf.int64),
    "label/name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/height": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "image/width": tf.io.FixedLenFeature([], tf.int64, default_value=0),
}
SEQUENCE_FEATURES = {"image/encoded": tf.io.FixedLenSequenceFeature([], tf.string)}


def _bytes(value: bytes | str) -> tf.train.Feature:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def make_sequence_example(
    *,
    video_id: str,
    source: str,
    frame_start: int,
    fps: float,
    label_index: int,
    label_name: str,
    height: int,
    width: int,
    jpeg_frames: Sequence[bytes],
) -> bytes:
    """Builds and serialises one record (see the module docstring for the layout).

    Returns:
        The serialised ``tf.train.SequenceExample``.
    """
    context = tf.train.Features(
        feature={
            "video/id": _bytes(video_id),
            "video/source": _bytes(source),
            "video/frame_start": _int(frame_start),
            "video/num_frames": _int(len(jpeg_frames)),
            "video/fps": tf.train.Feature(float_list=tf.train.FloatList(value=[float(fps)])),
            "label/index": _int(label_index),
            "label/name": _bytes(label_name),
            "image/height": _int(height),
            "image/width": _int(width),
            "image/format": _bytes("jpeg"),
        }
    )
    frames = tf.train.FeatureList(
        feature=[
            tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg])) for jpeg in jpeg_frames
        ]
    )
    example = tf.train.SequenceExample(
        context=context, feature_lists=tf.train.FeatureLists(feature_list={"image/encoded": frames})
    )
    return example.SerializeToString()


def write_records(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Writes serialised records to a TFRecord file and syncs it to disk.

    Callers write to a temporary name and rename when done (see `convert`).

    Returns:
        The size of the file in bytes.
    """
    path = os.fspath(path)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    return os.path.getsize(path)


def parse_sequence_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one serialised record inside a ``tf.data`` map.

    Returns:
        A dict with ``frames`` (string vector of JPEGs), ``label`` (int32), ``label_name``,
        ``video_id`` (string) and ``num_frames`` (int32).
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=CONTEXT_FEATURES, sequence_features=SEQUENCE_FEATURES
    )
    return {
        "frames": sequence["image/encoded"],
        "label": tf.cast(context["label/index"], tf.int32),
        "label_name": context["label/name"],
        "video_id": context["video/id"],
        "num_frames": tf.shape(sequence["image/encoded"])[0],
    }


# --- Shard checks without TensorFlow's deep DataLossError -------------------------------------

_CRC32C_TABLE: list[int] = []


def _crc32c(data: bytes) -> int:
    if not _CRC32C_TABLE:
        for n in range(256):
            crc = n
            for _ in range(8):
                crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
            _CRC32C_TABLE.append(crc)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def check_shard(path: str | os.PathLike, expected_size: int | None = None) -> None:
    """Cheap sanity check of a shard: it exists, has the recorded size, and starts (and, walking
    the record headers, ends) like a TFRecord file.

    Only the 12-byte record headers are read, not the payloads, so this is fast on large shards.

    Raises:
        DataError: naming the shard and what is wrong with it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: TFRecord shard is missing; rerun the conversion (prepare)")
    size = os.path.getsize(path)
    if expected_size is not None and size != expected_size:
        raise DataError(
            f"{path}: TFRecord shard has {size} bytes but manifest.json records {expected_size}; "
            "it was truncated or replaced; rerun the conversion (prepare) into a new directory"
        )
    with open(path, "rb") as f:
        offset = 0
        while offset < size:
            header = f.read(12)
            if len(header) < 12:
                raise DataError(f"{path}: unreadable TFRecord shard: truncated record header")
            (length,) = struct.unpack("<Q", header[:8])
            (crc,) = struct.unpack("<I", header[8:])
            if _masked_crc(header[:8]) != crc:
                raise DataError(
                    f"{path}: unreadable TFRecord shard: bad record header at byte {offset} "
                    "(expected a TFRecord file written by xwisenet_tf.data.prepare)"
                )
            offset += 12 + length + 4
            if offset > size:
                raise DataError(f"{path}: unreadable TFRecord shard: last record is truncated")
            f.seek(offset)


def verify_shard(path: str | os.PathLike) -> int:
    """Reads and parses every record of a shard (slow; checks payload CRCs too).

    Returns:
        The number of records.

    Raises:
        DataError: naming the shard when any record is corrupt or does not parse.
    """
    path = os.fspath(path)
    check_shard(path)
    count = 0
    try:
        for serialized in tf.data.TFRecordDataset(path):
            parse_sequence_example(serialized)
            count += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
        raise DataError(
            f"{path}: unreadable TFRecord shard: record {count} is corrupt ({e.message})"
        ) from e
    return count
