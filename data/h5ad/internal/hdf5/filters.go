package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"math/bits"
)

// unfilter undoes the filter pipeline on one stored chunk (filters run in
// reverse order; bit i of mask skips filter i) and returns exactly want
// bytes. scratch may be reused for the result.
func unfilter(pipeline []filter, mask uint32, data []byte, want uint64, scratch *bytes.Buffer) ([]byte, error) {
	for i := len(pipeline) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<i) != 0 {
			continue
		}
		fl := pipeline[i]
		var err error
		switch fl.id {
		case filterDeflate:
			data, err = inflate(data, want, scratch)
		case filterShuffle:
			data, err = unshuffle(fl, data)
		case filterFletcher32:
			data, err = checkFletcher(data)
		case filterLZF:
			data, err = unlzf(fl, data, want)
		case filterSzip:
			err = unsupported("szip compression")
		case filterNbit:
			err = unsupported("n-bit filter")
		case filterScaleOff:
			err = unsupported("scale-offset filter")
		default:
			err = unsupported("filter %d", fl.id)
		}
		if err != nil {
			return nil, err
		}
	}
	if uint64(len(data)) != want {
		return nil, corrupt("chunk decodes to %d bytes, want %d", len(data), want)
	}
	return data, nil
}

// inflate decompresses a zlib stream, refusing output beyond want bytes.
func inflate(data []byte, want uint64, scratch *bytes.Buffer) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt("deflate chunk: %v", err)
	}
	scratch.Reset()
	scratch.Grow(int(min(want, uint64(len(data))*expansionLimit+4096)))
	n, err := io.Copy(scratch, io.LimitReader(zr, int64(min(want, 1<<62))+1))
	if err != nil {
		return nil, corrupt("deflate chunk: %v", err)
	}
	if uint64(n) > want {
		return nil, corrupt("deflate chunk decodes to more than %d bytes", want)
	}
	return scratch.Bytes(), nil
}

// unshuffle undoes the byte shuffle filter (client data 0: element size).
func unshuffle(fl filter, data []byte) ([]byte, error) {
	if len(fl.cd) < 1 || fl.cd[0] == 0 {
		return nil, corrupt("shuffle filter without an element size")
	}
	es := int(fl.cd[0])
	n := len(data) / es
	if es == 1 || n <= 1 {
		return data, nil
	}
	out := make([]byte, len(data))
	for b := 0; b < es; b++ {
		src := data[b*n : (b+1)*n]
		for i, v := range src {
			out[i*es+b] = v
		}
	}
	copy(out[n*es:], data[n*es:])
	return out, nil
}

// checkFletcher verifies and strips the 4-byte Fletcher-32 checksum. Both
// byte orders are accepted, as libhdf5 does for files from old versions.
func checkFletcher(data []byte) ([]byte, error) {
	if len(data) < 4 {
		return nil, corrupt("fletcher32 chunk of %d bytes", len(data))
	}
	n := len(data) - 4
	stored := binary.LittleEndian.Uint32(data[n:])
	sum := fletcher32(data[:n])
	if stored != sum && stored != bits.ReverseBytes32(sum) {
		return nil, corrupt("chunk fails its fletcher32 checksum")
	}
	return data[:n], nil
}

// unlzf decompresses h5py's LZF filter (liblzf format; an uncompressed
// chunk is stored with the filter's mask bit set, so data is always LZF).
func unlzf(fl filter, in []byte, want uint64) ([]byte, error) {
	if want > 1<<40 {
		return nil, corrupt("LZF chunk of %d bytes", want)
	}
	out := make([]byte, 0, min(want, uint64(len(in))*300))
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 {
			n := ctrl + 1
			if i+n > len(in) || uint64(len(out)+n) > want {
				return nil, corrupt("LZF literal run out of range")
			}
			out = append(out, in[i:i+n]...)
			i += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if i >= len(in) {
				return nil, corrupt("LZF truncated")
			}
			n += int(in[i])
			i++
		}
		if i >= len(in) {
			return nil, corrupt("LZF truncated")
		}
		ref := len(out) - (ctrl&0x1f)<<8 - 1 - int(in[i])
		i++
		n += 2
		if ref < 0 || uint64(len(out)+n) > want {
			return nil, corrupt("LZF back reference out of range")
		}
		for k := 0; k < n; k++ {
			out = append(out, out[ref+k])
		}
	}
	return out, nil
}
