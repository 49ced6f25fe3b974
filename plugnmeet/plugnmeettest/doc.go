// Package plugnmeettest runs a stand-in for the plugNmeet server's room API
// that behaves like a real v2.4.0 server as far as a client can tell:
// signature checks and their 401 answers, protojson-shaped answers,
// request decoding and validation with the server's messages, the late
// database failures, idempotent create on an active room, per-room locking
// with a lock timeout, and the server's merge of a request onto its feature
// defaults. Faults (latency, 5xx, connection resets, hung calls, lock
// timeouts, lost answers, a 401 window, and what a wrong deployment puts in
// front of the API: a firewall's 403 page, a web app's HTML page) can be
// injected and changed at run time. Every call is counted, and so is the
// most create calls per room_id ever in progress at once.
//
// It also plays a room's life as the real server reports it in webhooks
// (Options.WebhookURL, and each room's metadata.webhook_url): room_created
// on a new session; participants through Join and Leave (room_started,
// participant_joined, track_published, track_unpublished, participant_left);
// an emptied room closing after Options.DepartureTimeout (room_finished,
// then session_ended); endRoom (participants leave, session_ended,
// room_finished); and, when Options.EmptyTimeoutCheck is set, rooms nobody
// joined expiring after their empty_timeout (session_ended). Deliveries are
// signed like the server's, queued per room and retried like the server's,
// and never hold up an API call. Without any webhook URL rooms are quiet.
//
// NewServer starts it on loopback like httptest.NewServer; NewHandler gives
// the http.Handler for a process of its own (cmd/plugnmeet-standin).
package plugnmeettest
