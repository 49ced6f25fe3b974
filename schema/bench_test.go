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

func BenchmarkParseSeed(b *testing.B) {
	data, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		b.Fatalf("seed example: %v", err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		doc, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if doc["room_id"] != "room01" {
			b.Fatalf("room_id = %v", doc["room_id"])
		}
	}
}

// BenchmarkDecodeSeed and BenchmarkDecodeSeedStd measure decoding alone,
// with the fast decoder and with the encoding/json path it replaces.
func BenchmarkDecodeSeed(b *testing.B) {
	benchDecode(b, decode)
}

func BenchmarkDecodeSeedStd(b *testing.B) {
	benchDecode(b, decodeStd)
}

func benchDecode(b *testing.B, dec func([]byte) (any, *FieldError)) {
	data, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, ferr := dec(data); ferr != nil {
			b.Fatal(ferr)
		}
	}
}

// BenchmarkValidateTreeSeed and BenchmarkValidateTreeSeedLibrary measure
// validating the decoded seed example alone, with the generated code and
// with jsonschema/v6 (the oracle of the tests).
func BenchmarkValidateTreeSeed(b *testing.B) {
	benchValidateTree(b, validateCreateRoom)
}

func BenchmarkValidateTreeSeedLibrary(b *testing.B) {
	v, err := newLibraryValidator()
	if err != nil {
		b.Fatal(err)
	}
	benchValidateTree(b, func(doc any) []FieldError {
		if err := v.validateDoc(doc); err != nil {
			return []FieldError{{Message: err.Error()}}
		}
		return nil
	})
}

func benchValidateTree(b *testing.B, validate func(doc any) []FieldError) {
	data, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		b.Fatal(err)
	}
	doc, ferr := decode(data)
	if ferr != nil {
		b.Fatal(ferr)
	}
	b.ReportAllocs()
	for b.Loop() {
		if errs := validate(doc); errs != nil {
			b.Fatal(errs)
		}
	}
}
