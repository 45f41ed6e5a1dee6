"""Request hooks
=============

Flask's request hooks (before, after, teardown, before-first,
after-this-request, error handlers and blueprint-like path scopes) around
any WSGI app, run in Flask 3's order.
"""

from __future__ import annotations

import builtins
import logging
import threading
import typing as t

from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions
from werkzeug.wrappers import Request

from .._logging import escape
from .._wsgi import ClosingIterator, get_environ
from ..exceptions import HeadersAlreadySentError, NotInstalledError
from ._response import Capture, flavour_for, hook_name

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("wsgi_flash.hooks")

#: Environ key of the request state :func:`after_this_request` adds to.
CALLBACKS_KEY = "wsgi_flash.hooks.request"

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
Hook = t.Callable[..., t.Any]


def after_this_request(environ_or_request: t.Any, fn: F) -> F:
    """Run ``fn(request, response)`` after this request only, before the
    registered after hooks; it must return the response. Returns ``fn``.

    :param environ_or_request: the WSGI environ or a request object.
    :param fn: the callback.
    """
    environ = get_environ(environ_or_request, "after_this_request")
    callbacks = environ.get(CALLBACKS_KEY)
    if callbacks is _FINALIZED:
        raise HeadersAlreadySentError(
            "after_this_request() was called after this request's after hooks started;"
            " call it from the app, a before hook or an error handler"
        )
    if type(callbacks) is not list:
        raise NotInstalledError(
            "after_this_request() needs RequestHooks around the app: app = RequestHooks(app)"
        )
    callbacks.append(fn)
    return fn


#: What the environ holds in place of the request's after_this_request
#: callbacks once its after hooks started.
_FINALIZED = ("after hooks started",)


def _clean_prefix(prefix: str) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"a scope prefix is a str like '/admin', not {type(prefix).__name__}")
    cleaned = prefix.rstrip("/")
    if not cleaned.startswith("/"):
        raise ValueError(
            f"scope prefix {prefix!r} must start with '/' and name a path below the root,"
            " like '/admin'; register hooks for every path on RequestHooks itself"
        )
    return cleaned


def _exception_class(key: t.Any) -> type[Exception]:
    if isinstance(key, int) and not isinstance(key, bool):
        if key not in default_exceptions:
            raise ValueError(f"{key} is not an HTTP error code; use 400-599 or an exception class")
        return default_exceptions[key]
    if isinstance(key, type) and issubclass(key, Exception):
        return key
    raise TypeError(
        f"errorhandler() takes an Exception subclass or an HTTP error code, not {key!r}"
    )


def _callable(hook: F, decorator: str) -> F:
    if not callable(hook):
        raise TypeError(f"{decorator}() registers a function, not {hook!r}")
    return hook


