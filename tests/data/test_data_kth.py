"""KTH: the real sequence file, the subject splits, zips, conversion of the real slice, and the
download (against a local HTTP server on 127.0.0.1 only)."""

import http.server
import json
import os
import re
import shutil
import threading
import time
import zipfile

import numpy as np
import pytest

from xwisenet_tf.data import DataError, ensure_dataset, kth, load, prepare_dataset, read_manifest
from xwisenet_tf.data.download import download

# --- the sequence file ---------------------------------------------------------------------


def test_parse_real_sequence_file(kth_dir):
    table = kth.parse_sequence_file(kth_dir / "00sequences.txt")
    assert len(table) == 600
    assert table["person13_handclapping_d3"] is None
    present = {k: v for k, v in table.items() if v is not None}
    assert len(present) == 599
    assert sum(len(v) for v in present.values()) == 2391
    assert sorted(k for k, v in present.items() if len(v) == 3) == [
        "person11_boxing_d4",
        "person13_handwaving_d3",
        "person14_handwaving_d3",
        "person15_boxing_d4",
        "person22_boxing_d1",
    ]
    assert table["person01_boxing_d2"] == [(1, 106), (107, 195), (196, 265), (305, 390)]
    # Out-of-order and overlapping ranges are kept as listed.
    assert table["person07_jogging_d4"] == [(1, 64), (270, 332), (194, 264), (490, 570)]
    assert table["person16_handwaving_d4"][2:] == [(207, 311), (212, 456)]
    # Names followed by spaces then tabs parse too.
    assert table["person12_handclapping_d4"] == [(1, 133), (134, 238), (237, 344), (345, 479)]


def test_malformed_sequence_file_names_file_and_line(tmp_path):
    path = tmp_path / "00sequences.txt"
    path.write_text(
        "header\r\nperson01_boxing_d1\t\tframes\t1-95, 96-185\r\n"
        "person01_boxing_d2\t\tframes\t1-95, 96-x\r\n"
    )
    with pytest.raises(DataError, match=re.escape(f"{path}:3")):
        kth.parse_sequence_file(path)
    path.write_text("person01_boxing_d1\t\tframes\t95-1\n")
    with pytest.raises(DataError, match="invalid frame range 95-1"):
        kth.parse_sequence_file(path)
    path.write_text("nothing here\n")
    with pytest.raises(DataError, match="no KTH sequence entry"):
        kth.parse_sequence_file(path)


def test_subject_splits():
    test = {2, 3, 5, 6, 7, 8, 9, 10, 22}
    for person in range(1, 26):
        assert kth.split_of(person, "16/9") == ("test" if person in test else "train")
    schuldt = {p: kth.split_of(p, "schuldt") for p in range(1, 26)}
    assert sorted(p for p, s in schuldt.items() if s == "validation") == [
        1,
        4,
        19,
        20,
        21,
        23,
        24,
        25,
    ]
    assert sorted(p for p, s in schuldt.items() if s == "train") == list(range(11, 19))
    assert sum(s == "train" for s in map(lambda p: kth.split_of(p), range(1, 26))) == 16
    with pytest.raises(DataError, match="split scheme"):
        kth.split_of(1, "50/50")


# --- conversion of the real slice ----------------------------------------------------------


