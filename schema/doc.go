// Package schema holds the JSON Schema of a plugNmeet create-room request
// (create-room.schema.json, draft 2020-12, embedded in the binary) and the
// validator roomworker and roomctl run before anything reaches plugNmeet.
//
// The schema follows plugNmeet's documented contract plus the fields the
// server knows but the docs omit, and refuses what a real server would only
// refuse late: ids over 64 characters, reserved ids ("user_…", "…-FIELD_…"),
// titles over 255 characters, non-http(s) URLs, server-internal metadata
// fields and unknown (for example misspelt) properties.
//
// [Parse] validates like [Validate] and also hands back the decoded request
// (objects as map[string]any, numbers as encoding/json's Number), so a caller
// never decodes the same bytes twice. Decoding is a single pass that builds
// the same tree encoding/json would; only input it refuses goes through
// encoding/json, which words the error.
//
// # Errors
//
// [Validate] reports every problem it finds, not just the first, as a
// [*Error] holding one [FieldError] per problem, sorted by path. Each path is
// the JSON Pointer (RFC 6901) of the offending value:
//
//   - a value with a wrong type, range, length or format: the pointer of
//     that value, e.g. "/room_id: must not start with \"user_\"";
//   - a missing required property: the pointer the property would have,
//     e.g. "/metadata/room_title: is required" (never its parent object);
//   - an unknown property: the pointer of that property, e.g.
//     "/metadata/room_titel: unknown property (did you mean \"room_title\"?)";
//   - input that is not valid UTF-8, not JSON, or not a JSON object: the root
//     pointer "" (the empty string), with the byte offset where it applies.
//
// [FieldError.String] renders one problem as "pointer: message", the root
// pointer as "(root)"; roomctl validate prints "FILE: " before it.
//
// Messages are plain words: rules a keyword alone cannot explain (patterns,
// "not") take their message from the subschema's errorMessage annotation in
// the schema file, keyed by keyword.
//
// # Generated validation code
//
// Create-room requests are not checked by a schema interpreter: go generate
// ./schema turns create-room.schema.json into Go code
// (create_room_validate_gen.go, written by internal/validatorgen, with the
// helpers of genruntime.go) that walks the decoded request and allocates
// nothing unless it reports a problem. It reports exactly what
// santhosh-tekuri/jsonschema/v6 reports for the schema file: the tests hold
// the two to the same problems, paths and messages on every testdata
// request, on random mutations of them and in FuzzGeneratedMatchesOracle.
// After changing the schema, run go generate ./schema (a test fails until the
// generated file matches); the generator refuses any keyword it does not
// implement. The end-room, result and lifecycle schemas are still checked by
// the library.
package schema
