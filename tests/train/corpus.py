"""A made-up author's journal with a distinctive, repetitive style, built from a seed (no files shipped)."""

from __future__ import annotations

import random

_NAMES = ["Captain Orvell", "Mistress Quillby", "old Barnaby Thrush", "the cartographer Ysolde"]
_PLACES = ["the Glimmerfen", "Saltwick harbour", "the Brannoch cliffs", "the drowned abbey of Mool"]
_THINGS = ["barrels of glimmerwort", "lanterns of green tallow", "crates of salted eel", "bundles of heronquill"]
_WEATHER = ["a quarrelsome east wind", "a fog thick as porridge", "a hard copper sun", "rain that tasted of pennies"]


def journal(passages: int, seed: int = 7) -> str:
    """``passages`` journal entries, blank-line separated, each a few sentences in the same voice."""
    rng = random.Random(seed)
    out = []
    for day in range(1, passages + 1):
        who, where, what, weather = (rng.choice(x) for x in (_NAMES, _PLACES, _THINGS, _WEATHER))
        n = rng.randint(3, 40)
        out.append(
            f"Day {day} of the long tally. {who.capitalize()} came down to {where} under {weather}. "
            f"We counted {n} {what}, and {who} said, as ever, that {n} was a lucky number. "
            f"I wrote it in the tally book with the green ink, and the ink smelled of {where}. "
            f"Tomorrow we sail again, if {weather} allows it, and I shall count again."
        )
    return "\n\n".join(out) + "\n"