class HookScope:
    """Hooks for the requests whose ``PATH_INFO`` is ``prefix`` or starts
    with ``prefix + "/"``, like a Flask blueprint with that ``url_prefix``.
    Made by :meth:`RequestHooks.scope` (or :meth:`scope` of a scope, for a
    nested one); has the same decorators.

    .. code-block:: python

        admin = hooks.scope("/admin")

        @admin.before_request
        def require_login(request):
            if "user" not in request.cookies:
                return "", 302, {"Location": "/login"}

    :param hooks: the :class:`RequestHooks` this scope belongs to.
    :param prefix: the path prefix, starting with ``/``.

    .. versionadded:: 0.1.0
    """

    def __init__(self, hooks: RequestHooks, prefix: str) -> None:
        self.prefix = prefix
        self._hooks = hooks
        self._before: list[Hook] = []
        self._after: list[Hook] = []
        self._teardown: list[Hook] = []
        self._first: list[Hook] = []
        self._first_pending = False
        self._first_lock = threading.Lock()
        # HTTP code (None for other exceptions) -> exception class -> handler
        self._error_handlers: dict[int | None, dict[type[Exception], Hook]] = {}

    def before_request(self, f: F) -> F:
        """Register ``f(request)``; a non-None return is the response."""
        self._before.append(_callable(f, "before_request"))
        self._hooks._rebuild()
        return f

    def after_request(self, f: F) -> F:
        """Register ``f(request, response)``; it must return a response."""
        self._after.append(_callable(f, "after_request"))
        self._hooks._rebuild()
        return f

    def teardown_request(self, f: F) -> F:
        """Register ``f(request, exc)``, run when the response is closed."""
        self._teardown.append(_callable(f, "teardown_request"))
        self._hooks._rebuild()
        return f

    def before_first_request(self, f: F) -> F:
        """Register ``f(request)``, run once before the first request here."""
        self._first.append(_callable(f, "before_first_request"))
        self._first_pending = True
        self._hooks._rebuild()
        return f

    def errorhandler(self, key: type[Exception] | int) -> t.Callable[[F], F]:
        """Register ``f(request, exc)`` for ``key`` (an exception class or an
        HTTP code; ``500`` handles unhandled errors)."""
        exc_class = _exception_class(key)

        def register(f: F) -> F:
            self.register_error_handler(exc_class, f)
            return f

        return register

    def register_error_handler(self, key: type[Exception] | int, f: F) -> F:
        """The plain-call form of :meth:`errorhandler`."""
        exc_class = _exception_class(key)
        code = exc_class.code if issubclass(exc_class, HTTPException) else None
        self._error_handlers.setdefault(code, {})[exc_class] = _callable(f, "errorhandler")
        self._hooks._rebuild()
        return f

    def scope(self, prefix: str) -> HookScope:
        """The scope for ``prefix`` below this one (the same object each
        time for the same path)."""
        full = self.prefix + _clean_prefix(prefix)
        if full == self.prefix:
            raise ValueError(f"scope prefix {prefix!r} names no path below {self.prefix or '/'!r}")
        return self._hooks._scope_for(full)

    def _run_first(self, request: t.Any) -> None:
        with self._first_lock:
            if self._first_pending:
                for f in self._first:
                    f(request)
                self._first_pending = False


class _Plan:
    """The hooks of one chain of scopes (app first), in running order."""

    __slots__ = (
        "after",
        "before",
        "first_scopes",
        "handler_scopes",
        "request_factory",
        "request_needed",
        "teardown",
    )

    def __init__(self, chain: t.Sequence[HookScope], request_factory: t.Any) -> None:
        self.request_factory = request_factory
        inner_first = chain[::-1]
        self.before = [f for scope in chain for f in scope._before]
        self.after = [f for scope in inner_first for f in reversed(scope._after)]
        self.teardown = [f for scope in inner_first for f in reversed(scope._teardown)]
        self.first_scopes = tuple(scope for scope in chain if scope._first)
        self.handler_scopes = tuple(scope for scope in inner_first if scope._error_handlers)
        #: Every request here passes the request to a hook: make it at once.
        self.request_needed = bool(self.before or self.after or self.teardown or self.first_scopes)


class _Request:
    """The request of a :class:`_Call`, built on first use; from then on an
    ordinary instance attribute (this descriptor defines no ``__set__``),
    as cheap to read again as any other."""

    def __get__(self, call: _Call | None, owner: type[_Call]) -> t.Any:
        if call is None:
            return self
        # An instance attribute, not call.__dict__: reading __dict__ would turn
        # the call's compact attribute storage into a dict (+5,000 instructions).
        request = call.request = call.plan.request_factory(call.environ)
        return request


