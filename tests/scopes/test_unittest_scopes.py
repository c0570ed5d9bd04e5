"""unittest's class and module fixtures, logged to SCOPE_LOG."""

import os
import unittest

import wordstats


def log(event):
    with open(os.environ["SCOPE_LOG"], "a") as f:
        f.write(event + "\n")


def setUpModule():
    log("setup module")


def tearDownModule():
    log("teardown module")


class First(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        log("setup class First")

    @classmethod
    def tearDownClass(cls):
        log("teardown class First")

    def test_count(self):
        self.assertEqual(wordstats.count("a b"), 2)

    def test_leak(self):
        self.assertEqual(wordstats.split("x y"), ["x", "y"])


class Second(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        log("setup class Second")

    @classmethod
    def tearDownClass(cls):
        log("teardown class Second")

    def test_a(self):
        self.assertTrue(True)

    def test_b(self):
        self.assertEqual(wordstats.count("a"), 1)
