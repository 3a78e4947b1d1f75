"""Finding and loading models: HF ids, local directories, GGUF files, embedded defaults."""

from .loading import LoadedModel, ModelSource, load_model, resolve_model, resolve_device, resolve_dtype

__all__ = ["LoadedModel", "ModelSource", "load_model", "resolve_model", "resolve_device", "resolve_dtype"]
