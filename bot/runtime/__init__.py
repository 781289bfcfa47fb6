"""The running service: server (composition root), queue, workers, ops routes, schedules, logs."""
