"""A process work pool made on the suite's temporary Prefect server from the test's own
process, as ``prefect work-pool create NAME --type process`` makes it (with the process
worker's default job template), and its concurrency limits set, without the commands: each
command is a process that imports Prefect, a few seconds of CPU on a loaded two-core machine,
where the test process has Prefect imported already.
"""

from __future__ import annotations

import asyncio

from tests.support.prefect_children import shared_api_url

__all__ = ["create_process_pool"]


def create_process_pool(name: str, *, limit: int | None = None) -> None:
    """Create the process work pool ``name``; with ``limit``, at most that many flow runs at
    once in the pool and in its ``default`` queue (``set-concurrency-limit`` of both)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    async def create() -> None:
        async with get_client() as client:
            pool = WorkPoolCreate(
                name=name,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
                concurrency_limit=limit,
            )
            await client.create_work_pool(pool)
            if limit is not None:
                queue = await client.read_work_queue_by_name("default", work_pool_name=name)
                await client.update_work_queue(queue.id, concurrency_limit=limit)

    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        asyncio.run(create())
