"""Generated names: the random suffixes of generateName and of controller-made pods."""

import random


NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

RNG = random.Random()  # --seed makes generated names repeatable


def random_suffix(n=5):
    return "".join(RNG.choice(NAME_SUFFIX_ALPHABET) for _ in range(n))
