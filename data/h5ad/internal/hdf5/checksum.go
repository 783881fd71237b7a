package hdf5

import "math/bits"

// lookup3 is Bob Jenkins' lookup3 hashlittle with initval 0, the checksum
// HDF5 stores after every version-2 metadata structure
// (H5_checksum_lookup3 / H5_checksum_metadata in libhdf5's H5checksum.c),
// and the hash of link and attribute names in dense-storage B-tree records.
func lookup3(key []byte) uint32 {
	a := 0xdeadbeef + uint32(len(key))
	b, c := a, a
	for len(key) > 12 {
		a += uint32(key[0]) | uint32(key[1])<<8 | uint32(key[2])<<16 | uint32(key[3])<<24
		b += uint32(key[4]) | uint32(key[5])<<8 | uint32(key[6])<<16 | uint32(key[7])<<24
		c += uint32(key[8]) | uint32(key[9])<<8 | uint32(key[10])<<16 | uint32(key[11])<<24
		a -= c
		a ^= bits.RotateLeft32(c, 4)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 6)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 8)
		b += a
		a -= c
		a ^= bits.RotateLeft32(c, 16)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 19)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 4)
		b += a
		key = key[12:]
	}
	if len(key) == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], key)
	a += uint32(tail[0]) | uint32(tail[1])<<8 | uint32(tail[2])<<16 | uint32(tail[3])<<24
	b += uint32(tail[4]) | uint32(tail[5])<<8 | uint32(tail[6])<<16 | uint32(tail[7])<<24
	c += uint32(tail[8]) | uint32(tail[9])<<8 | uint32(tail[10])<<16 | uint32(tail[11])<<24
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// checkSum verifies that the last 4 bytes of block are the little-endian
// lookup3 checksum of the bytes before them.
func checkSum(block []byte, what string) error {
	if len(block) < 4 {
		return corrupt("%s: too short for its checksum", what)
	}
	n := len(block) - 4
	stored := uint32(block[n]) | uint32(block[n+1])<<8 | uint32(block[n+2])<<16 | uint32(block[n+3])<<24
	if lookup3(block[:n]) != stored {
		return corrupt("%s: checksum mismatch", what)
	}
	return nil
}

// fletcher32 is HDF5's Fletcher-32 over big-endian 16-bit words
// (H5_checksum_fletcher32), used by the fletcher32 filter.
func fletcher32(data []byte) uint32 {
	var sum1, sum2 uint32
	n := len(data) / 2
	p := 0
	for n > 0 {
		t := min(n, 360)
		n -= t
		for ; t > 0; t-- {
			sum1 += uint32(data[p])<<8 | uint32(data[p+1])
			p += 2
			sum2 += sum1
		}
		sum1 = (sum1 & 0xffff) + (sum1 >> 16)
		sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	}
	if len(data)%2 == 1 {
		sum1 += uint32(data[p]) << 8
		sum2 += sum1
		sum1 = (sum1 & 0xffff) + (sum1 >> 16)
		sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	}
	sum1 = (sum1 & 0xffff) + (sum1 >> 16)
	sum2 = (sum2 & 0xffff) + (sum2 >> 16)
	return sum2<<16 | sum1
}

// readBlock reads a metadata block of size bytes at addr whose last 4
// bytes are its lookup3 checksum, and verifies it.
func (f *File) readBlock(addr, size uint64, what string) ([]byte, error) {
	b, err := f.readAt(addr, size)
	if err != nil {
		return nil, err
	}
	return b, checkSum(b, what)
}
