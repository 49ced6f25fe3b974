package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	getenv := func(string) string { return "" }
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, getenv)
	return result{code, stdout.String(), stderr.String()}
}

// workdir creates a temporary directory holding the named files, makes it
// the working directory and returns it.
func workdir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" means stdout must be empty
		wantStderr string // substring; "" means stderr must be empty
	}{
		{"no arguments", nil, 2, "", "Usage: roomctl COMMAND"},
		{"--help", []string{"--help"}, 0, "validate   check create-room request files", ""},
		{"-h", []string{"-h"}, 0, "Usage: roomctl COMMAND", ""},
		{"help", []string{"help"}, 0, "Usage: roomctl COMMAND", ""},
		{"help validate", []string{"help", "validate"}, 0, "Usage: roomctl validate", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "roomctl: unknown command \"frobnicate\"\n\nUsage: roomctl COMMAND"},
		{"unknown flag", []string{"-x"}, 2, "", "roomctl: unknown flag -x"},
		{"help unknown", []string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{"validate --help", []string{"validate", "--help"}, 0, "FILE: (root): message", ""},
		{"validate -h", []string{"validate", "-h"}, 0, "-max-bytes N", ""},
		{"validate without files", []string{"validate"}, 2, "", "roomctl validate: no FILE given"},
		{"validate bad flag", []string{"validate", "-bogus", "x.json"}, 2, "", "flag provided but not defined: -bogus"},
		{"validate zero limit", []string{"validate", "-max-bytes", "0", "x.json"}, 2, "", "-max-bytes must be positive"},
		{"schema --help", []string{"schema", "--help"}, 0, "Usage: roomctl schema", ""},
		{"schema extra argument", []string{"schema", "x"}, 2, "", `roomctl schema: unexpected argument "x"`},
		{"publish --help", []string{"publish", "--help"}, 0, "Usage: roomctl publish [flags] FILE|-", ""},
		{"watch --help", []string{"watch", "-h"}, 0, "Usage: roomctl watch", ""},
		{"status --help", []string{"help", "status"}, 0, "Usage: roomctl status", ""},
		{"replay --help", []string{"replay", "--help"}, 0, "REQUEST_RETENTION=limits", ""},
		{"help lists replay", []string{"--help"}, 0, "replay     republish the requests behind room.failed results", ""},
		{"stdin twice", []string{"validate", "-", "-"}, 2, "", `"-" (standard input) given more than once`},
		{"help lists end", []string{"--help"}, 0, "end        end a room's live session (publish a room.end request)", ""},
		{"end --help", []string{"end", "--help"}, 0, "Usage: roomctl end ROOM_ID [flags]", ""},
		{"help end", []string{"help", "end"}, 0, "already ended ROOM_ID", ""},
		{"end -h after ROOM_ID", []string{"end", "r1", "-h"}, 0, "-wait", ""},
		{"end without ROOM_ID", []string{"end", "-wait"}, 2, "", "roomctl end: no ROOM_ID given"},
		{"end two rooms", []string{"end", "a", "-wait", "b"}, 2, "", "roomctl end: one ROOM_ID at a time, got 2"},
		{"end bad timeout", []string{"end", "-timeout", "0s", "r1"}, 2, "", "-timeout must be positive"},
		{"end bad format", []string{"end", "r1", "-format", "yaml"}, 2, "", "-format must be json or text"},
		{"end bad flag", []string{"end", "r1", "-bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"end bad source", []string{"end", "-source", "a\nb", "r1"}, 2, "", `member "source"`},
		{"watch --help lists lifecycle", []string{"watch", "--help"}, 0, "plugnmeet.<event>", ""},
		{"watch bad type", []string{"watch", "-type", "room.create"}, 2, "", `"room.create" is not a type watch shows`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, "", tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", got.code, tt.wantCode, got.stderr)
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", stream, got, want)
				}
			}
			check("stdout", got.stdout, tt.wantStdout)
			check("stderr", got.stderr, tt.wantStderr)
		})
	}
}

