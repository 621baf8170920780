#!/usr/bin/env python3
"""Tests of scripts/check-docs.py, run by make lint: each case writes a small repository of Markdown and
source files, runs the script as make docs-check does, and checks its exit status and what it names."""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-docs.py")


class CheckDocs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = os.path.join(self.tmp.name, "repo")
        os.makedirs(os.path.join(self.root, "docs"))
        self.write("README.md", "# Read me\n\nShort.\n")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def run_check(self, *args):
        p = subprocess.run([sys.executable, SCRIPT, "--root", self.root, *args], cwd=self.root,
                           capture_output=True, text=True, check=False)
        return p.returncode, p.stdout, p.stderr

    def assert_passes(self):
        code, out, err = self.run_check()
        self.assertEqual(code, 0, f"check-docs = {code}, stderr:\n{err}; want 0")
        self.assertEqual(err, "")

    def assert_fails(self, *want):
        code, _, err = self.run_check()
        self.assertEqual(code, 1, f"check-docs = {code}, stderr:\n{err}; want 1")
        for w in want:
            self.assertIn(w, err)
        return err

    # Prose blocks.

    def test_paragraph_of_600_passes_601_fails(self):
        self.write("docs/a.md", "# A\n\n" + "x" * 600 + "\n")
        self.assert_passes()
        self.write("docs/a.md", "# A\n\n" + "x" * 601 + "\n")
        self.assert_fails("docs/a.md:3: a prose block of 601 characters (at most 600)")

    def test_lines_are_stripped_and_joined_with_one_space(self):
        self.write("docs/a.md", "# A\n\n" + "a" * 300 + "   \n   " + "b" * 299 + "\n")
        self.assert_passes()  # 300 + 1 + 299
        self.write("docs/a.md", "# A\n\n" + "a" * 300 + "   \n   " + "b" * 300 + "\n")
        self.assert_fails("docs/a.md:3: a prose block of 601 characters")

    def test_blank_line_ends_a_block(self):
        self.write("docs/a.md", "x" * 400 + "\n\n" + "y" * 400 + "\n")
        self.assert_passes()

    def test_list_items_are_blocks_without_their_marker(self):
        self.write("docs/a.md", textwrap.dedent(f"""\
            Intro.

            - {"a" * 600}
            - {"b" * 300}
              {"c" * 299}
              - {"d" * 600}
            10. {"e" * 600}
            """))
        self.assert_passes()
        self.write("docs/a.md", f"Intro.\n\n- {'a' * 10}\n- {'b' * 300}\n  {'c' * 300}\n")
        err = self.assert_fails("docs/a.md:4: a prose block of 601 characters")
        self.assertNotIn("docs/a.md:3:", err)

    def test_list_continuation_indented_four_is_prose_not_code(self):
        self.write("docs/a.md", f"1. {'a' * 300}\n\n    {'b' * 601}\n")
        self.assert_fails("docs/a.md:3: a prose block of 601 characters")

    def test_blockquote_counts_without_its_markers(self):
        self.write("docs/a.md", f"> {'q' * 300}\n> {'q' * 299}\n")
        self.assert_passes()
        self.write("docs/a.md", f"> {'q' * 300}\n> {'q' * 300}\n")
        self.assert_fails("docs/a.md:1: a prose block of 601 characters")

    def test_code_tables_headings_and_comments_do_not_count(self):
        long = "z " * 1000
        self.write("docs/a.md", textwrap.dedent(f"""\
            # {long}

            ```sh
            {long}
            ```

            ~~~~
            ```
            {long}
            ~~~~

                {long}

            | a | b |
            |---|---|
            | {long} | x |

            <!-- {long} -->

            - item
              ```
              {long}
              ```
            """))
        self.assert_passes()

    def test_readme_is_checked_by_default(self):
        self.write("README.md", "x" * 601 + "\n")
        self.assert_fails("README.md:1: a prose block of 601 characters")

    def test_files_named_on_the_command_line(self):
        self.write("CONTRIBUTING.md", "x" * 601 + "\n")
        self.assert_passes()  # not in the default set
        code, _, err = self.run_check("CONTRIBUTING.md")
        self.assertEqual(code, 1)
        self.assertIn("CONTRIBUTING.md:1: a prose block of 601 characters", err)
        code, _, err = self.run_check("missing.md")
        self.assertEqual(code, 2, err)

    def test_max_flag(self):
        self.write("docs/a.md", "x" * 101 + "\n")
        code, _, err = self.run_check("--max", "100")
        self.assertEqual(code, 1)
        self.assertIn("docs/a.md:1: a prose block of 101 characters (at most 100)", err)

    # Links.

    def test_links_that_resolve(self):
        self.write("pkg/x/x.go", "package x\n\nfunc X() {}\n")
        self.write("docs/b.md", textwrap.dedent("""\
            # Title

            ## The `app_secret_ref` field: plain, or JSON?

            ## Repeated

            ## Repeated

            ## [Linked](https://example.com) heading

            Setext heading
            --------------

            <a name="custom"></a>
            """))
        self.write("docs/a.md", textwrap.dedent("""\
            # Here

            [b](b.md), [title](b.md#title), [field](b.md#the-app_secret_ref-field-plain-or-json),
            [second](b.md#repeated-1), [linked](b.md#linked-heading), [setext](b.md#setext-heading),
            [custom](b.md#custom), [self](#here), [root](../README.md), [dir](../pkg/x),
            [go](../pkg/x/x.go), [line](../pkg/x/x.go#L3), [lines](../pkg/x/x.go#L1-L3),
            ![img](../pkg/x/x.go "a title"), [web](https://example.com/x#y), [mail](mailto:a@b.c),
            [nested [brackets]](b.md), [spaced](<b.md>), [encoded](b%2Emd).

            [ref]: b.md#repeated
            """))
        self.assert_passes()

    def test_links_that_do_not_resolve(self):
        self.write("pkg/x/x.go", "package x\n\nfunc X() {}\n")
        self.write("docs/b.md", "# Title\n\n## Repeated\n\n## Repeated\n")
        cases = [
            ("[x](missing.md)", "link missing.md: no such file or directory"),
            ("[x](b.md#nope)", "link b.md#nope: no heading with the anchor #nope"),
            ("[x](b.md#repeated-2)", "no heading with the anchor #repeated-2"),
            ("[x](#nope)", "link #nope: no heading with the anchor #nope"),
            ("[x](../pkg/x/y.go)", "no such file or directory"),
            ("[x](../pkg/x/x.go#L4)", "line 4 is past the end of the file (3 lines)"),
            ("[x](../pkg/x/x.go#L2-L9)", "line 9 is past the end of the file (3 lines)"),
            ("[x](../pkg/x/x.go#func)", "into a file that is not Markdown"),
            ("[x](../pkg/x#L1)", "an anchor into a directory"),
            ("[x](../../outside.md)", "leaves the repository"),
            ("| a | [x](gone.md) |", "link gone.md: no such file"),
            ("[ref]: gone.md", "link gone.md: no such file"),
        ]
        open(os.path.join(self.tmp.name, "outside.md"), "w").close()
        for text, want in cases:
            with self.subTest(text=text):
                self.write("docs/a.md", f"# Here\n\nFirst.\n\n{text}\n")
                self.assert_fails(f"docs/a.md:5: ", want)

    def test_a_link_that_wraps_is_read_whole_and_named_by_its_line(self):
        self.write("docs/a.md", "# A\n\nSee [the\nother page](gone.md) and\n[this `code\nspan`](#a).\n")
        err = self.assert_fails("docs/a.md:4: link gone.md: no such file or directory")
        self.assertNotIn("#a", err)

    def test_an_ordered_marker_other_than_1_continues_a_paragraph(self):
        self.write("docs/a.md", "# A\n\n" + "x" * 300 + "\n2026. " + "y" * 294 + "\n")
        self.assert_fails("docs/a.md:3: a prose block of 601 characters")
        self.write("docs/a.md", "# A\n\n" + "x" * 300 + "\n1. " + "y" * 297 + "\n")
        self.assert_passes()  # a list starting at 1 interrupts it

    def test_links_in_code_are_not_links(self):
        self.write("docs/a.md", "# A\n\nSee `[x](missing.md)`.\n\n```\n[x](missing.md)\n```\n")
        self.assert_passes()

    # --report.

    def test_report_lists_every_offender_longest_first_and_exits_0(self):
        self.write("docs/a.md", "# A\n\n" + "a" * 700 + "\n\n" + "b" * 900 + "\n\n[x](gone.md)\n")
        self.write("README.md", "r" * 650 + "\n")
        code, out, err = self.run_check("--report")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "3 prose block(s) over 600 characters:")
        self.assertTrue(lines[1].startswith("  docs/a.md:5: 900  bbb"), lines[1])
        self.assertTrue(lines[2].startswith("  docs/a.md:3: 700  aaa"), lines[2])
        self.assertTrue(lines[3].startswith("  README.md:1: 650  rrr"), lines[3])
        self.assertEqual(lines[4], "1 link(s) that do not resolve:")
        self.assertEqual(lines[5], "  docs/a.md:7: gone.md: no such file or directory")


class MakeHelp(unittest.TestCase):
    """CONTRIBUTING.md says make help lists every target: every .PHONY target has a "## " line."""

    def test_every_phony_target_has_help(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(root, "Makefile"), encoding="utf-8") as f:
            text = f.read()
        phony = set()
        helped = set()
        for line in text.splitlines():
            if line.startswith(".PHONY:"):
                phony.update(line.split(":", 1)[1].split())
            m = re.match(r"^([A-Za-z-]+):.*## ", line)  # the pattern make help greps for
            if m:
                helped.add(m.group(1))
        self.assertTrue(phony, "no .PHONY target found in the Makefile")
        self.assertEqual(sorted(phony - helped), [], "targets make help does not list")


if __name__ == "__main__":
    unittest.main()
