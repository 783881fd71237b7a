package hdf5

import "bytes"

// Object header message types used by this reader (HDF5 format spec IV.A.2).
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgFilters      = 0x0b
	msgAttribute    = 0x0c
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// Message flag bits.
const (
	msgFlagShared       = 0x02
	msgFlagFailUnknown  = 0x80
	maxHeaderChunks     = 1 << 16
	maxHeaderMessages   = 1 << 20
	ohdrFlagSizeMask    = 0x03
	ohdrFlagCrtOrder    = 0x04
	ohdrFlagAttrPhase   = 0x10
	ohdrFlagTimes       = 0x20
	knownMessageTypeMax = 0x18
)

type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// chunk is a stretch of object header messages (a continuation block).
type chunk struct{ addr, size uint64 }

func parseContinuation(f *File, data []byte) (chunk, error) {
	d := &decoder{b: data, f: f, what: "continuation message"}
	c := chunk{d.addr(), d.length()}
	return c, d.err
}

// readHeader reads the object header at addr (version 1 or 2) with all
// its continuation chunks, and returns its messages in file order.
func (f *File) readHeader(addr uint64) ([]message, error) {
	prefix, err := f.readAt(addr, min(16, f.size-min(f.size, f.base+addr)))
	if err != nil {
		return nil, err
	}
	if len(prefix) >= 4 && bytes.Equal(prefix[:4], []byte("OHDR")) {
		return f.readHeaderV2(addr)
	}
	d := &decoder{b: prefix, f: f, what: "object header"}
	if v := d.u8(); d.err == nil && v != 1 {
		return nil, corrupt("object header at %d: version %d", addr, v)
	}
	d.skip(1)
	d.skip(2) // message count: it includes NIL and continuation messages; chunk sizes bound the walk
	d.skip(4) // reference count
	size := uint64(d.u32())
	if d.err != nil {
		return nil, d.err
	}
	queue := []chunk{{addr + 16, size}}
	seen := map[uint64]bool{}
	var msgs []message
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] || len(seen) >= maxHeaderChunks {
			return nil, corrupt("object header at %d: continuation loop", addr)
		}
		seen[c.addr] = true
		b, err := f.readAt(c.addr, c.size)
		if err != nil {
			return nil, err
		}
		d := &decoder{b: b, f: f, what: "object header messages"}
		for d.remaining() >= 8 {
			typ, size, flags := d.u16(), int(d.u16()), d.u8()
			d.skip(3)
			data := d.bytes(size)
			if d.err != nil {
				return nil, d.err
			}
			if len(msgs) >= maxHeaderMessages {
				return nil, corrupt("object header at %d: too many messages", addr)
			}
			if typ == msgContinuation {
				c, err := parseContinuation(f, data)
				if err != nil {
					return nil, err
				}
				queue = append(queue, c)
				continue
			}
			if typ == msgNil {
				continue
			}
			msgs = append(msgs, message{typ, flags, data})
		}
	}
	return msgs, checkUnknown(msgs)
}

func (f *File) readHeaderV2(addr uint64) ([]message, error) {
	head, err := f.readAt(addr, min(4+1+1+16+4+8, f.size-f.base-addr))
	if err != nil {
		return nil, err
	}
	d := &decoder{b: head, f: f, what: "object header"}
	d.skip(4)
	if v := d.u8(); d.err == nil && v != 2 {
		return nil, corrupt("object header at %d: version %d", addr, v)
	}
	flags := d.u8()
	if flags&ohdrFlagTimes != 0 {
		d.skip(16)
	}
	if flags&ohdrFlagAttrPhase != 0 {
		d.skip(4)
	}
	size := d.uvar(1 << (flags & ohdrFlagSizeMask))
	if d.err != nil {
		return nil, d.err
	}
	start := uint64(d.pos)
	if size > f.size {
		return nil, corrupt("object header at %d: chunk of %d bytes", addr, size)
	}
	first, err := f.readBlock(addr, start+size+4, "object header")
	if err != nil {
		return nil, err
	}
	crtOrder := flags&ohdrFlagCrtOrder != 0
	var msgs []message
	var queue []chunk
	parse := func(b []byte) error {
		d := &decoder{b: b, f: f, what: "object header messages"}
		hdr := 4
		if crtOrder {
			hdr = 6
		}
		for d.remaining() >= hdr {
			typ, size, mflags := uint16(d.u8()), int(d.u16()), d.u8()
			if crtOrder {
				d.skip(2)
			}
			data := d.bytes(size)
			if d.err != nil {
				return d.err
			}
			if len(msgs) >= maxHeaderMessages {
				return corrupt("object header at %d: too many messages", addr)
			}
			switch typ {
			case msgContinuation:
				c, err := parseContinuation(f, data)
				if err != nil {
					return err
				}
				queue = append(queue, c)
			case msgNil:
			default:
				msgs = append(msgs, message{typ, mflags, data})
			}
		}
		return nil
	}
	if err := parse(first[start : start+size]); err != nil {
		return nil, err
	}
	seen := map[uint64]bool{addr: true}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] || len(seen) >= maxHeaderChunks {
			return nil, corrupt("object header at %d: continuation loop", addr)
		}
		seen[c.addr] = true
		if c.size < 8 {
			return nil, corrupt("object header continuation of %d bytes", c.size)
		}
		b, err := f.readBlock(c.addr, c.size, "object header continuation")
		if err != nil {
			return nil, err
		}
		if string(b[:4]) != "OCHK" {
			return nil, corrupt("object header continuation at %d: bad signature", c.addr)
		}
		if err := parse(b[4 : len(b)-4]); err != nil {
			return nil, err
		}
	}
	return msgs, checkUnknown(msgs)
}

// checkUnknown fails on a message type this reader does not know when the
// writer marked it "fail if unknown".
func checkUnknown(msgs []message) error {
	for _, m := range msgs {
		if m.typ > knownMessageTypeMax && m.flags&msgFlagFailUnknown != 0 {
			return unsupported("object header message type %d", m.typ)
		}
	}
	return nil
}

func findMessage(msgs []message, typ uint16) *message {
	for i := range msgs {
		if msgs[i].typ == typ {
			return &msgs[i]
		}
	}
	return nil
}
