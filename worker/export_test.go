package worker

// PretendServerVersion makes the worker believe the NATS server has another version, to test
// what it does on a server without message schedules. Call it before Run.
func (w *Worker) PretendServerVersion(v string) { w.serverVersion = func() string { return v } }
