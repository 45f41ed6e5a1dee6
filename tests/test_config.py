from __future__ import annotations

import pathlib
import typing as t

import pytest
from werkzeug.test import Client

from wsgi_flash import FlashMiddleware, flash, get_flashed_messages
from wsgi_flash.cli import main as cli_main
from wsgi_flash.config import OPTIONS, SECTIONS, Config, ConfigError, options_of, stack
from wsgi_flash.hooks import RequestHooks
from wsgi_flash.malformed import MalformedRequestLogger
from wsgi_flash.proxy_fix import ProxyFix

SECRET = "config-test-secret-key-0123456789"
OLD = "config-test-older-key-0123456789"


def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("REMOTE_ADDR", "-").encode()]


def chain(wrapped: t.Any) -> list[str]:
    """Class names from the outermost middleware down to the app."""
    names = []
    while hasattr(wrapped, "app"):
        names.append(type(wrapped).__name__)
        wrapped = wrapped.app
    return names


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "wsgi_flash.toml"
    path.write_text(text, encoding="utf-8")
    return path


FULL = f"""
secret_key = "{SECRET}"
fallback_secret_keys = ["{OLD}"]

[flash]
cookie_name = "messages"

[proxy]
x_for = 2
trusted_proxies = ["10.0.0.0/8", "loopback"]

[malformed]
reject = ["uri.percent_encoding"]

[hooks]
propagate_exceptions = true
"""


def test_file_builds_all_four_in_order(tmp_path: pathlib.Path) -> None:
    config = Config.load(write(tmp_path, FULL))
    wrapped = config.wrap(app)
    assert chain(wrapped) == [
        "ProxyFix",
        "MalformedRequestLogger",
        "FlashMiddleware",
        "RequestHooks",
    ]
    flash_middleware = wrapped.app.app  # type: ignore[attr-defined]
    assert isinstance(flash_middleware, FlashMiddleware)
    assert flash_middleware.cookie_name == "messages"
    assert flash_middleware.fallback_secret_keys == (OLD,)


def test_only_configured_middlewares_are_added(tmp_path: pathlib.Path) -> None:
    assert chain(Config.load(write(tmp_path, f'secret_key = "{SECRET}"')).wrap(app)) == [
        "FlashMiddleware"
    ]
    assert chain(Config.load(write(tmp_path, "[proxy]\nx_for = 1\n")).wrap(app)) == ["ProxyFix"]
    assert Config.load(write(tmp_path, "")).wrap(app) is app


def test_enabled_false_turns_a_section_off(tmp_path: pathlib.Path) -> None:
    text = (
        f'secret_key = "{SECRET}"\n[flash]\nenabled = false\n[proxy]\nenabled = false\nx_for = 1\n'
    )
    assert Config.load(write(tmp_path, text)).wrap(app) is app


def test_environment_variables_are_converted() -> None:
    environ = {
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_FALLBACK_SECRET_KEYS": f"{OLD}, {OLD}x",
        "WSGI_FLASH_FLASH_MAX_AGE": "60",
        "WSGI_FLASH_FLASH_SECURE": "true",
        "WSGI_FLASH_PROXY_X_FOR": "2",
        "WSGI_FLASH_PROXY_TRUSTED_PROXIES": "10.0.0.0/8,loopback",
        "WSGI_FLASH_MALFORMED_REJECT": "true",
        "WSGI_FLASH_HOOKS_ENABLED": "1",
        "UNRELATED": "ignored",
    }
    config = Config.load(environ=environ)
    assert config.options("flash") == {
        "secret_key": SECRET,
        "fallback_secret_keys": (OLD, OLD + "x"),
        "max_age": 60.0,
        "secure": True,
    }
    assert config.options("proxy") == {"x_for": 2, "trusted_proxies": ("10.0.0.0/8", "loopback")}
    assert config.options("malformed") == {"reject": True}
    assert chain(config.wrap(app)) == [
        "ProxyFix",
        "MalformedRequestLogger",
        "FlashMiddleware",
        "RequestHooks",
    ]


