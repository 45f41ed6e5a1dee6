"""Settings of the small Django project the Django tests run: Django's
messages framework on the wsgi_flash cookie, configured the documented way.

In-process tests apply them with ``override_settings(**SETTINGS)``; a
gunicorn subprocess loads the module as ``DJANGO_SETTINGS_MODULE``.
"""

from __future__ import annotations

#: The flash cookie's key, which the Flask and Pyramid apps in the tests share.
FLASH_KEY = "django-tests-shared-flash-key-0123456789"

SECRET_KEY = "django-tests-own-secret-key-not-shared-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "tests.django_urls"
INSTALLED_APPS = ["django.contrib.messages"]
MIDDLEWARE = [
    "wsgi_flash.django.FlashMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
MESSAGE_STORAGE = "wsgi_flash.django.FlashStorage"
WSGI_FLASH = {"secret_key": FLASH_KEY}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "messages.html": "{% for m in messages %}"
                        "[{{ m.level }}|{{ m.tags }}|{{ m }}]{% endfor %}",
                        "flashed.html": "{% for category, message in flashed_messages %}"
                        "[{{ category }}:{{ message }}]{% endfor %}",
                    },
                )
            ],
            "context_processors": [
                "django.contrib.messages.context_processors.messages",
                "wsgi_flash.django.flash_messages",
            ],
        },
    }
]

SETTINGS = {name: value for name, value in dict(globals()).items() if name.isupper()}
