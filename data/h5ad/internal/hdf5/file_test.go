package hdf5

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestLookup3 checks the metadata checksum against the expected outputs
// printed by driver5() in Bob Jenkins' lookup3.c (hashlittle, initval 0).
func TestLookup3(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0xdeadbeef},
		{"Four score and seven years ago", 0x17770551},
	} {
		if got := lookup3([]byte(c.in)); got != c.want {
			t.Errorf("lookup3(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

// superblockV2 builds a version-2 superblock (8-byte addresses) with a
// correct checksum, followed by pad bytes.
func superblockV2(eof uint64, pad int) []byte {
	b := append([]byte(nil), signature...)
	b = append(b, 2, 8, 8, 0)
	for _, a := range []uint64{0, ^uint64(0), eof, 48} {
		b = binary.LittleEndian.AppendUint64(b, a)
	}
	b = binary.LittleEndian.AppendUint32(b, lookup3(b))
	return append(b, make([]byte, pad)...)
}

// TestOpenRejects: inputs that are not whole HDF5 files are errors, never
// panics. The 44-byte case is the first fuzz finding (FuzzReadBytes input
// 72b02fbeb90c947f): a version-3 superblock cut before its checksum
// sliced past the end of the buffer.
func TestOpenRejects(t *testing.T) {
	good := superblockV2(48+16, 16)
	badSum := append([]byte(nil), good...)
	badSum[20] ^= 1
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not an HDF5 file"},
		{"text", []byte("cell,gene\nc0,1\n"), "not an HDF5 file"},
		{"signature only", signature, "truncated"},
		{"fuzz 72b02fbeb90c947f", []byte("\x89HDF\r\n\x1a\n\x03\b\b000000000000000000000000000000000"), "truncated"},
		{"unknown version", append(append([]byte(nil), signature...), 9, 0, 0, 0, 0, 0, 0, 0), "superblock version 9"},
		{"address size 3", append(append([]byte(nil), signature...), 2, 3, 8, 0, 0, 0, 0, 0), "address/length size 3"},
		{"checksum", badSum, "checksum mismatch"},
		{"truncated file", superblockV2(4096, 16), "file is truncated"},
	}
	for _, c := range cases {
		_, err := OpenBytes(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := OpenBytes(nil); !errors.Is(err, ErrNotHDF5) {
		t.Errorf("empty input: %v is not ErrNotHDF5", err)
	}
	// A valid superblock whose root object header is garbage opens, and
	// the root fails with an error.
	f, err := OpenBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Root(); err == nil {
		t.Error("garbage root object header accepted")
	}
}
