// Package plugnmeet is a client for the parts of the plugNmeet server API that
// roomworker needs: create a room, ask whether a room is active, read an active
// room's info and end a room.
//
// Every request body is signed with HMAC-SHA256 over the exact bytes sent
// (see Sign). Answers are decoded in the shape the real server sends them
// (protojson: 64-bit integers as strings, is_running as an integer, the room
// metadata as a JSON string) and every failure is returned as an *Error whose
// Class tells the caller what to do next: retry (ErrTransient), give up on the
// request (ErrPermanent) or stop and fix the configuration (ErrSystemic). A
// systemic error also says what to fix: ErrCredentials (the call was refused:
// key, secret, or something in front of plugNmeet) or ErrNotPlugNmeet (the
// answer is not plugNmeet's: PLUGNMEET_URL points elsewhere).
//
// WebhookVerifier checks the webhooks plugNmeet sends (an HS256 JWT signed
// with the API secret, whose sha256 claim covers the exact body) and
// SignWebhook makes such a token. A refused delivery matches
// ErrWebhookUnverified (answer 401) or ErrWebhookMalformed (answer 400) and
// carries a WebhookFailure naming the check, a small fixed set fit for a
// metric label.
package plugnmeet
