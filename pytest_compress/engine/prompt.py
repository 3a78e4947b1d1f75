"""How a (system, user) pair and worked examples become prompt text for one tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass
class PromptFormat:
    """How a (system, user) pair becomes prompt text for one tokenizer.

    Uses the tokenizer's chat template when it has one, a plain template otherwise.
    """

    tokenizer: object

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def __call__(self, user: str, system: str | None = None, shots: Sequence[tuple[str, str]] = ()) -> str:
        """Prompt text for ``user``, after worked examples ``shots`` of (user, assistant) turns."""
        if self.has_chat_template:
            messages = [{"role": "system", "content": system}] if system else []
            for question, answer in shots:
                messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": user})
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        bos = self.tokenizer.bos_token or ""
        head = f"{system}\n\n" if system else ""
        examples = "".join(f"{q}\nAnswer: {a}\n\n" for q, a in shots)
        return f"{bos}{head}{examples}{user}\nAnswer: "
