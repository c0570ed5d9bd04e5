"""The patch series as files: every patch that a release's series names
exists and carries a DEP-3 header (https://dep-team.pages.debian.net/deps/dep3/),
as Debian's quilt series do.  prepare-source applies them (test_bad_inputs
checks that a patch that does not apply stops it)."""

import glob
import os
import re
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PATCHES = os.path.join(os.path.dirname(HERE), "patches")

# The fields this series uses, in DEP-3's spelling.
KNOWN_FIELDS = {"Description", "Subject", "Author", "From", "Origin", "Bug",
                "Forwarded", "Applied-Upstream", "Reviewed-by", "Last-Update"}


def header_of(path):
    """The patch's header: the lines before its first diff."""
    with open(path) as f:
        text = f.read()
    return text.split("\ndiff --git ", 1)[0] if text else ""


def parse_dep3(header):
    """{field: value} of a DEP-3 header; continuation lines (a space first)
    join their field.  Raise ValueError on a line that is neither."""
    fields, last = {}, None
    for number, line in enumerate(header.rstrip("\n").split("\n"), 1):
        if line.startswith(" ") and last is not None:
            fields[last] += "\n" + line[1:]
            continue
        match = re.match(r"([A-Za-z-]+): ?(.*)$", line)
        if not match:
            raise ValueError("line %d is no field: %r" % (number, line))
        last = match.group(1)
        if last in fields:
            raise ValueError("field %s given twice" % last)
        fields[last] = match.group(2)
    return fields


def series_patches():
    """(series file, patch path) of every patch that a series names: a
    release's own copy (patches/X.Y/X.Y.Z/NAME) where it has one."""
    for series in glob.glob(os.path.join(PATCHES, "*", "series")):
        top = os.path.dirname(series)
        releases = [d for d in glob.glob(os.path.join(top, "*", ""))]
        with open(series) as f:
            names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for name in names:
            yield series, os.path.join(top, name)
            for release in releases:
                own = os.path.join(release, name)
                if os.path.exists(own):
                    yield series, own


class TestDep3Headers(unittest.TestCase):

    def test_parser_rejects_free_text(self):
        with self.assertRaises(ValueError):
            parse_dep3("pymalloc: decide at the first allocation\n\nmore")
        self.assertEqual(parse_dep3("Description: a\n b\n .\nForwarded: no"),
                         {"Description": "a\nb\n.", "Forwarded": "no"})

    def test_every_patch_named_exists(self):
        patches = list(series_patches())
        self.assertGreater(len(patches), 10)
        for series, path in patches:
            with self.subTest(patch=os.path.relpath(path, PATCHES)):
                self.assertTrue(os.path.isfile(path), "%s names it" % series)

    def test_every_patch_has_a_dep3_header(self):
        for _, path in series_patches():
            name = os.path.relpath(path, PATCHES)
            with self.subTest(patch=name):
                if os.path.getsize(path) == 0:
                    # A release that has the change already keeps an empty
                    # copy; the default copy says where it went upstream.
                    default = os.path.join(os.path.dirname(
                        os.path.dirname(path)), os.path.basename(path))
                    fields = parse_dep3(header_of(default))
                    self.assertIn("Applied-Upstream", fields)
                    # Where upstream made the fix: its gh- issue, and the
                    # change that the release took.
                    self.assertRegex(fields.get("Bug", ""),
                                     r"^https://github\.com/python/cpython/issues/\d+$")
                    self.assertRegex(fields.get("Origin", ""),
                                     r"^backport, https://github\.com/python/cpython/")
                    self.assertRegex(fields["Applied-Upstream"],
                                     r"^\d+\.\d+\.\d+, https://")
                    continue
                fields = parse_dep3(header_of(path))
                self.assertLessEqual(set(fields), KNOWN_FIELDS)
                description = fields.get("Description", fields.get("Subject"))
                self.assertTrue(description, "no Description")
                summary = description.split("\n", 1)[0]
                self.assertLessEqual(len(summary), 100,
                                     "the first line is the short summary")
                self.assertTrue({"Author", "From", "Origin"} & set(fields),
                                "DEP-3 needs Origin unless Author is given")
                self.assertTrue({"Forwarded", "Applied-Upstream"} & set(fields))
                if "Last-Update" in fields:
                    self.assertRegex(fields["Last-Update"],
                                     r"^\d{4}-\d\d-\d\d$")


if __name__ == "__main__":
    unittest.main()
