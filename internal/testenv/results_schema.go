package testenv

import (
	"github.com/roomworker/roomworker/schema"
)

// CheckResultSchemas fails the test unless the data of every result stored in ROOM_EVENTS
// follows its published JSON Schema (schema/room-created.schema.json or
// schema/room-failed.schema.json). It returns how many results it checked; call it at the end of
// a test that made the worker publish results.
func (e *Env) CheckResultSchemas() int {
	e.t.Helper()
	results := e.Results()
	for _, r := range results {
		if err := schema.ValidateResult(r.Ev.Type(), r.Ev.Data()); err != nil {
			e.t.Errorf("result %s (%s, request %s) breaks its schema: %v\ndata: %s", r.Ev.ID(), r.Ev.Type(), r.RequestID(), err, r.Ev.Data())
		}
	}
	return len(results)
}
