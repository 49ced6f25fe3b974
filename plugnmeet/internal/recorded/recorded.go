// Package recorded loads the exchanges recorded with a real plugNmeet v2.4.0 server
// (plugnmeet/testdata/recorded), which the client's and the stand-in's tests replay.
package recorded

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Exchange is one recorded HTTP exchange.
type Exchange struct {
	Name                string            `json:"-"` // file name without .json, e.g. "05-bad-signature"
	Title               string            `json:"title"`
	Route               string            `json:"route"`
	RequestHeaders      map[string]string `json:"request_headers"`
	RequestBody         string            `json:"request_body"` // the exact bytes that were signed
	Status              int               `json:"status"`
	ResponseContentType string            `json:"response_content_type"`
	ResponseBody        string            `json:"response_body"` // the exact bytes answered
}

// Load reads every *.json exchange in dir, in file-name order (files 01-23 are one sequence).
func Load(dir string) ([]Exchange, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no recorded exchanges in %s", dir)
	}
	sort.Strings(files)
	out := make([]Exchange, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var e Exchange
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		e.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, e)
	}
	return out, nil
}
