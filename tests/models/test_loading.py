"""Loading: the dequantized-GGUF cache write and the unsupported-architecture message."""

import errno
import os
import types

import pytest

from pytest_compress.errors import CompressWarning, ModelLoadError
from pytest_compress.models.loading import TINY_DIR, _check_architecture, _save_dequantized


def test_a_cache_that_cannot_take_the_dequantized_model_is_a_warning(tmp_path):
    def full(folder):
        (folder / "model.safetensors").write_text("half a model")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    model = types.SimpleNamespace(config=types.SimpleNamespace(), save_pretrained=full)
    target = tmp_path / "cache" / "dequantized" / "smollm2"
    with pytest.warns(CompressWarning, match="could not be cached under .*No space left on device.*dequantizes it "
                                             "again"):
        _save_dequantized(model, types.SimpleNamespace(save_pretrained=full), target)
    assert not target.exists() and not list(target.parent.iterdir())  # the half-written temp dir is gone


def test_an_unknown_model_type_is_one_line(tmp_path):
    _check_architecture(TINY_DIR)
    (tmp_path / "config.json").write_text('{"model_type": "no_such_arch"}')
    with pytest.raises(ModelLoadError, match="model_type 'no_such_arch' is not a causal language model that "
                                             r"transformers \S+ can build; upgrade transformers"):
        _check_architecture(tmp_path)
