"""Tests of generate.py (R-452): `python3 -m unittest discover -s benches/hot-text`."""
import os
import tempfile
import unittest

import generate

A = "_ZN13rustchain_mcp6server5serve17h0123456789abcdefE"
GENERIC_1 = "_ZN5tokio7runtime4task3raw4poll17h1111111111111111E"
GENERIC_2 = "_ZN5tokio7runtime4task3raw4poll17h2222222222222222E"
COLD = "_ZN4clap5parse17h3333333333333333E"
STD = "_RNvNtCs1234_3std2io5stdin"

PROFILE = f"""\
version: 1
events: Ir
ob=(1) /lib/x86_64-linux-gnu/libc.so.6
fn=(1) memcpy
0 5
ob=(2) /target/release/mcp-fixture-server
fn=(2) {A}
0 10
cfn=(3) {GENERIC_2}
calls=1 0
0 3
fn=(3)
0 4
cob=(1)
cfn=(1)
calls=1 0
0 1
fn=(4) {STD}
0 2
"""


class Generate(unittest.TestCase):
    def setUp(self):
        folder = tempfile.mkdtemp()
        self.profile = os.path.join(folder, "profile")
        with open(self.profile, "w") as f:
            f.write(PROFILE)

    def test_only_the_binarys_own_functions_that_ran(self):
        ran = generate.executed_functions(self.profile, "mcp-fixture-server")
        self.assertEqual(ran, {A, GENERIC_2, STD})

    def test_a_unique_name_matches_any_hash_and_a_generic_keeps_its_own(self):
        symbols = {A: 0x3000, GENERIC_1: 0x1000, GENERIC_2: 0x2000, COLD: 0x500, STD: 0x4000}
        ran = generate.executed_functions(self.profile, "mcp-fixture-server")
        self.assertEqual(
            generate.patterns(ran, symbols),
            [GENERIC_2 + "*", "_ZN13rustchain_mcp6server5serve17h*E*", STD],
        )

    def test_a_function_missing_from_the_binary_is_left_out(self):
        ran = generate.executed_functions(self.profile, "mcp-fixture-server")
        self.assertEqual(generate.patterns(ran, {STD: 1}), [STD])

    def test_the_script_inserts_one_section_before_text(self):
        text = generate.script(["a*", "b"], "note")
        self.assertIn("  .text.hot : {\n    *(.text.a*)\n    *(.text.b)\n  }", text)
        self.assertTrue(text.rstrip().endswith("INSERT BEFORE .text;"))
        self.assertTrue(text.startswith("/* note */"))


if __name__ == "__main__":
    unittest.main()
