"""Bounded thread-pool helper shared by batch and transfer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from remote_store.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


def check_workers(max_workers: int) -> int:
    """Validate ``max_workers`` (an int ≥ 1).

    Raises:
        ConfigError: It is not an int or is below 1.
    """
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ConfigError(f"max_workers must be an int >= 1, got {max_workers!r}")
    return max_workers


def run_bounded(
    items: Iterable[T], fn: Callable[[T], R], max_workers: int
) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Apply ``fn`` to every item on up to ``max_workers`` threads; yield ``(item, result, error)``.

    At most ``2 * max_workers`` calls are in flight, so a huge (or lazy) ``items`` iterable
    is consumed as the work proceeds, not materialised. Results arrive in completion order.
    Every item is processed even when some raise: the exception is yielded, not raised.
    With ``max_workers == 1`` everything runs in the calling thread, in order.
    """
    check_workers(max_workers)
    if max_workers == 1:
        for item in items:
            try:
                yield item, fn(item), None
            except Exception as failure:
                yield item, None, failure
        return
    window = 2 * max_workers
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="remote-store-ext") as pool:
        pending: dict[Future[R], T] = {}
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    item = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(fn, item)] = item
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                error = fut.exception()
                yield (item, None, error) if error is not None else (item, fut.result(), None)
