"""A work-pool batch started again takes over the chunks a killed sender left: Cancelling
chunks, copies of an item, and more chunks than the server gives in one page.

Real Prefect, without a worker: the suite's temporary server, a work pool and a batch
deployment of this module's own. The test plays the two sides the batch does not: the killed
sender, whose only trace is the flow runs it made (tagged, with their items' run keys, as
:mod:`irgraph.backends.prefect_sender` sends them), and the worker, which moves those runs
through their states and leaves a chunk's answers in Prefect's result storage. The batch run
again is the real one (``arun_many`` on the pool, named as ``irgraph batch`` names it).
"""

from __future__ import annotations

import asyncio
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from irgraph import Agent, arun_many
from irgraph.backends import prefect_orphans
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_orphans import SENDING_FOR, sending_for
from irgraph.batch_store import BatchStore
from irgraph.ir.json import pipeline_digest
from tests.support.prefect_children import shared_api_url

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft")


@attrs.frozen
class Pool:
    """A work pool with the batch deployment ``chain-batch/chain`` and no worker."""

    backend: PrefectBackend
    deployment: Any  # its id
    digest: str  # of CHAIN, as its chunks are sent with it


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    name = f"irgraph-takeover-{uuid.uuid4().hex[:8]}"  # the server is shared: a pool of our own

    async def made() -> Any:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            flow = await client.create_flow_from_name("chain-batch")
            return await client.create_deployment(flow, "chain", work_pool_name=name)

    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        deployment = asyncio.run(made())
        backend = PrefectBackend(work_pool=name, deployment="chain/chain", chunk_size=2)
        digest = pipeline_digest(backend.compile(CHAIN.to_ir()).node)
        yield Pool(backend, deployment, digest)


@attrs.define
class Takeover:
    """A batch named as ``irgraph batch`` names one by its results file: its chunks' tag, its
    items' run keys, the flow runs with that tag, and the batch run again, as a task."""

    pool: Pool
    client: Any
    topics: list[str] = attrs.field(factory=list)
    results: list[Any] = attrs.field(factory=list)
    token: str = attrs.field(factory=lambda: uuid.uuid4().hex[:8])
    naming: Any = attrs.field(init=False)  # the context naming the batch

    def __attrs_post_init__(self) -> None:
        self.naming = sending_for(f"/results-{self.token}.jsonl", uuid.uuid4().hex)

    @property
    def tag(self) -> str:
        named = SENDING_FOR.get()
        assert named is not None
        return named.tag

    def run_key(self, topic: str) -> str:
        named = SENDING_FOR.get()
        assert named is not None
        keys = BatchStore(".", named.key)
        return keys.run_key(keys.item_key(self.state(topic), 0))

    def state(self, topic: str) -> dict[str, str]:
        return {"topic": f"{topic} {self.token}"}

    async def left(self, *topics: str) -> Any:
        """A chunk of ``topics`` as the killed sender sent it (their indexes from 0)."""
        items = [
            {"index": index, "state": self.state(topic), "run_key": self.run_key(topic)}
            for index, topic in enumerate(topics)
        ]
        return await self.client.create_flow_run_from_deployment(
            self.pool.deployment,
            parameters={"items": items, "pipeline": self.pool.digest, "call_limit": None},
            tags=["irgraph-batch", self.tag],
        )

    async def moved(self, run: Any, *states: Any) -> None:
        """Move the flow run ``run`` through ``states``, as its worker would."""
        for state in states:
            await self.client.set_flow_run_state(run.id, state, force=True)

    async def completed(self, run: Any) -> None:
        """Complete ``run`` with an answer for each of its items, as its worker would."""
        from prefect.results import ResultStore
        from prefect.states import Completed

        answers = [
            {"index": item["index"], "state": {**item["state"], "draft": "drafted"}}
            for item in run.parameters["items"]
        ]
        store = ResultStore()  # this process's result storage, where the batch reads it
        record = store.create_result_record(answers)
        await store.apersist_result_record(record)
        await self.moved(run, Completed(data=record))

    def start(self, *topics: str, **given: Any) -> asyncio.Task[None]:
        """Run the batch of ``topics`` again (items taken from the left chunks first)."""

        async def consume() -> None:
            states = [self.state(topic) for topic in topics]
            async for item in arun_many(CHAIN, states, backend=self.pool.backend, **given):
                self.results.append(item)

        return asyncio.ensure_future(consume())  # in this context: named by the results file

    async def runs(self) -> list[Any]:
        """The flow runs with the batch's tag, oldest first."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
        from prefect.client.schemas.sorting import FlowRunSort

        tagged = FlowRunFilter(tags=FlowRunFilterTags(all_=[self.tag]))
        runs = await self.client.read_flow_runs(
            flow_run_filter=tagged, sort=FlowRunSort.EXPECTED_START_TIME_ASC
        )
        return sorted(runs, key=lambda run: run.created)

    async def sent(self, count: int, batch: asyncio.Task[None]) -> list[Any]:
        """The flow runs with the tag once there are ``count`` (the batch sent the rest)."""
        return await until(self.runs, lambda runs: len(runs) >= count, batch)

    def keys(self, run: Any) -> list[str]:
        return [item["run_key"] for item in run.parameters["items"]]


async def until(
    read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], batch: asyncio.Task[None]
) -> Any:
    """``read()`` once ``done`` holds for it; fail with the batch's error should it end."""
    deadline = asyncio.get_running_loop().time() + 120
    while not done(found := await read()):
        if batch.done():
            batch.result()  # its error, if any
        assert asyncio.get_running_loop().time() < deadline, f"timed out; last read {found}"
        await asyncio.sleep(0.1)
    return found


