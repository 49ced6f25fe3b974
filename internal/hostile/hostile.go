// Package hostile loads the hostile-input corpus under testdata/hostile: messages a careless or
// malicious publisher could put on the request subject, each with the result the worker must
// publish for it. The worker's tests and the chaos soak (cmd/roomsoak) both replay it.
package hostile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nats-io/nats.go"
)

// Modes say which headers a case starts from before its own headers are applied.
const (
	ModeBinary     = "binary"     // ce-specversion/id/source/type and Content-Type: application/json
	ModeStructured = "structured" // Content-Type: application/cloudevents+json; the body is the event
	ModeRaw        = "raw"        // no header at all
)

// Part is a piece of a message body: text (placeholders expanded) or base64 bytes, repeated.
type Part struct {
	Text   string `json:"text,omitempty"`
	Base64 string `json:"base64,omitempty"`
	Repeat int    `json:"repeat,omitempty"` // 0 means 1
}

// Want is the result the worker must publish for a case.
type Want struct {
	Type            string `json:"type"`                       // room.created or room.failed
	Reason          string `json:"reason,omitempty"`           // for room.failed
	MessageContains string `json:"message_contains,omitempty"` // a substring of the failure message
}

// Case is one hostile message. Text and header values may contain {{id}} (a fresh event id)
// and {{room}} (a fresh valid room_id), so the same case can be published many times.
type Case struct {
	Name        string              `json:"-"` // the file name without .json
	Description string              `json:"description"`
	Mode        string              `json:"mode"`
	Headers     map[string][]string `json:"headers,omitempty"` // set (replacing) a header; an empty list deletes it
	Body        []Part              `json:"body"`
	Want        Want                `json:"want"`
	PadHeader   *PadHeader          `json:"pad_header,omitempty"`
	Heavy       bool                `json:"heavy,omitempty"` // megabytes on the wire: publish it once, not in bulk
}

// PadHeader adds a header whose value is Bytes letters long.
type PadHeader struct {
	Name  string `json:"name"`
	Bytes int    `json:"bytes"`
}

// Load reads every *.json case in dir, sorted by name.
func Load(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("hostile: no *.json case in %s", dir)
	}
	sort.Strings(paths)
	cases := make([]Case, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("hostile: %s: %w", p, err)
		}
		c.Name = strings.TrimSuffix(filepath.Base(p), ".json")
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("hostile: %s: %w", p, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func (c Case) check() error {
	switch c.Mode {
	case ModeBinary, ModeStructured, ModeRaw:
	default:
		return fmt.Errorf("mode %q: want binary, structured or raw", c.Mode)
	}
	switch c.Want.Type {
	case "room.created":
		if c.Want.Reason != "" {
			return errors.New("want.reason is only for room.failed")
		}
	case "room.failed":
		if c.Want.Reason == "" {
			return errors.New("room.failed needs want.reason")
		}
	default:
		return fmt.Errorf("want.type %q: want room.created or room.failed", c.Want.Type)
	}
	for i, p := range c.Body {
		if p.Text != "" && p.Base64 != "" {
			return fmt.Errorf("body[%d]: text or base64, not both", i)
		}
		if _, err := base64.StdEncoding.DecodeString(p.Base64); err != nil {
			return fmt.Errorf("body[%d]: %w", i, err)
		}
	}
	return nil
}

// Message builds the case's NATS header and body for one publish, with {{id}} and {{room}}
// replaced by id and room.
func (c Case) Message(id, room string) (nats.Header, []byte) {
	expand := strings.NewReplacer("{{id}}", id, "{{room}}", room).Replace
	h := nats.Header{}
	switch c.Mode {
	case ModeBinary:
		h.Set("ce-specversion", "1.0")
		h.Set("ce-id", id)
		h.Set("ce-source", "/roomworker/hostile")
		h.Set("ce-type", "room.create")
		h.Set("Content-Type", "application/json")
	case ModeStructured:
		h.Set("Content-Type", "application/cloudevents+json")
	}
	for k, vs := range c.Headers {
		delete(h, k)
		for _, v := range vs {
			h[k] = append(h[k], expand(v)) // keys as written: NATS headers are case-sensitive on the wire
		}
	}
	if c.PadHeader != nil {
		h.Set(c.PadHeader.Name, strings.Repeat("P", c.PadHeader.Bytes))
	}
	var body bytes.Buffer
	for _, p := range c.Body {
		piece := []byte(expand(p.Text))
		if p.Base64 != "" {
			piece, _ = base64.StdEncoding.DecodeString(p.Base64) // checked by Load
		}
		for range max(p.Repeat, 1) {
			body.Write(piece)
		}
	}
	return h, body.Bytes()
}
