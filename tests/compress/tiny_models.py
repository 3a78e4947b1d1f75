"""Tiny random decoder models built from transformers configs (nothing downloaded)."""

import torch
from transformers import (
    GemmaConfig, GemmaForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
    MistralConfig, MistralForCausalLM, OPTConfig, OPTForCausalLM, Qwen2Config, Qwen2ForCausalLM,
)

VOCAB = 128
_COMMON = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=VOCAB)


def _build(arch: str, kv_heads: int):
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**_COMMON, num_key_value_heads=kv_heads))
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**_COMMON, num_key_value_heads=kv_heads))
    if arch == "mistral":
        return MistralForCausalLM(MistralConfig(**_COMMON, num_key_value_heads=kv_heads))
    if arch == "gemma":
        return GemmaForCausalLM(GemmaConfig(**_COMMON, num_key_value_heads=kv_heads, head_dim=8))
    if arch == "gpt2":
        return GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=VOCAB, n_positions=64,
                                          bos_token_id=0, eos_token_id=0))
    if arch == "opt":
        return OPTForCausalLM(OPTConfig(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                                        vocab_size=VOCAB, max_position_embeddings=64, word_embed_proj_dim=32))
    raise ValueError(arch)


ARCHS = ["llama", "qwen2", "mistral", "gemma", "gpt2", "opt"]


def tiny_model(arch: str, kv_heads: int = 2, seed: int = 0):
    torch.manual_seed(seed)
    model = _build(arch, kv_heads).eval()
    with torch.no_grad():  # norms start at 1/0: perturb so folds into them are really tested
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name or "layer_norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def calib(samples: int = 8, seq_len: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, VOCAB, (samples, seq_len), generator=torch.Generator().manual_seed(seed))