class _Call(Capture):
    """One request through :class:`RequestHooks`: the wrapped app's
    ``start_response`` call and what the hooks need to share.

    Nothing in the environ refers back to it: the environ holds the
    :func:`after_this_request` callbacks, not this object, and the request
    object is not registered as ``environ["werkzeug.request"]``. A cycle
    through the environ would leave every request to the garbage collector,
    which cost a busy gunicorn worker about 10 µs a request.
    """

    request = _Request()
    #: after_this_request callbacks, also in the environ until the after
    #: hooks start.
    callbacks: list[Hook]
    error: BaseException | None = None
    #: The hook or handler whose return value is the response, named in
    #: the error if it is not a valid one.
    responder: t.Any = None

    # Set by RequestHooks.__call__ right after creation. No __init__: calling
    # one costs about 1,000 instructions, as much as creating the object.
    environ: WSGIEnvironment
    plan: _Plan

    def teardown(self) -> None:
        """Run the teardown hooks, all of them; then raise their errors."""
        request = self.request
        # As Flask's teardown gets the unhandled exception: also one that the
        # app iterable's close() raised.
        exc = self.error if self.error is not None else self.close_error
        errors: list[Exception] = []
        for hook in self.plan.teardown:
            try:
                hook(request, exc)
            except Exception as error:
                logger.exception("Teardown hook %s failed", hook_name(hook))
                errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            group = getattr(builtins, "ExceptionGroup", None)
            if group is None:  # Python < 3.11
                raise errors[0]
            raise group(f"{len(errors)} teardown hooks failed", errors)


class _TeardownIterator(ClosingIterator):
    """Remembers an exception raised while streaming, or by the app
    iterable's ``close()``, for the teardown hooks that run on ``close()``."""

    __slots__ = ("_call",)

    def __init__(
        self, iterable: t.Iterable[bytes], callbacks: list[t.Callable[[], object]], call: _Call
    ) -> None:
        super().__init__(iterable, callbacks)
        self._call = call
        if iterable is call.app_iter:
            # The app's own iterable is closed through the call, which keeps
            # what its close() raised (close_error) for the teardown hooks.
            self._iterable = call

    def __next__(self) -> bytes:
        try:
            return next(self._iterator)
        except StopIteration:
            raise
        except BaseException as error:
            if self._call.error is None:
                self._call.error = error
            raise


