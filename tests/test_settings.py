"""One table of settings drives the options, the ini keys, the resolved values and --compress-list."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError
from pytest_compress.plugin import Settings
from pytest_compress.settings import SETTINGS, parse_value


def test_the_table_is_every_option_ini_key_and_listed_value(pytester):
    config = pytester.parseconfig()
    group = config._parser.getgroup("compress")
    options = {name for option in group.options for name in option.names()}
    assert options == {s.option for s in SETTINGS.values()}
    inis = {name for name in config._parser._inidict if name.startswith("compress")}
    assert inis == {s.ini for s in SETTINGS.values() if s.ini}
    resolved = [s.key for s in SETTINGS.values() if s.resolved]
    settings = Settings.from_config(config, require_specs=False)
    assert list(settings.values) == resolved
    assert all(settings.values[s.key] == s.default for s in SETTINGS.values() if s.resolved)
    listed = pytester.runpytest("--compress-list").stdout.lines
    shown = [line.split(" = ")[0].strip() for line in listed[listed.index(
        "Effective configuration (value <- where it came from: cli > ini > default):") + 1:] if " = " in line]
    assert shown == resolved
    help_text = pytester.runpytest("--help").stdout.str()
    assert all(s.option in help_text for s in SETTINGS.values())


@pytest.mark.parametrize("key, text, message", [
    ("cases", "0", "expected a positive integer, got '0'"),
    ("seed", "x", "expected an integer, got 'x'"),
    ("decision", "strictest", "compress_decision must be one of point, strict, lenient, got 'strictest'"),
])
def test_the_command_line_and_the_ini_refuse_a_value_alike(pytester, key, text, message):
    setting = SETTINGS[key]
    from_cli = pytester.runpytest(f"{setting.option}={text}")
    pytester.makeini(f"[pytest]\n{setting.ini} = {text}\n")
    from_ini = pytester.runpytest("--compress=none", "--compress-model=tiny")
    for result in (from_cli, from_ini):
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert message in result.stderr.str()


@given(st.sampled_from([s for s in SETTINGS.values() if s.choices]), st.data())
def test_choices_are_case_insensitive_and_nothing_else_passes(setting, data):
    choice = data.draw(st.sampled_from(setting.choices))
    assert parse_value(setting, choice.upper()) == choice
    other = data.draw(st.text(min_size=1, max_size=8).filter(lambda t: t.lower() not in setting.choices))
    with pytest.raises(CompressUsageError, match="must be one of"):
        parse_value(setting, other)
