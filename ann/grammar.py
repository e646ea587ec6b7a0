"""A small English-like grammar in the style of Elman (1990, "Finding structure in time").

Sentences are made from templates that pair a subject category with a verb category and
an optional object category (Elman 1990, Tables 2 and 3: nouns that are human, animal,
inanimate, aggressive, fragile or food; verbs that are intransitive, transitive,
agent-patient, perception, destruction or eating). Two features of Elman (1991,
"Distributed representations, simple recurrent networks, and grammatical structure")
are added because they make structure matter:

- number: every noun is singular or plural, and every verb agrees in number with its
  subject (man sees / men see);
- subject relative clauses: an animate subject may carry one clause "who VERB [OBJECT]",
  whose verb shares the head's subject, so both verbs agree with the first noun while a
  noun of the other number may stand between them ("man who chases cats sees book").

    rng = np.random.default_rng(0)
    words = sentence(rng)                # ("men", "who", "see", "cat", "eat", "cookie", ".")
    agreement_holds(words)               # True: every verb agrees with the first noun
    corrupt(words, rng)                  # one verb's number flipped: an agreement error

The grammar is the lexicon and templates below; `sentence` is its only generator and
`parse` its recogniser (it accepts exactly the sentences `sentence` can produce).
"""
from __future__ import annotations

import numpy as np

__all__ = ["NOUNS", "VERBS", "TEMPLATES", "ANIMATE", "VOCABULARY", "PAD", "END", "WHO",
           "MAX_LENGTH", "sentence", "parse", "agreement_holds", "corrupt"]

PAD, END, WHO = "<pad>", ".", "who"

# category -> ((singular, plural), ...); Elman (1990) Table 2, a few words changed
NOUNS = {
    "human": (("man", "men"), ("woman", "women")),
    "animal": (("cat", "cats"), ("mouse", "mice")),
    "aggressive": (("dragon", "dragons"), ("monster", "monsters")),
    "inanimate": (("book", "books"), ("rock", "rocks")),
    "fragile": (("glass", "glasses"), ("plate", "plates")),
    "food": (("cookie", "cookies"), ("sandwich", "sandwiches")),
}
# category -> ((3rd person singular, plural), ...); "sees" and "breaks" sit in two categories
VERBS = {
    "intransitive": (("thinks", "think"), ("sleeps", "sleep")),
    "transitive": (("sees", "see"), ("chases", "chase")),
    "agent_patient": (("moves", "move"), ("breaks", "break")),
    "perception": (("smells", "smell"), ("sees", "see")),
    "destroy": (("breaks", "break"), ("smashes", "smash")),
    "eat": (("eats", "eat"),),
}
# (subject category, verb category, object category or None); Elman (1990) Table 3 in spirit
TEMPLATES = (
    ("human", "eat", "food"), ("human", "perception", "inanimate"), ("human", "destroy", "fragile"),
    ("human", "intransitive", None), ("human", "transitive", "human"),
    ("human", "agent_patient", "inanimate"), ("human", "agent_patient", None),
    ("animal", "eat", "food"), ("animal", "transitive", "animal"),
    ("animal", "agent_patient", "inanimate"), ("animal", "agent_patient", None),
    ("inanimate", "agent_patient", None), ("fragile", "destroy", None),
    ("aggressive", "destroy", "fragile"), ("aggressive", "eat", "human"),
    ("aggressive", "eat", "animal"), ("aggressive", "eat", "food"),
)
ANIMATE = ("human", "animal", "aggressive")  # the subjects that can take "who ..."
MAX_LENGTH = 7  # tokens in the longest sentence, END included: NOUN who VERB NOUN VERB NOUN .

_NOUN_FORMS = {form: (cat, num) for cat, pairs in NOUNS.items()
               for pair in pairs for num, form in enumerate(pair)}  # form -> (category, 0 sg / 1 pl)
_VERB_FORMS: dict[str, tuple[set, int]] = {}
for _cat, _pairs in VERBS.items():
    for _pair in _pairs:
        for _num, _form in enumerate(_pair):
            _VERB_FORMS.setdefault(_form, (set(), _num))[0].add(_cat)

# token 0 is padding, 1 the end of a sentence; then "who", the nouns, the verbs
VOCABULARY = (PAD, END, WHO, *_NOUN_FORMS, *_VERB_FORMS)


def _noun(rng, category, number):
    pairs = NOUNS[category]
    return pairs[rng.integers(len(pairs))][number]


def _predicate(rng, template, number):
    """Verb (agreeing with `number`) and optional object (any number) of a template."""
    _, verb_cat, obj_cat = template
    pairs = VERBS[verb_cat]
    words = [pairs[rng.integers(len(pairs))][number]]
    if obj_cat is not None:
        words.append(_noun(rng, obj_cat, int(rng.integers(2))))
    return words


def sentence(rng: np.random.Generator, p_relative: float = 0.3) -> tuple[str, ...]:
    """One sentence, END included: a template drawn uniformly, every word and number
    drawn uniformly; an animate subject carries a relative clause with p_relative."""
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    number = int(rng.integers(2))
    words = [_noun(rng, template[0], number)]
    if template[0] in ANIMATE and rng.random() < p_relative:
        own = [t for t in TEMPLATES if t[0] == template[0]]
        words += [WHO, *_predicate(rng, own[rng.integers(len(own))], number)]
    return (*words, *_predicate(rng, template, number), END)


def _parse_predicate(words, i, subject):
    """Parse VERB [OBJECT] at words[i] for a subject (category, number); return the next
    index, or None when no template licenses it or the verb does not agree."""
    if i >= len(words) or words[i] not in _VERB_FORMS:
        return None
    verb_cats, verb_num = _VERB_FORMS[words[i]]
    if verb_num != subject[1]:
        return None
    obj = _NOUN_FORMS.get(words[i + 1]) if i + 1 < len(words) else None
    licensed = {(t[1], t[2]) for t in TEMPLATES if t[0] == subject[0] and t[1] in verb_cats}
    if obj is not None and any(o == obj[0] for _, o in licensed):
        return i + 2
    if any(o is None for _, o in licensed):
        return i + 1
    return None


def parse(words) -> bool:
    """True when `words` (a sequence of strings, END last, no padding) is a sentence of this
    grammar: templates respected, every verb agreeing with the subject."""
    words = list(words)
    if len(words) < 3 or words[-1] != END or words[0] not in _NOUN_FORMS:
        return False
    subject = _NOUN_FORMS[words[0]]
    i = 1
    if words[i] == WHO:
        if subject[0] not in ANIMATE:
            return False
        i = _parse_predicate(words, i + 1, subject)
        if i is None:
            return False
    i = _parse_predicate(words, i, subject)
    return i == len(words) - 1


def agreement_holds(words) -> bool:
    """Every verb in the sentence has the number of its first word, the subject noun."""
    words = [w for w in words if w != PAD]
    number = _NOUN_FORMS[words[0]][1]
    return all(_VERB_FORMS[w][1] == number for w in words if w in _VERB_FORMS)


def corrupt(words, rng: np.random.Generator) -> tuple[str, ...]:
    """The same sentence with one verb (chosen uniformly) in the other number."""
    words = list(words)
    verbs = [i for i, w in enumerate(words) if w in _VERB_FORMS]
    i = verbs[rng.integers(len(verbs))]
    cats, num = _VERB_FORMS[words[i]]
    category = sorted(cats)[0]
    pair = next(p for p in VERBS[category] if p[num] == words[i])
    words[i] = pair[1 - num]
    return tuple(words)
