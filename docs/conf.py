"""Sphinx configuration for the wsgi_flash documentation.

Built by ``make docs`` (``sphinx-build -W -n --keep-going -b html docs
docs/_build/html``): warnings are errors and every cross-reference must
resolve, so a renamed class or option breaks the build, not the reader.
Nothing is fetched from the network at build time.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package from this checkout
sys.path.insert(0, str(HERE / "_ext"))

import django.conf  # noqa: E402

import wsgi_flash  # noqa: E402

# wsgi_flash.django reads Django settings lazily; autodoc looks at them.
django.conf.settings.configure(INSTALLED_APPS=["django.contrib.messages"])

project = "wsgi_flash"
author = "the wsgi_flash authors"
copyright = "the wsgi_flash authors"
release = wsgi_flash.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "wsgi_flash_docs",  # docs/_ext: the check catalogue and options tables, from the code
]

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"wsgi_flash {release}"
pygments_style = "sphinx"

nitpicky = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_inherit_docstrings = False
autodoc_default_options = {"members": True, "show-inheritance": False}

# Names the docstrings and signatures mention that belong to other
# projects: there is no intersphinx (no network at build time), so they
# cannot resolve and are listed here instead.
_EXTERNAL_PACKAGES = (
    "t|typing|os|datetime|inspect|ipaddress|logging|collections|_typeshed|werkzeug"
    "|flask|django|pyramid|webob|markupsafe|itsdangerous|gunicorn|paste|prometheus_client"
)
nitpick_ignore_regex = [
    # The standard library, the dependencies and the frameworks adapted to.
    (r"py:.*", rf"({_EXTERNAL_PACKAGES})\..*"),
    # Their names as the signatures spell them after an import.
    (
        r"py:.*",
        r"WSGIApplication|WSGIEnvironment|StartResponse|Request|Response|Flask"
        r"|SessionMixin|SessionInterface|null_session_class|HttpRequest|HttpResponseBase"
        r"|Registry|Configurator|ImproperlyConfigured|ConfigurationError|timedelta"
        r"|CollectorRegistry",
    ),
    # Literal[...] values in signatures.
    (r"py:class", r"'[^']*'"),
    # Private helpers a public signature mentions.
    (r"py:class", r"wsgi_flash\._[\w.]+|wsgi_flash\.config\.Option"),
    # Type aliases and type variables of the package, not documented objects.
    (r"py:class", r"(wsgi_flash\.[\w.]+\.)?(IPAddress|IPNetwork|F)"),
]

# linkcheck: only what lives in this repository. Every external URL is
# skipped, so the check needs no network and cannot flake.
linkcheck_ignore = [r"https?://.*", r"mailto:.*"]
linkcheck_anchors = False
