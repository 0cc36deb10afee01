"""The worker side: Dramatiq's broker and middleware, the detect and aggregate actors (stages), the
dispatcher that queues a task's images through its window, webhook delivery, broker-outage handling and
the housekeeping sweeps (whose process entry point is service.housekeeping)."""
