"""Lookalike domains: which registered vendor a domain imitates, by which trick, with evidence.

The question is the reverse of dnstwist's: given one domain, find the vendor it imitates. Every
vendor string is indexed once in :class:`LookalikeIndex` so one look-up costs a few dictionary
probes, whatever the size of the registry:

- a *brand* table keyed by the confusable skeleton of each vendor label, alias and name with the
  hyphens removed (TLD swap, homoglyphs, hyphenation, the bare brand, and brand plus words);
- a *token* table keyed by the vendor domain split on dots and hyphens (the vendor's domain used as
  labels of another domain, ``northwind-software.com.evil.example``);
- a symmetric-delete table of each label's prototype with up to two characters removed (typos:
  omission, insertion, repetition, transposition, substitution), confirmed with rapidfuzz.

Registrable domains (PSL) are compared after IDNA decoding; a vendor's own domains, their
subdomains and their registrable parents are never lookalikes.

Modules: skeleton.py (confusable prototypes and skeletons), words.py (brand words around a
brand), model.py (the match and what is compared), index.py (the index and the matching),
evidence.py (the sentences saying what was changed). This package's names are its public face.
"""

from __future__ import annotations

from bot.verify.lookalike.index import LookalikeIndex
from bot.verify.lookalike.model import TRICKS, LookalikeMatch
from bot.verify.lookalike.skeleton import prototype, skeleton

__all__ = ["TRICKS", "LookalikeIndex", "LookalikeMatch", "prototype", "skeleton"]
