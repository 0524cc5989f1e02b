# ruff: noqa: RUF001  (non-Latin scripts and full-width punctuation are the point here)
"""Phrases that mark an answer as a refusal or an AI disclaimer instead of an answer.

Kept as data apart from the check so the list can grow without touching logic.
Patterns pair a refusal verb with what is refused ("I can't help", not a bare
"I can't"), because "I can't stress this enough" opens plenty of good answers.
"""

from __future__ import annotations

import re

_EN_REFUSED = (
    r"(?:help|assist|provide|comply|fulfil|fulfill|do\s+(?:that|this)|answer|support|engage"
    r"|create|generate|write|complete|share|give|continue|participate|produce|discuss)"
)
_EN_CANNOT = (
    r"(?:can(?:no|')?t|can\s+not|won'?t|will\s+not|am\s+(?:unable|not\s+able)\s+to"
    r"|'m\s+(?:unable|not\s+able)\s+to|am\s+not\s+(?:allowed|permitted)\s+to"
    r"|'m\s+not\s+(?:allowed|permitted)\s+to|won'?t\s+be\s+able\s+to)"
)

ENGLISH = (
    rf"\bI\s*{_EN_CANNOT}\s+(?:\w+\s+){{0,2}}?{_EN_REFUSED}\b",
    r"\bI\s+(?:must|have\s+to|need\s+to)\s+(?:respectfully\s+)?(?:decline|refuse)\b",
    r"\b(?:sorry|apologi[sz]e|afraid)\b[^.!?\n]{0,40}\bI\s*(?:can(?:no|')?t|cannot|won'?t|am\s+unable|'m\s+unable|am\s+not\s+able|'m\s+not\s+able)\b",
    r"\bas\s+an\s+AI\b",
    r"\bas\s+an?\s+(?:large\s+)?language\s+model\b",
    r"\bthat(?:'s|\s+is)\s+not\s+something\s+I\s+can\b",
    r"\bI'?m\s+not\s+(?:comfortable|going\s+to)\s+(?:help|assist|provid|writ|generat|shar)",
)

OTHER_LANGUAGES = (
    # French
    r"\bje\s+ne\s+(?:peux|suis\s+pas\s+en\s+mesure\s+de)\s+(?:pas\s+)?(?:vous\s+|t'|te\s+)?"
    r"(?:aider|fournir|répondre|donner|assister)",
    r"\ben\s+tant\s+qu(?:e|')\s*(?:IA|intelligence\s+artificielle|modèle\s+de\s+langage)",
    # Spanish / Portuguese
    r"\bno\s+puedo\s+(?:ayudar|proporcionar|responder|hacer\s+eso|cumplir|dar)",
    r"\bn[ãa]o\s+posso\s+(?:ajudar|fornecer|responder|fazer\s+isso)",
    r"\bcomo\s+(?:una?\s+)?(?:IA|inteligencia\s+artificial|modelo\s+de\s+(?:lenguaje|linguagem))\b",
    # German
    r"\bich\s+kann\s+(?:Ihnen\s+|dir\s+)?(?:dabei\s+|damit\s+|hierbei\s+)?nicht\s+(?:helfen|antworten|weiterhelfen)",
    r"\bals\s+(?:eine?\s+)?(?:KI|künstliche\s+Intelligenz|Sprachmodell)\b",
    # Italian
    r"\bnon\s+posso\s+(?:aiutar|fornir|risponder|assister)",
    r"\bcome\s+(?:un'?\s*)?(?:IA|intelligenza\s+artificiale|modello\s+linguistico)\b",
    # Russian
    r"я\s+не\s+могу\s+(?:помочь|предоставить|ответить|выполнить)",
    r"\bкак\s+(?:ИИ|искусственный\s+интеллект|языковая\s+модель)",
    # Chinese / Japanese
    r"(?:我|抱歉，?我)(?:无法|不能)(?:提供|帮助|协助|回答|满足|完成)",
    r"作为(?:一个)?(?:AI|人工智能|语言模型)",
    r"(?:お手伝い|お答え|提供)(?:することは)?できません",
    r"AIとして",
)

REFUSAL = re.compile("|".join((*ENGLISH, *OTHER_LANGUAGES)), re.IGNORECASE)
