package schema

import (
	"os"
	"testing"
)

func BenchmarkValidateSeed(b *testing.B) {
	data, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := Validate(data); err != nil {
		b.Fatalf("seed example: %v", err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}