func TestValidate(t *testing.T) {
	seed := readExample(t, "create-room.json")
	three := readExample(t, "invalid-three-errors.json")
	// huge.json is a 10 MB request: a room title of 10 MB.
	title := strings.Repeat("x", 10<<20)
	huge := []byte(strings.Replace(string(seed), `"room_title": "`, `"room_title": "`+title, 1))
	if len(huge) < 10<<20 || bytes.Equal(huge, seed) {
		t.Fatal("could not build huge.json")
	}
	workdir(t, map[string][]byte{
		"seed.json":      seed,
		"three.json":     three,
		"empty.json":     nil,
		"huge.json":      huge,
		"spaces.json":    []byte(" \n\t "),
		"null.json":      []byte("null"),
		"bom.json":       append([]byte("\xef\xbb\xbf"), seed...),
		"array.json":     []byte(`[{"room_id":"a"}]`),
		"utf8.json":      []byte("{\"room_id\": \"caf\xe9\"}"),
		"notjson.yaml":   []byte("room_id: r1\n"),
		"big.json":       append(append([]byte{}, seed...), make([]byte, 2000)...),
		"newline.json":   []byte(`{"room_id":"r","metadata":{"room_title":"t","room_features":{}},"bad\nkey":1}`),
		"user-room.json": []byte(strings.Replace(string(seed), `"demo-seed"`, `"user_x"`, 1)),
	})
	if err := os.Mkdir("dir.json", 0o755); err != nil {
		t.Fatal(err)
	}
	threeLines := "three.json: /max_participants: must be at least 1\n" +
		"three.json: /metadata/room_title: is required\n" +
		"three.json: /metadata/webhook_url: must be an absolute http:// or https:// URL\n"

	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string // exact
		wantStderr string // exact
	}{
		{"seed example", []string{"seed.json"}, "", 0, "", ""},
		{"seed example verbose", []string{"-v", "seed.json"}, "", 0, "seed.json: ok\n", ""},
		{"three errors", []string{"three.json"}, "", 1, threeLines, ""},
		{"missing file", []string{"missing.json"}, "", 2, "", "roomctl validate: open missing.json: no such file or directory\n"},
		{"directory", []string{"dir.json"}, "", 2, "", "roomctl validate: read dir.json: is a directory\n"},
		{"empty file", []string{"empty.json"}, "", 1, "empty.json: (root): is not valid JSON: the input is empty\n", ""},
		{"huge file (10 MB), default limit", []string{"huge.json"}, "", 1, "huge.json: (root): is larger than 1048576 bytes (the -max-bytes limit)\n", ""},
		{"huge file (10 MB) on stdin", []string{"-"}, string(huge), 1, "-: (root): is larger than 1048576 bytes (the -max-bytes limit)\n", ""},
		{"huge file (10 MB), raised limit", []string{"-max-bytes", "20000000", "huge.json"}, "", 1, "huge.json: /metadata/room_title: must be at most 255 characters long (it has 10485769)\n", ""},
		{"only whitespace", []string{"spaces.json"}, "", 1, "spaces.json: (root): is not valid JSON: the input holds only whitespace\n", ""},
		{"JSON null", []string{"null.json"}, "", 1, "null.json: (root): the request must be an object, not null\n", ""},
		{"byte order mark", []string{"bom.json"}, "", 1, "bom.json: (root): is not valid JSON: it starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM\n", ""},
		{"JSON array", []string{"array.json"}, "", 1, "array.json: (root): the request must be an object, not an array\n", ""},
		{"invalid UTF-8", []string{"utf8.json"}, "", 1, "utf8.json: (root): is not valid UTF-8 (line 1, column 17, byte offset 16)\n", ""},
		{"not JSON", []string{"notjson.yaml"}, "", 1,
			"notjson.yaml: (root): is not valid JSON: invalid character 'r' looking for beginning of value (line 1, column 1, byte offset 0)\n", ""},
		{"too large", []string{"-max-bytes", "1000", "big.json"}, "", 1, "big.json: (root): is larger than 1000 bytes (the -max-bytes limit)\n", ""},
		{"limit is inclusive", []string{"-max-bytes", "2", "array.json"}, "", 1, "array.json: (root): is larger than 2 bytes (the -max-bytes limit)\n", ""},
		{"stdin valid", []string{"-v", "-"}, string(seed), 0, "-: ok\n", ""},
		{"stdin invalid", []string{"-"}, `{"room_id":"r"}`, 1, "-: /metadata: is required\n", ""},
		{"stdin too large", []string{"-max-bytes", "10", "-"}, string(seed), 1, "-: (root): is larger than 10 bytes (the -max-bytes limit)\n", ""},
		{"control characters escaped", []string{"newline.json"}, "", 1,
			"newline.json: /bad\\nkey: unknown property\n" + roomFeaturesRequired("newline.json"), ""},
		{"several files mixed", []string{"-v", "seed.json", "three.json", "missing.json", "user-room.json", "empty.json"}, "", 2,
			"seed.json: ok\n" + threeLines +
				"user-room.json: /room_id: must not start with \"user_\" (reserved by plugNmeet)\n" +
				"empty.json: (root): is not valid JSON: the input is empty\n",
			"roomctl validate: open missing.json: no such file or directory\n"},
		{"invalid and valid", []string{"seed.json", "array.json"}, "", 1, "array.json: (root): the request must be an object, not an array\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, tt.stdin, append([]string{"validate"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", got.code, tt.wantCode)
			}
			if got.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", got.stdout, tt.wantStdout)
			}
			if got.stderr != tt.wantStderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", got.stderr, tt.wantStderr)
			}
		})
	}
}

// roomFeaturesRequired lists the errors for an empty room_features object.
func roomFeaturesRequired(file string) string {
	var sb strings.Builder
	for _, f := range []string{
		"admin_only_webcams", "allow_rtmp", "allow_screen_share", "allow_view_other_users_list",
		"allow_view_other_webcams", "allow_webcams", "breakout_room_features", "chat_features",
		"display_external_link_features", "external_media_player_features", "mute_on_start",
		"recording_features", "shared_note_pad_features", "waiting_room_features", "whiteboard_features",
	} {
		sb.WriteString(file + ": /metadata/room_features/" + f + ": is required\n")
	}
	return sb.String()
}

func TestSchemaCommand(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "schema", "create-room.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "", "schema")
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("exit code %d, stderr %q", got.code, got.stderr)
	}
	if got.stdout != string(want) {
		t.Error("roomctl schema does not print create-room.schema.json")
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/metadata/room_title", "/metadata/room_title"},
		{"é😀", "é😀"},
		{"a\nb\tc", `a\nb\tc`},
		{"x\u2028y", `x\u2028y`},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
