"""How one resource method serves both clients: written once as a coroutine (or an async
iterator), it is a coroutine on `Proactive`'s resources and a plain blocking call on
`ProactiveSync`'s, which runs it on a private event loop in a thread of its own.

Each resource is generic in its mode, `Async` (the default) or `Sync`, so type checkers see each
method's real signature and answer in both: `Agents[Async].get` gives `Coroutine[..., Agent]`,
`Agents[Sync].get` gives `Agent`. The decorators:

- `call`: one call, one answer;
- `paged`: one page of a list (`Page[T]`). On the async client the call is also an async
  iterable of every item from that page on (`PageCall`);
- `streamed`: an async iterator, a plain iterator on the sync client (pulled one item at a time);
- `each(paged_method)`: every item of a list, following `next_cursor` from page to page.

The private loop runs in a daemon thread shared by every `ProactiveSync` of the process, so a
sync call works as well from a notebook, whose own loop is already running, as from a script.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import os
import threading
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from typing_extensions import TypeVar as DefaultTypeVar

from proactive.models.common import Page
from proactive.sdk.client import Transport


class Async:
    """The mode of `Proactive`'s resources: methods are coroutines and async iterators."""


class Sync:
    """The mode of `ProactiveSync`'s resources: methods block until they have their answer."""


Mode = DefaultTypeVar("Mode", Async, Sync, default=Async)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_DONE = object()