def test_precedence_file_then_environment_then_keywords(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "[proxy]\nx_for = 1\nx_proto = 1\nx_host = 1\n")
    environ = {
        "WSGI_FLASH_CONFIG": str(path),
        "WSGI_FLASH_PROXY_X_PROTO": "2",
        "WSGI_FLASH_PROXY_X_HOST": "2",
    }
    config = Config.load(environ=environ, proxy={"x_host": 3})
    assert config.options("proxy") == {"x_for": 1, "x_proto": 2, "x_host": 3}
    assert config.origins[("proxy", "x_for")] == str(path)
    assert config.origins[("proxy", "x_proto")] == "environment variable WSGI_FLASH_PROXY_X_PROTO"
    assert config.origins[("proxy", "x_host")] == "keyword argument"


@pytest.mark.parametrize(
    ("text", "environ", "words"),
    [
        pytest.param(
            "colour = 1\n", {}, ["{file}", "unknown key 'colour'"], id="unknown-top-level"
        ),
        pytest.param(
            "[proxy]\nx_four = 1\n", {}, ["{file}", "unknown key proxy.x_four"], id="unknown-option"
        ),
        pytest.param(
            "[proxy]\napp = 1\n", {}, ["{file}", "unknown key proxy.app"], id="app-is-not-an-option"
        ),
        pytest.param(
            "proxy = 3\n", {}, ["{file}", "proxy must be a table"], id="section-not-table"
        ),
        pytest.param("[proxy]\nx_for = -1\n", {}, ["{file}", "[proxy]", "x_for"], id="bad-value"),
        pytest.param(
            "[flash]\nmax_age = 'soon'\n",
            {"WSGI_FLASH_SECRET_KEY": SECRET},
            ["{file}", "max_age"],
            id="wrong-type",
        ),
        pytest.param(
            "[flash]\ncookie_name = 'x'\n",
            {},
            ["{file}", "no secret_key", "WSGI_FLASH_SECRET_KEY"],
            id="missing-secret",
        ),
        pytest.param("x = [\n", {}, ["{file}", "not valid TOML"], id="bad-toml"),
        pytest.param(
            "",
            {"WSGI_FLASH_PROXY_X_FOR": "one"},
            ["WSGI_FLASH_PROXY_X_FOR", "expected a number"],
            id="env-not-number",
        ),
        pytest.param(
            "", {"WSGI_FLASH_COLOUR": "1"}, ["WSGI_FLASH_COLOUR", "unknown"], id="env-unknown"
        ),
        pytest.param(
            "",
            {"WSGI_FLASH_FLASH_SECURE": "maybe"},
            ["WSGI_FLASH_FLASH_SECURE", "boolean"],
            id="env-not-bool",
        ),
    ],
)
def test_mistakes_fail_at_start_naming_key_and_source(
    tmp_path: pathlib.Path, text: str, environ: dict[str, str], words: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        Config.load(path, environ=environ)
    for word in words:
        assert word.format(file=path) in str(info.value)


@pytest.mark.parametrize(
    ("source", "secret"),
    [
        pytest.param("file", "short-secret", id="file-too-short"),
        pytest.param("env", "short-secret", id="env-too-short"),
    ],
)
def test_secrets_are_never_printed(tmp_path: pathlib.Path, source: str, secret: str) -> None:
    if source == "file":
        kwargs: dict[str, t.Any] = {"file": write(tmp_path, f'secret_key = "{secret}"\n')}
    else:
        kwargs = {"environ": {"WSGI_FLASH_SECRET_KEY": secret}}
    with pytest.raises(ConfigError) as info:
        Config.load(**kwargs)
    assert "secret_key" in str(info.value) and secret not in str(info.value)
    described = Config.load(secret_key=SECRET, fallback_secret_keys=[OLD]).describe()
    assert SECRET not in described and OLD not in described
    assert "secret_key=<hidden>" in described and "<1 hidden key(s)>" in described


def test_stack_keywords_and_order() -> None:
    def read_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [])
        return [repr(get_flashed_messages(environ)).encode()]

    hooks = RequestHooks(read_app)

    @hooks.before_request
    def login_gate(request: t.Any) -> t.Any:
        if request.path == "/private":
            flash(request, "Log in first.", "error")
            return "", 303, {"Location": "/login"}
        return None

    application = stack(hooks, secret_key=SECRET, proxy={"x_for": 1}, malformed={})
    assert chain(application) == [
        "ProxyFix",
        "MalformedRequestLogger",
        "FlashMiddleware",
        "RequestHooks",
    ]
    client = Client(application)
    assert client.get("/private").status_code == 303
    assert client.get("/login").text == "['Log in first.']"


