"""How big each scenario is, in the full mode and in the quick mode."""

from __future__ import annotations

from dataclasses import dataclass, replace

from config.settings import LOCAL_THREADS


@dataclass(frozen=True)
class Sizes:
    quick: bool = False
    # 1. throughput against C/L: images in all, split into tasks, at each processes x threads.
    # Divisible by every C below: a last round that keeps only some consumers busy is not the pipeline's cost.
    throughput_images: int = 2048
    throughput_tasks: int = 4
    throughput_latency_ms: int = 200
    throughput_configs: tuple[tuple[int, int], ...] = ((2, 4), (2, 8), (2, 16))
    upload_threads: int = 4
    # 8. where one task's time goes: images in the task, FaceCloud latency, processes x threads.
    breakdown_images: int = 640
    breakdown_latency_ms: int = 200
    breakdown_config: tuple[int, int] = (2, 8)
    # 2. pipeline overhead beside the two ceilings, at this processes x threads.
    overhead_images: int = 5000
    overhead_config: tuple[int, int] = (2, 8)
    noop_messages: int = 10000
    # 3. local detector: images of each fixture, worker threads per process.
    local_images: tuple[tuple[str, int], ...] = (("astronaut.jpg", 200), ("astronaut-1080p.jpg", 60))
    local_threads: int = LOCAL_THREADS  # the service default with DETECTOR=local
    # Worker RSS with the local detector: after this many mixed photos, then after this many in all.
    local_memory_images: tuple[int, int] = (100, 1000)
    # 4. API latency: a task of this many images x faces, load threads, seconds per run.
    latency_images: int = 1000
    latency_faces: int = 3
    latency_threads: tuple[int, ...] = (1, 4)
    latency_duration_s: float = 15.0
    latency_max_requests: int = 3000
    # 5. worker memory after these many images in all.
    memory_checkpoints: tuple[int, ...] = (1000, 10000)
    memory_task_images: int = 1000
    # 6. scale: a task this big against one of 100 images; fairness beside a running task this big.
    scale_images: int = 100_000
    scale_running_images: int = 20_000
    scale_latency_ms: int = 200
    # 7. the object store against the filesystem: images in tasks, FaceCloud latency, processes x threads.
    store_images: int = 1000
    store_tasks: int = 2
    store_latency_ms: int = 200
    store_config: tuple[int, int] = (2, 8)

    @classmethod
    def full(cls) -> Sizes:
        return cls()

    @classmethod
    def quick_mode(cls) -> Sizes:
        return cls(
            quick=True,
            throughput_images=640,
            overhead_images=1000,
            noop_messages=3000,
            local_images=(("astronaut.jpg", 100), ("astronaut-1080p.jpg", 16)),
            local_memory_images=(50, 200),
            latency_duration_s=4.0,
            latency_max_requests=1000,
            memory_checkpoints=(300, 2000),
            scale_images=20_000,
            scale_running_images=5_000,
            store_images=300,
        )

    def with_images(self, images: int) -> Sizes:
        """Every image count scaled to about ``images`` (a tiny smoke run)."""
        tasks = max(1, min(self.throughput_tasks, images // 10))
        return replace(
            self,
            throughput_images=images,
            throughput_tasks=tasks,
            overhead_images=images,
            noop_messages=images,
            latency_images=images,
            memory_checkpoints=(images, 2 * images),
            memory_task_images=images,
            local_images=(("astronaut.jpg", images), ("astronaut-1080p.jpg", max(1, images // 10))),
            local_memory_images=(images, 2 * images),
            scale_images=max(200, images),
            scale_running_images=max(200, images),
            store_images=images,
            store_tasks=max(1, min(self.store_tasks, images // 10)),
        )