class Runner:
    """A private event loop in a daemon thread: coroutines handed to `run` from any other thread
    run there, one loop for the process (made again in a child process after a fork)."""

    _shared: ClassVar[Runner | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        running = threading.Event()
        self.loop.call_soon(running.set)
        self.thread = threading.Thread(target=self._serve, name="proactive-sdk-loop", daemon=True)
        self.thread.start()
        running.wait()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @classmethod
    def shared(cls) -> Runner:
        """The process's runner, started on first use."""
        with cls._lock:
            runner = cls._shared
            if runner is None or runner.pid != os.getpid() or not runner.thread.is_alive():
                runner = cls._shared = cls()
            return runner

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        """The coroutine's result, once it has run on the private loop (its exception, raised
        here). Interrupted (Ctrl-C), the coroutine is cancelled."""
        if threading.current_thread() is self.thread:
            coroutine.close()
            raise RuntimeError(
                "a ProactiveSync method was called from inside the SDK's own event loop; "
                "use Proactive (async) there"
            )
        if not self.loop.is_running():  # stopped as the interpreter exits: nothing would run it
            coroutine.close()
            raise RuntimeError("the SDK's event loop has stopped (the interpreter is exiting)")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """The async iterator's items, each pulled on the private loop when asked for; closing
        the iterator (or leaving a `for` loop early) closes the async one there."""
        try:
            while True:
                item = self.run(_next(items))
                if item is _DONE:
                    return
                yield item  # type: ignore[misc]  # anything but _DONE is an item
        finally:
            close = getattr(items, "aclose", None)
            if close is not None and self.loop.is_running():
                self.run(close())

    def stop(self) -> None:
        """Stop the loop (at exit: the thread ends with it)."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)


async def _next(items: AsyncIterator[T]) -> T | object:
    try:
        return await anext(items)
    except StopAsyncIteration:
        return _DONE


@atexit.register
def _stop_shared() -> None:
    runner = Runner._shared
    if runner is not None and runner.pid == os.getpid():
        runner.stop()


class Bound(Generic[Mode]):
    """What a resource calls through: a client's transport, or one of its own from the
    environment (`PROACTIVE_API_URL`, `PROACTIVE_TOKEN`) or from `base_url` and `token`."""

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        _runner: Runner | None = None,
    ) -> None:
        self._transport = transport or Transport(base_url, token)
        self._runner = _runner

    async def __aenter__(self) -> Self:
        """One connection pool until the block ends (async resources)."""
        await self._transport.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._transport.__aexit__(None, None, None)


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The method's signature without `self`, as its bound forms show it."""
    signature = inspect.signature(fn)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


class _Method:
    """What every decorated method shares: its name, docstring and signature for help()."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__

    @functools.cached_property
    def _bound_signature(self) -> inspect.Signature:
        return _signature(self.__wrapped__)

    def _wrap(self, bound: Callable[..., Any]) -> Callable[..., Any]:
        functools.update_wrapper(bound, self.__wrapped__)
        del bound.__wrapped__  # type: ignore[attr-defined]  # set just above
        bound.__signature__ = self._bound_signature  # type: ignore[attr-defined]
        return bound


class call(_Method, Generic[P, R]):
    """A method of one call and one answer: a coroutine (async), a blocking call (sync)."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> None:
        super().__init__(fn)
        self.fn = fn

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Bound[Async], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __get__(self, obj: Bound[Sync], owner: type[Any]) -> Callable[P, R]: ...
    def __get__(self, obj: Bound[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        runner = obj._runner
        if runner is None:
            return types.MethodType(self.fn, obj)

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return runner.run(self.fn(obj, *args, **kwargs))

        return self._wrap(blocking)


class PageCall(Generic[T]):
    """A list call of the async client: `await` it for the page it asks for (`Page`: `items`,
    `next_cursor`), or `async for` over it for every item from that page on, page after page."""

    def __init__(
        self, fetch: Callable[[str | None], Coroutine[Any, Any, Page[T]]], cursor: str | None
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(self._cursor).__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return _every(self._fetch, self._cursor)


async def _every(
    fetch: Callable[[str | None], Coroutine[Any, Any, Page[T]]], cursor: str | None
) -> AsyncIterator[T]:
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        cursor = page.next_cursor
        if not cursor:
            return


class paged(_Method, Generic[P, T]):
    """A list method: it takes `cursor` (a page's `next_cursor`) and answers one page. On the
    async client its call is a `PageCall` (awaitable, and async-iterable over every item)."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Coroutine[Any, Any, Page[T]]]) -> None:
        super().__init__(fn)
        self.fn = fn

    def fetcher(
        self, obj: Bound[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Callable[[str | None], Coroutine[Any, Any, Page[T]]]:
        """Fetch the page at a cursor, with the call's other arguments."""
        return lambda cursor: self.fn(obj, *args, **{**kwargs, "cursor": cursor})

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Bound[Async], owner: type[Any]) -> Callable[P, PageCall[T]]: ...
    @overload
    def __get__(self, obj: Bound[Sync], owner: type[Any]) -> Callable[P, Page[T]]: ...
    def __get__(self, obj: Bound[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        runner = obj._runner
        if runner is None:

            def page_call(*args: Any, **kwargs: Any) -> PageCall[T]:
                return PageCall(self.fetcher(obj, args, kwargs), kwargs.get("cursor"))

            return self._wrap(page_call)

        def blocking(*args: Any, **kwargs: Any) -> Page[T]:
            return runner.run(self.fn(obj, *args, **kwargs))

        return self._wrap(blocking)


class streamed(_Method, Generic[P, T]):
    """A method that yields items as they come: an async iterator (async), an iterator (sync)."""

    def __init__(self, fn: Callable[Concatenate[Any, P], AsyncIterator[T]]) -> None:
        super().__init__(fn)
        self.fn = fn

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Bound[Async], owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(self, obj: Bound[Sync], owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    def __get__(self, obj: Bound[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        runner = obj._runner
        if runner is None:
            return types.MethodType(self.fn, obj)

        def blocking(*args: Any, **kwargs: Any) -> Iterator[T]:
            return runner.iterate(self.fn(obj, *args, **kwargs))

        return self._wrap(blocking)


def each(pages: paged[P, T]) -> streamed[P, T]:
    """Every item of the list `pages` answers, following `next_cursor` from the page `cursor`
    names (the first, unless given); `limit` is the size of each page asked for."""

    def every(obj: Any, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        cursor = kwargs.get("cursor")
        return _every(pages.fetcher(obj, args, kwargs), cursor if isinstance(cursor, str) else None)

    every.__doc__ = (
        f"Every item `{pages.__name__}` lists, page after page (`limit` items a page), from the first "
        "page or the one `cursor` names."
    )
    every.__name__ = every.__qualname__ = f"each_{pages.__name__}"
    every.__signature__ = inspect.signature(pages.fn)  # type: ignore[attr-defined]
    return streamed(every)
