"""The example extension's own test suite: plain unittest, which pytest
collects too.  Every test passes natively; under "python -m memcheck",
test_split leaks and test_longest reads past a buffer."""

import unittest

import wordstats


class WordStatsTest(unittest.TestCase):
    def test_count(self):
        self.assertEqual(wordstats.count("a few plain words"), 4)
        self.assertEqual(wordstats.count(""), 0)

    def test_split(self):
        self.assertEqual(wordstats.split("two words"), ["two", "words"])

    def test_longest(self):
        self.assertEqual(wordstats.longest("a longer word"), 6)


if __name__ == "__main__":
    unittest.main()