class RequestHooks(HookScope):
    """Flask's request hooks, in Flask 3's order, around any WSGI ``app``.

    Hooks get the request (a Werkzeug :class:`~werkzeug.wrappers.Request`, or
    a ``webob.Request`` with ``request_class=webob.Request``, built once per
    request and only if a hook needs it). ``before_request`` hooks run app
    level first, then outer to inner scope; the first non-None return is the
    response and the app is skipped. ``after_request`` hooks run
    :func:`after_this_request` callbacks first, then inner scope to app, each
    in reverse registration order. ``teardown_request`` hooks run when the
    server closes the response, inner scope to app, all of them even if one
    raises. Exceptions go to the most specific ``errorhandler`` (scope before
    app), else become a logged 500.

    The response an after hook gets maps onto the wrapped app's call:
    ``status`` and ``headers`` are what the app passed to ``start_response``
    (changing them changes what the server gets), and the body is the app's
    iterable, unread: it streams straight to the server unless a hook reads
    or replaces it. A hook may also return a different response.

    .. code-block:: python

        from wsgi_flash.hooks import RequestHooks

        hooks = RequestHooks(app)

        @hooks.after_request
        def no_sniff(request, response):
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response

    :param app: the WSGI app to wrap.
    :param request_class: ``werkzeug.wrappers.Request`` (the default),
        ``webob.Request``, or a subclass of either; responses are of the
        matching library.
    :param propagate_exceptions: re-raise unhandled exceptions to the server
        (after the teardown hooks ran) instead of answering 500, as Flask
        does in debug and testing mode.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        request_class: type[t.Any] = Request,
        propagate_exceptions: bool = False,
    ) -> None:
        if not callable(app):
            raise TypeError(f"RequestHooks wraps a WSGI app (a callable), not {app!r}")
        if not isinstance(propagate_exceptions, bool):
            raise TypeError(
                f"propagate_exceptions must be True or False, not {propagate_exceptions!r}"
            )
        self.app = app
        self.request_class = request_class
        self.propagate_exceptions = propagate_exceptions
        self._flavour = flavour_for(request_class)
        self._request_factory = self._flavour.make_request
        self._response_class = self._flavour.response_class
        super().__init__(self, "")
        self._scopes: dict[str, HookScope] = {}
        self._root_plan = _Plan((self,), self._request_factory)
        self._matchers: list[tuple[str, str, _Plan]] = []

    def _scope_for(self, prefix: str) -> HookScope:
        scope = self._scopes.get(prefix)
        if scope is None:
            scope = self._scopes[prefix] = HookScope(self, prefix)
            self._rebuild()
        return scope

    def _rebuild(self) -> None:
        """Recompute the plans after a registration, so that a request only
        looks its plan up."""
        outer_first = sorted(self._scopes.values(), key=lambda scope: len(scope.prefix))
        matchers = []
        for scope in outer_first:
            under = scope.prefix + "/"
            chain = [
                self,
                *(s for s in outer_first if (scope.prefix + "/").startswith(s.prefix + "/")),
            ]
            matchers.append((scope.prefix, under, _Plan(chain, self._request_factory)))
        matchers.reverse()  # innermost prefix first
        self._root_plan = _Plan((self,), self._request_factory)
        self._matchers = matchers

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # Flask's wsgi_app around its full_dispatch_request, step by step:
        # the before hooks, the app, the error handlers, finalize (the after
        # chain), the 500 path; then the response goes to the server, and
        # the teardown hooks run when the server closes it.
        call = _Call()
        call.callbacks = environ[CALLBACKS_KEY] = []
        call.environ = environ
        call.plan = plan = self._plan_for(environ) if self._matchers else self._root_plan
        if plan.request_needed:
            call.request = plan.request_factory(environ)
        try:
            try:
                if plan.first_scopes:
                    self._run_first_requests(call)
                try:
                    rv = self._preprocess(call) if plan.before else None
                    if rv is None:
                        rv = call.run(self.app, environ)
                except Exception as error:
                    rv = self._handle_user_exception(call, error)
                response = self._finalize(call, rv)
            except Exception as error:
                call.error = error
                if self.propagate_exceptions:
                    raise
                response = self._handle_exception(call, error)
            # Send (here, as Flask's wsgi_app sends, since one more Python
            # call is 4 % of a request without hooks): the app's own iterable
            # goes to the server unchanged unless something must run when it
            # is closed (the response's on-close callbacks, closing an app
            # body a hook replaced, the teardown hooks).
            closers: t.Sequence[t.Callable[[], object]] = ()
            if response is call:
                # _finalize hands back the call itself only for an app
                # response that no hook touched: start_response has run.
                body = call.send(start_response, t.cast(str, call.status), call.headers)
            else:
                untouched = (
                    None if call.app_iter is None else self._flavour.untouched(response, call)
                )
                if untouched is None:
                    body = response(environ, start_response)
                    if call.app_iter is not None:
                        closers = (call.close,)
                else:
                    status, headers, closers = untouched
                    body = call.send(start_response, status, headers)
            if plan.teardown:
                return _TeardownIterator(body, [*closers, call.teardown], call)
            return ClosingIterator(body, closers) if closers else body
        except BaseException as error:
            if call.error is None:
                call.error = error
            self._abort(call, error)
            raise

    def _plan_for(self, environ: WSGIEnvironment) -> _Plan:
        """The hooks of the innermost scope whose prefix matches the path."""
        path = environ.get("PATH_INFO", "")
        for prefix, under, plan in self._matchers:
            if path == prefix or path.startswith(under):
                return plan
        return self._root_plan

    def _run_first_requests(self, call: _Call) -> None:
        for scope in call.plan.first_scopes:
            if scope._first_pending:
                scope._run_first(call.request)

    def _preprocess(self, call: _Call) -> t.Any:
        """The before hooks, in order, until one returns a response (Flask's
        ``preprocess_request``); None if none did."""
        request = call.request
        for hook in call.plan.before:
            rv = hook(request)
            if rv is not None:
                call.responder = hook
                return rv
        return None

    def _handle_user_exception(self, call: _Call, error: Exception) -> t.Any:
        """The error handler's return value for ``error`` (or ``error`` itself
        if it is an HTTP error, which is its own response); else re-raise."""
        handler = self._find_handler(error, call.plan)
        if handler is not None:
            call.responder = handler
            return handler(call.request, error)
        if isinstance(error, self._flavour.http_exceptions):
            call.responder = type(error)
            return error
        raise error

    def _finalize(self, call: _Call, rv: t.Any) -> t.Any:
        """Flask's ``finalize_request``: ``rv`` made a response (outside the
        error handlers' reach, as in Flask), then the after chain:
        after_this_request callbacks, then the after hooks."""
        if rv is not call:
            rv = self._flavour.make_response(rv, call.environ, call.responder)
        call.environ[CALLBACKS_KEY] = _FINALIZED
        callbacks = call.callbacks
        hooks = [*callbacks, *call.plan.after] if callbacks else call.plan.after
        if not hooks:
            return rv
        # The app's own response, as a response object, only for after hooks.
        response = self._flavour.passthrough(call) if rv is call else rv
        request = call.request
        response_class = self._response_class
        for hook in hooks:
            rv = hook(request, response)
            if rv is not response and not isinstance(rv, response_class):
                rv = self._after_result(call, hook, rv)
            response = rv
        return response

    def _after_result(self, call: _Call, hook: Hook, rv: t.Any) -> t.Any:
        if rv is None:
            raise TypeError(
                f"after_request hook {hook_name(hook)} returned None; it must return the"
                " response it was given, or a new one"
            )
        return self._flavour.make_response(rv, call.environ, hook)

    def _find_handler(self, error: Exception, plan: _Plan) -> Hook | None:
        if not plan.handler_scopes:
            return None
        code = error.code if isinstance(error, HTTPException) else None
        mro = type(error).__mro__
        # Flask's lookup: handlers for the HTTP code first, then by class;
        # within each, scope before app, then most specific class first.
        for tier in (code, None) if code is not None else (None,):
            for scope in plan.handler_scopes:
                handlers = scope._error_handlers.get(tier)
                if handlers:
                    for cls in mro:
                        handler = handlers.get(cls)
                        if handler is not None:
                            return handler
        return None

    def _handle_exception(self, call: _Call, error: Exception) -> t.Any:
        """Flask's ``handle_exception``: log ``error``, answer 500 (the 500
        handler's response, else a plain one) and run the after chain over
        it, where failures are only logged."""
        environ = call.environ
        logger.error(
            "Exception on %s [%s]",
            escape(environ.get("PATH_INFO", "")),
            escape(environ.get("REQUEST_METHOD", "")),
            exc_info=error,
        )
        server_error = InternalServerError(original_exception=error)
        response = None
        handler = self._find_handler(server_error, call.plan)
        if handler is not None:
            try:
                rv = handler(call.request, server_error)
                response = self._flavour.make_response(rv, environ, handler)
            except Exception:
                # Flask lets this reach the server; a plain 500 serves the client better.
                logger.exception("Error handler %s failed; sending a plain 500", hook_name(handler))
        if response is None:
            response = self._flavour.make_response(server_error, environ, InternalServerError)
        try:
            return self._finalize(call, response)
        except Exception:
            logger.exception("An after hook failed while finishing a 500 response")
            # As in Flask: the response as it was before the chain.
            return response

    def _abort(self, call: _Call, error: BaseException) -> None:
        """Clean up for a request whose exception goes to the server."""
        if call.app_iter is not None:
            try:
                call.close()
            except Exception:
                logger.exception("Closing the app's response failed")
        if call.plan.teardown:
            try:
                call.teardown()
            except Exception as teardown_error:
                if hasattr(error, "add_note"):
                    error.add_note(f"teardown hooks failed too: {teardown_error!r}")