@pytest.fixture(scope="module")
def kth_prepared(kth_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("kth") / "tfrecords"
    manifest = prepare_dataset("kth", kth_dir, out, progress=False)
    return out, manifest


def test_real_slice_conversion(kth_dir, kth_prepared):
    out, manifest = kth_prepared
    table = kth.parse_sequence_file(kth_dir / "00sequences.txt")
    files = {
        re.sub(r"_uncomp$", "", os.path.splitext(name)[0])
        for _, _, names in os.walk(kth_dir)
        for name in names
        if name.endswith((".avi", ".mp4"))
    }
    assert len(files) == 7
    expected = {f"{v}_seq{k}": b - a + 1 for v in files for k, (a, b) in enumerate(table[v], 1)}
    got = {
        video["id"]: video["num_frames"]
        for entry in manifest["splits"].values()
        for video in entry["videos"]
    }
    assert got == expected  # exactly the listed sequences, with their lengths
    assert manifest["failed"] == []
    assert len(manifest["missing"]) == 600 - 7
    train = {v["id"].split("_")[0] for v in manifest["splits"]["train"]["videos"]}
    test = {v["id"].split("_")[0] for v in manifest["splits"]["test"]["videos"]}
    assert train == {"person01", "person04"} and test == {"person03"}
    assert manifest["splits"]["train"]["per_class"] == {
        "walking": 4,
        "jogging": 4,
        "running": 0,
        "boxing": 8,
        "handwaving": 0,
        "handclapping": 8,
    }
    assert manifest["classes"] == list(kth.ACTIONS)
    assert read_manifest(out)["splits"]["test"]["num_videos"] == 4
    # person01_boxing_d2 sequence 4 is frames 305-390: 0-based start 304.
    seq = next(
        v for v in manifest["splits"]["train"]["videos"] if v["id"] == "person01_boxing_d2_seq4"
    )
    assert seq["frame_start"] == 304 and seq["num_frames"] == 86


def test_real_slice_training_batch(kth_prepared):
    out, _ = kth_prepared
    clips, labels = next(iter(load(out, "train", training=True, batch_size=4, seed=0)))
    assert clips.shape == (4, 16, 112, 112, 3) and clips.dtype == np.float32
    assert labels.shape == (4,) and labels.dtype == np.int32
    assert set(labels.numpy()) <= {0, 1, 3, 5}
    values = clips.numpy()
    # Normalised 0-255 frames lie within (0 - mean) / std .. (255 - mean) / std.
    assert values.min() >= (0 - 115) / 38.7 - 0.1 and values.max() <= (255 - 99) / 37.8 + 0.1
    assert values.std() > 0.3  # real picture content, not a constant
    # Grayscale source: after undoing the normalisation the channels agree.
    from xwisenet_tf.data import MEAN_RGB, STD_RGB

    rgb = values * np.array(STD_RGB) + np.array(MEAN_RGB)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() < 4


def test_zips_are_accepted(kth_dir, tmp_path):
    root = tmp_path / "kth_zips"
    root.mkdir()
    shutil.copy(kth_dir / "00sequences.txt", root)
    with zipfile.ZipFile(root / "boxing.zip", "w") as z:
        for name in sorted(os.listdir(kth_dir / "boxing"))[:2]:
            z.write(kth_dir / "boxing" / name, name)
    os.makedirs(root / "walking")
    shutil.copy(kth_dir / "walking" / "person01_walking_d1_uncomp.avi", root / "walking")
    manifest = prepare_dataset("kth", root, tmp_path / "out", progress=False, split="schuldt")
    ids = sorted(v["id"] for e in manifest["splits"].values() for v in e["videos"])
    assert len(ids) == 12 and manifest["failed"] == []
    assert {v["source"] for v in manifest["splits"]["validation"]["videos"]} >= {
        f"{root / 'boxing.zip'}:person01_boxing_d2_uncomp.mp4"
    }
    assert manifest["splits"]["test"]["num_videos"] == 4  # person03
    assert not os.path.exists(tmp_path / "out" / ".tmp_extract")


# --- download ------------------------------------------------------------------------------


class _Server:
    """Threaded HTTP server on 127.0.0.1 that honours Range and can cut a response short."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests, self.cut_after = files, [], None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                outer.requests.append((name, self.headers.get("Range")))
                if name not in outer.files:
                    self.send_error(404)
                    return
                data, start = outer.files[name], 0
                if self.headers.get("Range"):
                    start = int(re.match(r"bytes=(\d+)-", self.headers["Range"]).group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if outer.cut_after is not None:
                    body = body[: outer.cut_after]
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cvap/actions/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def start(files):
        servers.append(_Server(files))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_download_resumes_with_range(server, tmp_path):
    payload = bytes(range(256)) * 400
    srv = server({"file.bin": payload})
    srv.cut_after = 30000
    dest = tmp_path / "file.bin"
    with pytest.raises(DataError, match="server announced"):
        download(srv.url + "file.bin", dest, progress=False)
    assert not dest.exists() and os.path.getsize(str(dest) + ".part") == 30000
    srv.cut_after = None
    download(srv.url + "file.bin", dest, progress=False)
    assert dest.read_bytes() == payload
    assert srv.requests[-1] == ("file.bin", "bytes=30000-")
    download(srv.url + "file.bin", dest, progress=False)  # cached: no request
    assert len(srv.requests) == 2


def test_download_errors_name_the_url(server, tmp_path):
    srv = server({})
    with pytest.raises(DataError, match="HTTP 404"):
        download(srv.url + "nothing.zip", tmp_path / "x", progress=False)


def test_kth_offline_fails_at_once_with_instructions(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        ensure_dataset("kth", tmp_path, base_url=f"http://127.0.0.1:{port}/", progress=False)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert os.fspath(tmp_path / "downloads" / "kth") in message
    assert "00sequences.txt" in message and "boxing.zip" in message
    # Both offline routes, with flags that exist: a local copy, or the synthetic quick start.
    assert "python train.py --dataset=kth:/path/to/that/folder" in message
    assert "python train.py --dataset=synthetic" in message
    assert "train.py --source" not in message


def test_ensure_dataset_downloads_converts_and_caches(kth_dir, server, tmp_path):
    files = {"00sequences.txt": (kth_dir / "00sequences.txt").read_bytes()}
    for action in kth.ACTIONS:
        path = tmp_path / f"{action}.zip"
        with zipfile.ZipFile(path, "w") as z:
            folder = kth_dir / action
            for name in sorted(os.listdir(folder)) if folder.is_dir() else []:
                z.write(folder / name, name)
        files[f"{action}.zip"] = path.read_bytes()
    srv = server(files)
    cache = tmp_path / "cache"
    out = ensure_dataset("kth", cache, base_url=srv.url, progress=False)
    assert sorted(os.listdir(cache / "downloads" / "kth")) == sorted(files)
    manifest = read_manifest(out)
    assert sum(e["num_videos"] for e in manifest["splits"].values()) == 28
    assert len(srv.requests) == 7
    stamp = os.path.getmtime(os.path.join(out, "manifest.json"))
    assert ensure_dataset("kth", cache, base_url=srv.url, progress=False) == out
    assert len(srv.requests) == 7 and os.path.getmtime(os.path.join(out, "manifest.json")) == stamp
    assert json.load(open(os.path.join(out, "manifest.json")))["dataset"] == "kth"
