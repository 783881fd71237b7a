package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
)

// ErrNotHDF5 is returned by Open when the input has no HDF5 signature.
var ErrNotHDF5 = errors.New("not an HDF5 file")

// ErrUnsupported is wrapped by every error about a valid HDF5 feature this
// package does not implement (so callers can tell it from corruption).
var ErrUnsupported = errors.New("unsupported HDF5 feature")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("corrupt or truncated HDF5 file: "+format, args...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// undefAddr is the "undefined address" (all bits set), whatever the file's
// address size.
const undefAddr = math.MaxUint64

// expansionLimit bounds what reading a file may allocate: every decoded
// dataset counts against a budget of expansionLimit × file size plus
// budgetSlack, so a small crafted file cannot claim gigabytes (deflate
// cannot expand beyond 1032:1, and a fill-value-only dataset has no bytes
// behind it at all). Before anything is allocated, a read also checks
// that contiguous and compact data lie within the file and resolves the
// chunk index.
const (
	expansionLimit = 1100
	budgetSlack    = 16 << 20
)

var signature = []byte("\x89HDF\r\n\x1a\n")

// File is an open HDF5 file, read through an io.ReaderAt. A File is safe
// for concurrent use by several goroutines.
type File struct {
	r        io.ReaderAt
	mem      []byte // the whole file when opened from bytes (reads then share it)
	size     uint64
	base     uint64
	offSize  int
	lenSize  int
	version  int
	rootAddr uint64
	budget   atomic.Int64 // decoded bytes still allowed

	mu     sync.Mutex
	gheaps map[uint64]map[uint16][]byte // parsed global heap collections
}

// OpenBytes opens an HDF5 file held in memory. b must not be modified while
// the File is in use.
func OpenBytes(b []byte) (*File, error) {
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	f.mem = b
	return f, nil
}

// Open reads the superblock of the HDF5 file r of size bytes. It supports
// superblock versions 0–3 with 2-, 4- or 8-byte addresses and lengths, and
// a user block before the superblock. A file shorter than the end-of-file
// address its superblock records is an error (truncated).
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < int64(len(signature)) {
		return nil, ErrNotHDF5
	}
	f := &File{r: r, size: uint64(size), gheaps: map[uint64]map[uint16][]byte{}}
	f.budget.Store(expansionLimit*min(size, math.MaxInt64/(2*expansionLimit)) + budgetSlack)
	var sb uint64
	found := false
	sig := make([]byte, len(signature))
	for off := uint64(0); off+uint64(len(signature)) <= f.size; off = max(512, off*2) {
		if _, err := r.ReadAt(sig, int64(off)); err != nil && err != io.EOF {
			return nil, err
		}
		if bytes.Equal(sig, signature) {
			sb, found = off, true
			break
		}
		if off > 1<<40 {
			break
		}
	}
	if !found {
		return nil, ErrNotHDF5
	}
	head, err := f.readAbs(sb, min(128, f.size-sb))
	if err != nil {
		return nil, err
	}
	d := &decoder{b: head, f: f, what: "superblock"}
	d.skip(8)
	f.version = int(d.u8())
	switch f.version {
	case 0, 1:
		d.skip(4) // free-space, root symbol table, reserved, shared header versions
		f.offSize, f.lenSize = int(d.u8()), int(d.u8())
		d.skip(1 + 2 + 2 + 4) // reserved, group leaf/internal K, consistency flags
		if f.version == 1 {
			d.skip(4) // indexed storage K, reserved
		}
	case 2, 3:
		f.offSize, f.lenSize = int(d.u8()), int(d.u8())
		d.skip(1) // consistency flags
	default:
		return nil, unsupported("superblock version %d", f.version)
	}
	if d.err != nil {
		return nil, d.err
	}
	for _, s := range []int{f.offSize, f.lenSize} {
		if s != 2 && s != 4 && s != 8 {
			return nil, corrupt("superblock: address/length size %d", s)
		}
	}
	base := d.addr()
	var eof uint64
	switch f.version {
	case 0, 1:
		d.addr() // free-space info
		eof = d.addr()
		d.addr() // driver info block
		d.addr() // root entry: link name offset
		f.rootAddr = d.addr()
	default:
		d.addr() // superblock extension
		eof = d.addr()
		f.rootAddr = d.addr()
		if d.err == nil {
			if d.pos+4 > len(head) {
				return nil, corrupt("superblock is truncated")
			}
			if err := checkSum(head[:d.pos+4], "superblock"); err != nil {
				return nil, err
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if base == undefAddr || base > f.size {
		return nil, corrupt("superblock: base address %d", base)
	}
	f.base = base
	if eof != undefAddr && (eof > f.size || f.base+eof > f.size) {
		return nil, corrupt("file is truncated: the superblock says it ends at byte %d, but it has %d bytes", f.base+eof, f.size)
	}
	if f.rootAddr == undefAddr {
		return nil, corrupt("superblock: no root group")
	}
	return f, nil
}

// SuperblockVersion returns the file's superblock version (0–3).
func (f *File) SuperblockVersion() int { return f.version }

// Size returns the file size in bytes.
func (f *File) Size() int64 { return int64(f.size) }

// readAbs reads n bytes at absolute offset off.
func (f *File) readAbs(off, n uint64) ([]byte, error) {
	if off > f.size || n > f.size-off {
		return nil, corrupt("read of %d bytes at %d beyond the end of the %d-byte file", n, off, f.size)
	}
	if f.mem != nil {
		return f.mem[off : off+n : off+n], nil
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(off)); err != nil && !(err == io.EOF && off+n == f.size) {
		return nil, fmt.Errorf("reading HDF5 file: %w", err)
	}
	return b, nil
}

// readAt reads n bytes at file address addr (relative to the base
// address). The result may share memory with the file: never modify it.
func (f *File) readAt(addr, n uint64) ([]byte, error) {
	if addr == undefAddr {
		return nil, corrupt("read at an undefined address")
	}
	if addr > f.size-f.base {
		return nil, corrupt("address %d beyond the end of the %d-byte file", addr, f.size)
	}
	return f.readAbs(f.base+addr, n)
}

// readInto fills dst from file address addr.
func (f *File) readInto(dst []byte, addr uint64) error {
	n := uint64(len(dst))
	if addr == undefAddr || addr > f.size-f.base || n > f.size-f.base-addr {
		return corrupt("data of %d bytes at address %d beyond the end of the %d-byte file", n, addr, f.size)
	}
	if f.mem != nil {
		copy(dst, f.mem[f.base+addr:])
		return nil
	}
	if _, err := f.r.ReadAt(dst, int64(f.base+addr)); err != nil && !(err == io.EOF && f.base+addr+n == f.size) {
		return fmt.Errorf("reading HDF5 file: %w", err)
	}
	return nil
}

// spend takes n decoded bytes from the file's allocation budget.
func (f *File) spend(n uint64, what string) error {
	if n > math.MaxInt64/2 || f.budget.Add(-int64(n)) < 0 {
		return corrupt("%s would decode to %d bytes, more than a %d-byte HDF5 file can hold", what, n, f.size)
	}
	return nil
}

// decoder reads little-endian fields from a byte slice with a sticky
// error, so a truncated structure becomes one error instead of a panic.
type decoder struct {
	b    []byte
	pos  int
	f    *File
	what string
	err  error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || n > len(d.b)-d.pos {
		d.err = corrupt("%s is truncated", d.what)
		return false
	}
	return true
}

func (d *decoder) remaining() int { return len(d.b) - d.pos }

func (d *decoder) skip(n int) {
	if d.need(n) {
		d.pos += n
	}
}

func (d *decoder) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	b := d.b[d.pos : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.pos]
	d.pos++
	return v
}

func (d *decoder) u16() uint16 { return uint16(d.uvar(2)) }
func (d *decoder) u32() uint32 { return uint32(d.uvar(4)) }
func (d *decoder) u64() uint64 { return d.uvar(8) }

// uvar reads an n-byte little-endian unsigned integer (n ≤ 8).
func (d *decoder) uvar(n int) uint64 {
	if n > 8 {
		d.err = corrupt("%s: %d-byte integer", d.what, n)
		return 0
	}
	if !d.need(n) {
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(d.b[d.pos+i])
	}
	d.pos += n
	return v
}

// addr reads a file address; all bits set (of the address size) is undefAddr.
func (d *decoder) addr() uint64 {
	v := d.uvar(d.f.offSize)
	if d.f.offSize < 8 && v == 1<<(8*d.f.offSize)-1 || v == math.MaxUint64 {
		return undefAddr
	}
	return v
}

// length reads a file length field.
func (d *decoder) length() uint64 { return d.uvar(d.f.lenSize) }

// signature checks a 4-byte block signature.
func (d *decoder) signature(s string) {
	if b := d.bytes(4); d.err == nil && string(b) != s {
		d.err = corrupt("%s: signature %q, want %q", d.what, b, s)
	}
}

// bytesFor returns the number of bytes needed to encode values up to n
// (libhdf5's H5VM_limit_enc_size: log2(n)/8 + 1).
func bytesFor(n uint64) int {
	return log2floor(n)/8 + 1
}

func log2floor(n uint64) int {
	l := -1
	for n > 0 {
		n >>= 1
		l++
	}
	return max(l, 0)
}