def on_server(test: Callable[[Takeover], Awaitable[Any]], pool: Pool) -> Any:
    """Run ``test`` with a takeover on the shared server, named as the batch it checks."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main() -> Any:
        async with get_client() as client:
            takeover = Takeover(pool, client)
            with takeover.naming:
                return await asyncio.wait_for(test(takeover), 300)

    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        return asyncio.run(main())


def test_a_left_chunk_cancelling_is_waited_for_and_its_items_sent_again_once_cancelled(
    pool: Pool,
) -> None:
    from prefect.states import Cancelled, Cancelling, Running

    async def test(batch: Takeover) -> list[Any]:
        left = await batch.left("a")
        await batch.moved(left, Running(), Cancelling(message="stopped"))  # its process ends
        running = batch.start("a", "b")
        _, fresh = await batch.sent(2, running)
        # "a" waits for the Cancelling chunk, whose process may still call the model
        assert batch.keys(fresh) == [batch.run_key("b")]
        await batch.moved(left, Cancelled())  # the worker ended its process
        *_, again = await batch.sent(3, running)
        assert batch.keys(again) == [batch.run_key("a")]  # sent again once cancelled
        await batch.completed(fresh)
        await batch.completed(again)
        await running
        return batch.results

    results = on_server(test, pool)
    assert sorted((item.index, item.ok, item.state["draft"]) for item in results) == [
        (0, True, "drafted"),
        (1, True, "drafted"),
    ]


def test_a_copy_of_an_item_waits_for_the_left_chunk_that_runs_its_twin(pool: Pool) -> None:
    from prefect.states import Running

    async def test(batch: Takeover) -> tuple[list[Any], int]:
        left = await batch.left("a")  # the killed sender had read one copy of "a"
        await batch.moved(left, Running())
        running = batch.start("a", "a", "b")
        _, fresh = await batch.sent(2, running)
        assert batch.keys(fresh) == [batch.run_key("b")]  # the copy was not sent anew
        await batch.completed(left)
        await batch.completed(fresh)
        await running
        return batch.results, len(await batch.runs())

    results, runs = on_server(test, pool)
    assert runs == 2
    assert sorted((item.index, item.ok, item.state.get("draft")) for item in results) == [
        (0, True, "drafted"),
        (1, True, "drafted"),
        (2, True, "drafted"),
    ]


def test_more_left_chunks_than_one_page_holds_are_all_taken_over(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of two runs stands for the server's 200: the five chunks left take three pages
    to find, and three to poll once the batch waits for them."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.states import Running

    monkeypatch.setattr(prefect_orphans, "PAGE", 2)
    topics = [f"t{number}" for number in range(5)]

    async def test(batch: Takeover) -> tuple[list[Any], int]:
        left = [await batch.left(topic) for topic in topics]
        for run in left:
            await batch.moved(run, Running())
        limit = f"{batch.tag}-killed"  # the killed sender's limit, for max_concurrency=1
        await batch.client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=limit, limit=1)
        )
        running = batch.start(*topics, max_concurrency=3)

        async def slots() -> int:
            return int((await batch.client.read_global_concurrency_limit_by_name(limit)).limit)

        await until(slots, lambda slots: slots == 3, running)  # it found them: took it over
        # what its polls read: each of the five chunks in flight, three pages of ids
        polled = await prefect_orphans.runs_by_id(batch.client, [run.id for run in left])
        assert sorted(str(run.id) for run in polled) == sorted(str(run.id) for run in left)
        for run in left:  # polled, three pages a time, once they are in flight
            await batch.completed(run)
        runs = await until(batch.runs, lambda runs: running.done() or len(runs) > 5, running)
        if len(runs) == 5:  # (else items were sent anew, to a pool with no worker)
            await running
        return batch.results, len(runs)

    results, runs = on_server(test, pool)
    assert runs == 5  # no item was sent anew
    assert sorted(item.index for item in results if item.ok) == [0, 1, 2, 3, 4]


def test_a_batch_on_a_pool_without_batch_key_says_how_to_make_it_taken_over(
    pool: Pool, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def batch(**given: Any) -> list[Any]:
        return [item async for item in arun_many(CHAIN, [], backend=pool.backend, **given)]

    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        with pytest.warns(UserWarning, match="without batch_key") as said:
            asyncio.run(batch())
        with warnings.catch_warnings(record=True) as keyed:
            warnings.simplefilter("always")
            asyncio.run(batch(batch_key="named", store=tmp_path))
    assert "Give run_many a batch_key (e.g. batch_key='evals-v1')" in str(said[0].message)
    assert said[0].filename == __file__  # the user's line, not irgraph's
    assert not [w for w in keyed if "batch_key" in str(w.message)]
