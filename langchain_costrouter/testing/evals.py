"""A small eval world for the test server: sums, a strong model, a weaker one, a judge.

`SumsResponder` answers ``What is A + B?`` as several models would: the strong model
always right, the weak one wrong on some questions (hedging, "maybe ..."), and after
`degrade` wrong on more of them with confidence, as a provider's silent model update
would be. The judge model reads the question and the answers it is shown and gives a
pairwise verdict (``[[A]]``/``[[B]]``/``[[C]]``) or a graded rating (``Rating: [[N]]``)
as the scorers of `langchain_costrouter.scoring` ask. Asked for log-probabilities, the
weak model is unsure of its hedged answers (token log-probability -1.5) and sure of the
others (-0.05), like a real model whose doubt shows in its tokens. Everything is a pure
function of the request, so runs are reproducible.
"""

from __future__ import annotations

import random
import re
from typing import Any

from langchain_costrouter.testing.replies import Reply

_QUESTION = re.compile(r"What is (\d+) \+ (\d+)\?")
_ANSWER = re.compile(r"\[Answer ([AB])\]\n(.*?)\n\[End of answer \1\]", re.DOTALL)
_CANDIDATE = re.compile(r"\[Candidate answer\]\n(.*?)\n\[End of candidate answer\]", re.DOTALL)
_NUMBER = re.compile(r"-?\d+")


def sum_prompts(count: int, *, seed: int = 0, references: bool = False) -> list[dict[str, Any]]:
    """``count`` prompt lines ``{id, messages, reference?}`` asking for sums."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        line: dict[str, Any] = {
            "id": f"sum-{seed}-{index}",
            "messages": [{"role": "user", "content": f"What is {a} + {b}?"}],
        }
        if references:
            line["reference"] = str(a + b)
        lines.append(line)
    return lines


class SumsResponder:
    """Decides the test server's answers in the sums world (``server.set_responder``)."""

    def __init__(self, *, strong: str, weak: str, judge: str, usage: tuple[int, int] = (40, 8)):
        self.strong, self.weak, self.judge = strong, weak, judge
        self.usage = usage
        self.degraded = False

    def degrade(self) -> None:
        """From now on the weak model is confidently wrong on half the questions."""
        self.degraded = True

    def __call__(self, body: dict[str, Any]) -> Reply | None:
        text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
        question = _QUESTION.search(text)
        if question is None:
            return None
        a, b = int(question.group(1)), int(question.group(2))
        model = body.get("model")
        if model == self.judge:
            return self._judged(text, a + b)
        if model == self.weak:
            answer = self._weak_answer(a, b)
            return self._reply(answer, -1.5 if "not sure" in answer else -0.05)
        return self._reply(f"The answer is {a + b}.")

    def _weak_answer(self, a: int, b: int) -> str:
        if self.degraded and (a + b) % 2 == 0:
            return f"The answer is {a + b + 10}."
        if (a * b) % 4 == 0:
            return f"I am not sure, maybe {a + b + 1}."
        return f"The answer is {a + b}."

    def _judged(self, text: str, right: int) -> Reply:
        candidate = _CANDIDATE.search(text)
        if candidate is not None:
            return self._reply(f"Rating: [[{10 if _says(candidate.group(1), right) else 1}]]")
        verdicts = {label: _says(answer, right) for label, answer in _ANSWER.findall(text)}
        if verdicts.get("A") == verdicts.get("B"):
            return self._reply("Both are equally good. [[C]]")
        return self._reply("[[A]]" if verdicts.get("A") else "[[B]]")

    def _reply(self, text: str, logprob: float = -0.01) -> Reply:
        prompt_tokens, completion_tokens = self.usage
        return Reply(
            text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            logprobs=(logprob,),
        )


def _says(answer: str, right: int) -> bool:
    numbers = _NUMBER.findall(answer)
    return bool(numbers) and int(numbers[-1]) == right
