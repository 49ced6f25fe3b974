package plugnmeettest

import (
	"reflect"
	"testing"
)

// The defaults are decoded once and copied per room: merging a request onto one copy must not
// change the next room's defaults.
func TestDefaultMetadataCopiesAreIndependent(t *testing.T) {
	a, err := defaultMetadata()
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := defaultMetadata()
	req, err := decodeMessage([]byte(`{"room_title":"x","room_features":{"allow_rtmp":true,
		"chat_features":{"allowed_file_types":["exe"]}},"extra_data":{"k":"v"}}`), roomMetadata)
	if err != nil {
		t.Fatal(err)
	}
	mergeMessage(a, req, roomMetadata)
	b, _ := defaultMetadata()
	if !reflect.DeepEqual(b, fresh) {
		t.Fatal("merging a request into one room's metadata changed the defaults of the next room")
	}
	if reflect.DeepEqual(a, b) {
		t.Fatal("the merge did not change the room's own copy")
	}
}
