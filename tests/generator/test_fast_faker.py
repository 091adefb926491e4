"""The generator's Faker (cached cumulative weights, and one re-seeded instance for one-off names)
draws exactly what a new Faker("en_GB") draws: every method the generator calls."""
from __future__ import annotations

from faker import Faker

from audit.generator.core import Gen, _faker

METHODS = ("first_name", "first_name_male", "first_name_female", "last_name", "name", "postcode",
           "street_address", "street_name", "city")


def _draws(fk, n: int = 400) -> list[str]:
    return [getattr(fk, m)() for _ in range(n) for m in METHODS]


def test_cached_weights_draw_the_same_as_faker():
    plain, fast = Faker("en_GB"), _faker()
    for seed in (1, 2_000_003, 987_654_321):
        plain.seed_instance(seed)
        fast.seed_instance(seed)
        assert _draws(fast) == _draws(plain)


def test_a_reused_one_off_faker_draws_as_a_new_one():
    g = Gen(3, 0.05, 12, "2026-10")
    want = {s: _draws(g.faker(s), 20) for s in ("assoc-new-1", "assoc-new-2")}
    first = g.faker("assoc-new-1", reuse=True)
    assert _draws(first, 20) == want["assoc-new-1"]
    again = g.faker("assoc-new-2", reuse=True)
    assert again is first  # the same instance, re-seeded
    assert _draws(again, 20) == want["assoc-new-2"]
