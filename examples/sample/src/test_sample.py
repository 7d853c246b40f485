"""The sample suite from the seed: five steady tests and one flaky one.

``test_sample_random`` stands for a test that fails now and then. To make the demo repeatable it
fails on every other run instead of at random: the test step sees it fail, and junit-flaky's
rerun sees it pass. The counter lives in test_results/, which the README's command clears first,
so a run that was interrupted half-way cannot leave the next demo out of step.
"""

import os
import unittest

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "test_results")
COUNTER = os.path.join(RESULTS, "flaky-counter")


def next_run_number():
    os.makedirs(RESULTS, exist_ok=True)
    try:
        with open(COUNTER) as handle:
            number = int(handle.read() or 0) + 1
    except (OSError, ValueError):
        number = 1
    with open(COUNTER, "w") as handle:
        handle.write(str(number))
    return number


class TestSample(unittest.TestCase):
    def test_sample_dict(self):
        self.assertEqual({"a": 1}["a"], 1)

    def test_sample_list(self):
        self.assertIn(2, [1, 2, 3])

    def test_sample_number(self):
        self.assertEqual(6 * 7, 42)

    def test_sample_random(self):
        a = 2 if next_run_number() % 2 else 1  # odd runs fail, even runs pass
        self.assertEqual(a, 1)

    def test_sample_text(self):
        self.assertTrue("flaky".startswith("fl"))

    def test_sample_tuple(self):
        self.assertEqual((1, 2)[1], 2)
