"""Weight files checked from their headers before anything loads: one line per fault."""

import json
import struct
from pathlib import Path

import pytest

from pytest_compress.errors import ModelLoadError
from pytest_compress.models.files import check_gguf, check_model_dir, check_safetensors
from pytest_compress.models.loading import EMBEDDED_SMOLLM2, TINY_DIR, resolve_model


@pytest.fixture(scope="module")
def gguf_bytes() -> bytes:
    source = resolve_model(EMBEDDED_SMOLLM2)
    return (Path(source.location) / source.gguf_file).read_bytes()


def _one_line(exc_info, *fragments):
    message = str(exc_info.value)
    assert "\n" not in message and all(f in message for f in fragments), message


@pytest.mark.parametrize("cut, fragments", [
    (2**20, ("is truncated or corrupt: its GGUF header cannot be read", "re-download or re-export it")),  # header cut
    (0.5, ("is truncated: its header describes 93.8 MiB but the file holds 46.9 MiB",)),  # data cut
    (-1, ("is truncated: its header describes",)),  # one byte short
])
def test_a_cut_gguf_file_is_named_as_truncated(tmp_path, gguf_bytes, cut, fragments):
    path = tmp_path / "cut.gguf"
    end = len(gguf_bytes) - 1 if cut == -1 else int(len(gguf_bytes) * cut) if cut < 1 else cut
    path.write_bytes(gguf_bytes[:end])
    with pytest.raises(ModelLoadError) as exc_info:
        resolve_model(str(path))
    _one_line(exc_info, str(path), *fragments)


def test_a_whole_gguf_file_passes(tmp_path, gguf_bytes):
    path = tmp_path / "whole.gguf"
    path.write_bytes(gguf_bytes)
    check_gguf(path)
    assert resolve_model(str(path)).gguf_file == "whole.gguf"


def test_a_file_that_is_not_gguf_says_so(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(ModelLoadError, match="is not a GGUF file"):
        resolve_model(str(path))


def _copy_tiny(folder: Path) -> Path:
    folder.mkdir()
    for file in TINY_DIR.iterdir():
        if file.suffix in (".json", ".safetensors"):
            (folder / file.name).write_bytes(file.read_bytes())
    return folder


def test_the_tiny_model_dir_passes(tmp_path):
    check_model_dir(_copy_tiny(tmp_path / "tiny"))


@pytest.mark.parametrize("damage, fragments", [
    (lambda b: b[:-1], ("model.safetensors is truncated: its header describes",)),
    (lambda b: b[:4], ("model.safetensors is truncated or corrupt: its safetensors header cannot be read",)),
    (lambda b: struct.pack("<Q", 10**12) + b[8:], ("its header claims 1000000000000 bytes",)),
    (lambda b: b[:8] + b"\xff" + b[9:], ("model.safetensors is truncated or corrupt",)),
])
def test_a_damaged_safetensors_file_is_named(tmp_path, damage, fragments):
    folder = _copy_tiny(tmp_path / "tiny")
    weights = folder / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ModelLoadError) as exc_info:
        resolve_model(str(folder))
    _one_line(exc_info, str(weights), *fragments, "re-download or re-export it")


def test_a_dir_without_weights_or_with_a_broken_config(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelLoadError, match="has a config.json but no weights"):
        resolve_model(str(folder))
    (folder / "config.json").write_text('{"model_type": "llama",')
    with pytest.raises(ModelLoadError, match=r"config.json is not valid JSON \(Expecting"):
        check_model_dir(folder)
    (folder / "config.json").write_text('["llama"]')
    with pytest.raises(ModelLoadError, match="holds a list, not a model configuration"):
        check_model_dir(folder)


def test_a_sharded_dir_names_its_missing_shard(tmp_path):
    folder = _copy_tiny(tmp_path / "sharded")
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelLoadError, match="names 2 weight shards but model-00002-of-00002.safetensors is missing"):
        check_model_dir(folder)


def test_check_safetensors_reads_only_the_header(tmp_path):
    path = tmp_path / "x.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    check_safetensors(path)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 7)
    whole = 8 + len(header) + 8
    with pytest.raises(ModelLoadError, match=f"describes {whole} bytes but the file holds {whole - 1} bytes"):
        check_safetensors(path)