def test_stack_rejects_config_and_options_together() -> None:
    with pytest.raises(TypeError, match="either a Config or options"):
        stack(app, Config(), secret_key=SECRET)


@pytest.mark.parametrize(
    ("section", "option", "value", "expected"),
    [
        pytest.param("proxy", "remove_untrusted_headers", "yes", True, id="bool-yes"),
        pytest.param("malformed", "log_client_errors", "OFF", False, id="bool-off"),
        pytest.param("flash", "secure", "none", None, id="optional-none"),
        pytest.param("flash", "domain", "None", None, id="optional-str-none"),
        pytest.param("proxy", "x_for", " 8 ", 8, id="int"),
        pytest.param("flash", "max_age", "2.5", 2.5, id="float"),
        pytest.param("malformed", "enable", "a, b ,c", ("a", "b", "c"), id="list"),
        pytest.param("malformed", "reject", "true", True, id="list-or-bool"),
        pytest.param("flash", "rate_limit", "20, 60", (20, 60.0), id="pair"),
        pytest.param("flash", "samesite", "Strict", "Strict", id="literal"),
        pytest.param("flash", "secret_key", " a key ", " a key ", id="secret-as-given"),
        pytest.param(
            "hooks", "request_class", "webob:Request", __import__("webob").Request, id="class"
        ),
    ],
)
def test_text_conversion(section: str, option: str, value: str, expected: t.Any) -> None:
    assert OPTIONS[section][option].read(value, text=True) == expected
    config = Config()
    config.merge({section: {option: value}}, "test", text=True)
    assert config.sections[section][option] == expected


def test_toml_list_becomes_tuple_where_expected() -> None:
    assert OPTIONS["flash"]["rate_limit"].read([5, 30], text=False) == (5, 30)
    assert OPTIONS["proxy"]["trusted_proxies"].read(["a"], text=False) == ["a"]


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_table_has_every_option_of_every_middleware(section: str) -> None:
    """A new keyword option of a middleware needs its converter here."""
    assert set(OPTIONS[section]) == set(options_of(section))


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        pytest.param({"WSGI_FLASH_FLASH_PATH": "no-slash"}, "WSGI_FLASH_FLASH_PATH", id="path"),
        pytest.param(
            {"WSGI_FLASH_FLASH_COOKIE_NAME": "a b"}, "WSGI_FLASH_FLASH_COOKIE_NAME", id="name"
        ),
        pytest.param({"WSGI_FLASH_SECRET_KEY": "short"}, "WSGI_FLASH_SECRET_KEY", id="secret"),
    ],
)
def test_a_value_the_middleware_refuses_names_its_variable(
    environ: dict[str, str], named: str
) -> None:
    """The error names the variable of the option the middleware refuses,
    not another option that its message happens to mention."""
    environ = {
        "WSGI_FLASH_SECRET_KEY": SECRET,
        "WSGI_FLASH_FLASH_MAX_AGE": "60",
        "WSGI_FLASH_FLASH_COOKIE_NAME": "messages",
        **environ,
    }
    with pytest.raises(ConfigError) as info:
        Config.load(environ=environ)
    where = str(info.value).split(": ", 1)[0]
    assert where == f"environment variable {named}"


def test_cli_check_prints_stack_without_secret(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WSGI_FLASH_CONFIG", raising=False)
    assert cli_main(["check", "--config", str(write(tmp_path, FULL))]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert out.splitlines()[0].startswith("proxy: ProxyFix(")
    assert "flash: FlashMiddleware(cookie_name='messages'" in out


def test_cli_check_reports_mistake(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSGI_FLASH_CONFIG", raising=False)
    with pytest.raises(SystemExit, match=r"unknown key proxy\.x_four"):
        cli_main(["check", "--config", str(write(tmp_path, "[proxy]\nx_four = 1\n"))])


def test_cli_lists_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["checks"]) == 0
    assert "uri.percent_encoding" in capsys.readouterr().out


def test_middleware_classes_match_sections() -> None:
    assert isinstance(Config.load(proxy={}).wrap(app), ProxyFix)
    assert isinstance(Config.load(malformed={}).wrap(app), MalformedRequestLogger)
