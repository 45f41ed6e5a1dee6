"""PasteDeploy filters
=====================

``paste.filter_app_factory`` entry points, so Pyramid and other PasteDeploy
users configure the middlewares in their ``.ini``:

.. code-block:: ini

    [pipeline:main]
    pipeline = proxy flash myapp

    [filter:flash]
    use = egg:wsgi_flash#flash
    secret_key = %(flash_secret)s
    cookie_name = messages

    [filter:proxy]
    use = egg:wsgi_flash#proxy_fix
    x_for = 1
    trusted_proxies = 10.0.0.0/8, loopback

``egg:wsgi_flash#stack`` takes ``config = path.toml``, ``secret_key`` and
``section.option`` keys (``proxy.x_for = 1``) and builds the whole stack.
Values are text, converted as environment variables are, by each option's
entry in :data:`wsgi_flash.config.OPTIONS`.
"""

from __future__ import annotations

import typing as t

from .config import Config

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def _origin(global_conf: t.Mapping[str, t.Any], name: str) -> str:
    return f"{global_conf.get('__file__', 'PasteDeploy configuration')} (egg:wsgi_flash#{name})"


def _section_filter(section: str, name: str) -> t.Callable[..., WSGIApplication]:
    def factory(
        app: WSGIApplication, global_conf: t.Mapping[str, t.Any], **local_conf: str
    ) -> WSGIApplication:
        config = Config()
        options: dict[str, t.Any] = dict(local_conf)
        if section == "flash":
            options.setdefault("enabled", "true")
        config.merge({section: options}, _origin(global_conf, name), text=True)
        config.validate()
        return config.wrap(app)

    factory.__name__ = name
    factory.__doc__ = f"PasteDeploy filter: wrap the app in the {section} middleware."
    return factory


flash = _section_filter("flash", "flash")
proxy_fix = _section_filter("proxy", "proxy_fix")
malformed = _section_filter("malformed", "malformed")
hooks = _section_filter("hooks", "hooks")


def stack(
    app: WSGIApplication, global_conf: t.Mapping[str, t.Any], **local_conf: str
) -> WSGIApplication:
    """PasteDeploy filter: the whole configured stack."""
    origin = _origin(global_conf, "stack")
    file = local_conf.pop("config", None)
    config = Config.load(file) if file else Config()
    data: dict[str, t.Any] = {}
    for key, value in local_conf.items():
        section, dot, option = key.partition(".")
        if dot:
            data.setdefault(section, {})[option] = value
        else:
            data[key] = value
    config.merge(data, origin, text=True)
    config.validate()
    return config.wrap(app)
